//! Reading SQLite pages packed into one JSON value per page: `json_group_array` of one
//! `json_array` per row, BLOBs as hex, in rowid order after a rowid cursor.
//!
//! Why: sqlx runs SQLite on a worker thread and hands every result row to the async side on a
//! channel, each value copied with SQLite's allocator. For a table of a million rows that
//! hand-off, not SQLite, was most of a copy's CPU time (`perf`: futex waits and wakes, the
//! allocator's lock taken from both threads). One result row per page removes it; SQLite does the
//! packing in C, and the rows are decoded here exactly (integers as JSON integers, text as JSON
//! strings, bytes from hex), so the checksum is still over the values the source holds.
//! Storage (rowid) order also avoids walking a BLOB primary key's index with a table lookup per
//! row; the checksums do not depend on the order.

use std::fmt;

use keygate_core::error::{StoreError, StoreResult};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::catalog::{ColType, Column, Table};
use super::value::{Row, Value};

/// `SELECT last, rows`: the page of at most `?2` rows after rowid `?1` (live ones only, with
/// `?3`), and the last rowid in it (NULL when the page is empty).
pub(crate) fn page_sql(table: &Table, live: bool) -> String {
    let cells: Vec<String> = table
        .columns
        .iter()
        .map(|c| match c.ty {
            ColType::Int => format!("CAST({0} AS INTEGER)", c.name),
            ColType::Text => c.name.to_owned(),
            // hex(NULL) is '', not NULL.
            ColType::Bytes => format!("CASE WHEN {0} IS NULL THEN NULL ELSE hex({0}) END", c.name),
        })
        .collect();
    let live = if live { " AND expires_at > ?3" } else { "" };
    format!(
        "SELECT MAX(rid) AS last, '[' || COALESCE(group_concat(cells, ','), '') || ']' AS rows FROM \
         (SELECT rowid AS rid, json_array({}) AS cells FROM {} WHERE rowid > ?1{live} ORDER BY rowid LIMIT ?2)",
        cells.join(", "),
        table.name
    )
}

/// The rows of one packed page, typed by `table`'s columns.
pub(crate) fn decode_page(table: &Table, json: &str) -> StoreResult<Vec<Row>> {
    // Deserialized straight into typed rows (no intermediate JSON values or cells, hex decoded
    // from the borrowed text): this runs for every row of a copy.
    let mut de = serde_json::Deserializer::from_str(json);
    let rows = PageSeed(table)
        .deserialize(&mut de)
        .and_then(|rows| de.end().map(|()| rows))
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.name)))?;
    Ok(rows)
}

struct PageSeed<'t>(&'t Table);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = Vec<Row>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Row>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = Vec<Row>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Row>, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed(self.0))? {
            rows.push(row);
        }
        Ok(rows)
    }
}

struct RowSeed<'t>(&'t Table);

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Row;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Row, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a row of {} values", self.0.columns.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        let columns = self.0.columns;
        let mut row = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            match seq.next_element_seed(ValueSeed(col))? {
                Some(value) => row.push(value),
                None => return Err(de::Error::invalid_length(i, &self)),
            }
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(columns.len() + 1, &self));
        }
        Ok(row)
    }
}

/// One value of column `.0`: null, an integer, a string, or hex for bytes.
struct ValueSeed<'c>(&'c Column);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn unfit<E: de::Error>(&self) -> E {
        E::custom(format!("{} holds a value of another type", self.0.name))
    }
}

impl Visitor<'_> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a value for {}", self.0.name)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        match self.0.ty {
            ColType::Int => Ok(Value::Int(n)),
            _ => Err(self.unfit()),
        }
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        match (self.0.ty, i64::try_from(n)) {
            (ColType::Int, Ok(n)) => Ok(Value::Int(n)),
            _ => Err(self.unfit()),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        match self.0.ty {
            ColType::Text => Ok(Value::Text(s.to_owned())),
            ColType::Bytes => from_hex(s)
                .map(Value::Bytes)
                .ok_or_else(|| E::custom(format!("{} is not hex", self.0.name))),
            ColType::Int => Err(self.unfit()),
        }
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        match self.0.ty {
            ColType::Text => Ok(Value::Text(s)),
            _ => self.visit_str(&s),
        }
    }
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'A'..=b'F' => Some(c - b'A' + 10),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        out.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::catalog::table;
    use super::*;

    #[test]
    fn pages_decode_by_column_type() {
        let users = table("users").unwrap();
        let mut row = vec![
            "\"u1\"",
            "\"A@x\"",
            "\"a@x\"",
            "null",
            "5",
            "null",
            "0",
            "null",
            "-7",
            "9223372036854775807",
            "null",
            "\"a\\tb\\u00e9\"",
        ];
        let json = format!("[[{}]]", row.join(","));
        let rows = decode_page(users, &json).unwrap();
        assert_eq!(rows[0][0], Value::Text("u1".into()));
        assert_eq!(rows[0][3], Value::Null);
        assert_eq!(rows[0][8], Value::Int(-7));
        assert_eq!(rows[0][9], Value::Int(i64::MAX));
        assert_eq!(rows[0][11], Value::Text("a\tbé".into()));
        row[4] = "\"5\"";
        assert!(decode_page(users, &format!("[[{}]]", row.join(","))).is_err());
        assert!(decode_page(users, "[[\"u1\"]]").is_err());
        let codes = table("refresh_tokens").unwrap();
        let json = r#"[["00FFab","f",null,"c",null,"s",1,2,null,null]]"#;
        assert_eq!(
            decode_page(codes, json).unwrap()[0][0],
            Value::Bytes(vec![0, 255, 0xab])
        );
        assert!(decode_page(codes, r#"[["0G","f",null,"c",null,"s",1,2,null,null]]"#).is_err());
        assert_eq!(decode_page(codes, "[]").unwrap(), Vec::<Row>::new());
    }
}
