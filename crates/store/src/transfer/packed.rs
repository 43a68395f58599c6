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
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::catalog::{ColType, Table};
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

/// One JSON cell as SQLite wrote it.
enum Cell {
    Null,
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        struct CellVisitor;
        impl Visitor<'_> for CellVisitor {
            type Value = Cell;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null, an integer or a string")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Cell, E> {
                Ok(Cell::Int(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Cell, E> {
                i64::try_from(n).map(Cell::Int).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
                Ok(Cell::Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Cell, E> {
                Ok(Cell::Str(s))
            }
        }
        d.deserialize_any(CellVisitor)
    }
}

/// The rows of one packed page, typed by `table`'s columns.
pub(crate) fn decode_page(table: &Table, json: &str) -> StoreResult<Vec<Row>> {
    let corrupt = |what: String| StoreError::Corrupt(format!("{}: {what}", table.name));
    let rows: Vec<Vec<Cell>> = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    let mut out = Vec::with_capacity(rows.len());
    for cells in rows {
        if cells.len() != table.columns.len() {
            return Err(corrupt(format!("a row of {} values", cells.len())));
        }
        // Built in place rather than collected: a collect through `Result` cannot size the
        // vector first, and this runs for every row of a copy.
        let mut row = Vec::with_capacity(cells.len());
        for (col, cell) in table.columns.iter().zip(cells) {
            row.push(match (col.ty, cell) {
                (_, Cell::Null) => Value::Null,
                (ColType::Int, Cell::Int(n)) => Value::Int(n),
                (ColType::Text, Cell::Str(s)) => Value::Text(s),
                (ColType::Bytes, Cell::Str(h)) => {
                    Value::Bytes(from_hex(&h).ok_or_else(|| corrupt(format!("{} is not hex", col.name)))?)
                }
                _ => return Err(corrupt(format!("{} holds a value of another type", col.name))),
            });
        }
        out.push(row);
    }
    Ok(out)
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
