//! Rows as typed values, their canonical encoding, the order-independent table checksum, and the
//! JSON form an export file holds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::catalog::{ColType, Table};

/// One column value as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One row, in its table's column order.
pub type Row = Vec<Value>;

impl Value {
    /// Appends the canonical encoding: a tag byte, then the value (lengths as u32 big-endian),
    /// so that no two different rows encode alike.
    /// Written straight into the hash (the same digest as hashing the concatenation, without a
    /// buffer per row).
    fn encode(&self, out: &mut Sha256) {
        match self {
            Value::Null => out.update([0]),
            Value::Int(n) => {
                out.update([1]);
                out.update(n.to_be_bytes());
            }
            Value::Text(s) => {
                out.update([2]);
                out.update((s.len() as u32).to_be_bytes());
                out.update(s.as_bytes());
            }
            Value::Bytes(b) => {
                out.update([3]);
                out.update((b.len() as u32).to_be_bytes());
                out.update(b);
            }
        }
    }

    /// The JSON form: null, a number, a string, or base64 (standard, padded) for bytes.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(n) => Json::from(*n),
            Value::Text(s) => Json::from(s.as_str()),
            Value::Bytes(b) => Json::from(STANDARD.encode(b)),
        }
    }

    /// Reads the JSON form back for a column of type `ty`.
    pub fn from_json(ty: ColType, json: &Json) -> Result<Value, String> {
        match (ty, json) {
            (_, Json::Null) => Ok(Value::Null),
            (ColType::Int, Json::Number(n)) => n
                .as_i64()
                .map(Value::Int)
                .ok_or_else(|| format!("{n} is not an integer")),
            (ColType::Text, Json::String(s)) => Ok(Value::Text(s.clone())),
            (ColType::Bytes, Json::String(s)) => STANDARD
                .decode(s)
                .map(Value::Bytes)
                .map_err(|_| "bytes are not base64".to_owned()),
            (ty, other) => Err(format!("{other} is not a valid {ty:?} value")),
        }
    }
}

/// A table's row count and the wrapping sum of every row's SHA-256 (as four u64 lanes): the same
/// whatever order the rows are read in, and different if any field of any row differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    lanes: [u64; 4],
}

impl Checksum {
    pub fn add(&mut self, row: &[Value]) {
        let mut hasher = Sha256::new();
        for v in row {
            v.encode(&mut hasher);
        }
        let hash = hasher.finalize();
        for (lane, chunk) in self.lanes.iter_mut().zip(hash.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_be_bytes(word));
        }
        self.rows += 1;
    }

    /// A checksum computed elsewhere (by the database itself) from its four lanes.
    pub(crate) fn from_lanes(rows: u64, lanes: [u64; 4]) -> Checksum {
        Checksum { rows, lanes }
    }

    /// 64 hex digits.
    pub fn hex(&self) -> String {
        self.lanes.iter().map(|l| format!("{l:016x}")).collect()
    }
}

/// A row as the JSON array an export line holds.
pub fn row_to_json(row: &[Value]) -> Json {
    Json::Array(row.iter().map(Value::to_json).collect())
}

/// A JSON array back into a row of `table`; the error says which column is wrong.
/// A record of `table` holding its first `columns` values (fewer than the table's in a file of
/// an older build; see `catalog::ADDED_COLUMNS`).
pub fn row_from_json(table: &Table, columns: usize, json: &Json) -> Result<Row, String> {
    let Json::Array(items) = json else {
        return Err(format!("a {} record is not an array", table.name));
    };
    if items.len() != columns {
        return Err(format!(
            "a {} record has {} values, expected {}",
            table.name,
            items.len(),
            columns
        ));
    }
    table
        .columns
        .iter()
        .zip(items)
        .map(|(col, v)| Value::from_json(col.ty, v).map_err(|e| format!("{}.{}: {e}", table.name, col.name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(rows: &[Row]) -> Checksum {
        let mut c = Checksum::default();
        rows.iter().for_each(|r| c.add(r));
        c
    }

    #[test]
    fn checksums_ignore_order_and_see_every_field() {
        let a = vec![Value::Text("a".into()), Value::Int(1), Value::Null];
        let b = vec![Value::Text("b".into()), Value::Int(2), Value::Bytes(vec![1, 2])];
        assert_eq!(sum(&[a.clone(), b.clone()]), sum(&[b.clone(), a.clone()]));
        let mut b2 = b.clone();
        b2[2] = Value::Bytes(vec![1, 3]);
        assert_ne!(sum(&[a.clone(), b]).hex(), sum(&[a.clone(), b2]).hex());
        // A NULL is not an empty string, and "ab"+"c" is not "a"+"bc".
        assert_ne!(sum(&[vec![Value::Null]]), sum(&[vec![Value::Text(String::new())]]));
        let split1 = vec![Value::Text("ab".into()), Value::Text("c".into())];
        let split2 = vec![Value::Text("a".into()), Value::Text("bc".into())];
        assert_ne!(sum(&[split1]), sum(&[split2]));
    }

    #[test]
    fn json_round_trips_by_column_type() {
        for (ty, v) in [
            (ColType::Int, Value::Int(-5)),
            (ColType::Text, Value::Text("é\n".into())),
            (ColType::Bytes, Value::Bytes(vec![0, 255])),
            (ColType::Bytes, Value::Null),
        ] {
            assert_eq!(Value::from_json(ty, &v.to_json()).unwrap(), v);
        }
        assert!(Value::from_json(ColType::Int, &Json::from("1")).is_err());
        assert!(Value::from_json(ColType::Bytes, &Json::from("%%")).is_err());
    }
}
