//! Cursor paging for every listing, so lists stay fast however large the table.

use serde::{Deserialize, Serialize};

/// What page to read: at most `limit` items after `after` (an opaque cursor from a previous page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        PageRequest { after: None, limit }
    }

    pub fn after(cursor: impl Into<String>, limit: u32) -> Self {
        PageRequest {
            after: Some(cursor.into()),
            limit,
        }
    }

    /// The limit clamped to 1..=MAX_LIMIT.
    pub fn effective_limit(&self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

/// One page of a listing; `next` is the cursor for the following page, absent on the last one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}
