//! The errors a store can return. Causes are kept, so an outage is never mistaken for "not found".

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email or client id already taken). The field names it.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The record to change does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The backend could not be reached or timed out: the caller answers 503 and may retry.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Stored data could not be read back (a bug or a hand-edited database).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Anything else the backend reported.
    #[error("storage failure")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// Whether this error means the store is down rather than that the request was wrong.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
