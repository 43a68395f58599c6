//! Reading typed values out of `AnyRow`s and encoding Keygate types for binding. A value that does
//! not parse back is `StoreError::Corrupt`, naming the column.

use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::scope::Scopes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row, Type};
use uuid::Uuid;

use super::error::db_err;

fn corrupt(col: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {what}"))
}

/// Typed getters for the column types Keygate stores.
pub(crate) trait RowExt {
    fn value<'r, T: Decode<'r, Any> + Type<Any>>(&'r self, col: &str) -> StoreResult<T>;

    fn text(&self, col: &str) -> StoreResult<String> {
        self.value(col)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.value(col)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.value(col)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.value(col)
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        match self.int(col)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(corrupt(col, format!("flag is {other}"))),
        }
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        self.value(col)
    }
    fn ts(&self, col: &str) -> StoreResult<Timestamp> {
        self.int(col).map(Timestamp::from_millis)
    }
    fn opt_ts(&self, col: &str) -> StoreResult<Option<Timestamp>> {
        Ok(self.opt_int(col)?.map(Timestamp::from_millis))
    }
    fn digest(&self, col: &str) -> StoreResult<TokenDigest> {
        let raw = self.bytes(col)?;
        TokenDigest::from_bytes(&raw).ok_or_else(|| corrupt(col, format!("digest of {} bytes", raw.len())))
    }
    fn opt_digest(&self, col: &str) -> StoreResult<Option<TokenDigest>> {
        match self.value::<Option<Vec<u8>>>(col)? {
            None => Ok(None),
            Some(raw) => TokenDigest::from_bytes(&raw)
                .map(Some)
                .ok_or_else(|| corrupt(col, format!("digest of {} bytes", raw.len()))),
        }
    }
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        let s = self.text(col)?;
        Uuid::parse_str(&s).map_err(|e| corrupt(col, e))
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => Uuid::parse_str(&s).map(Some).map_err(|e| corrupt(col, e)),
        }
    }
    fn scopes(&self, col: &str) -> StoreResult<Scopes> {
        Scopes::parse(&self.text(col)?).map_err(|e| corrupt(col, e))
    }
    fn json<T: DeserializeOwned>(&self, col: &str) -> StoreResult<T> {
        serde_json::from_str(&self.text(col)?).map_err(|e| corrupt(col, e))
    }
    /// A column holding one of a closed set of names (`as_str`/`parse` enums).
    fn named<T>(&self, col: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
        let s = self.text(col)?;
        parse(&s).ok_or_else(|| corrupt(col, format!("unknown value {s:?}")))
    }
    fn opt_named<T>(&self, col: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<Option<T>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| corrupt(col, format!("unknown value {s:?}"))),
        }
    }
}

impl RowExt for AnyRow {
    fn value<'r, T: Decode<'r, Any> + Type<Any>>(&'r self, col: &str) -> StoreResult<T> {
        self.try_get(col).map_err(db_err)
    }
}

/// JSON text for list and object columns.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(Box::new(e)))
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_millis)
}

pub(crate) fn opt_bytes(d: Option<&TokenDigest>) -> Option<Vec<u8>> {
    d.map(|d| d.as_bytes().to_vec())
}

pub(crate) fn flag(b: bool) -> i16 {
    i16::from(b)
}
