//! `metrics_token`: the optional bearer token that guards `/metrics`.

use serde::{Deserialize, Serialize};

use super::types::Secret;

/// The bearer token `/metrics` asks for when set (`KEYGATE_METRICS_TOKEN`): at least 16 visible
/// ASCII characters, since it travels in an `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct MetricsToken(Secret);

pub const METRICS_TOKEN_MIN_CHARS: usize = 16;

impl MetricsToken {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl TryFrom<String> for MetricsToken {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("may hold only visible ASCII characters (no spaces)".to_owned());
        }
        let chars = value.len();
        if chars < METRICS_TOKEN_MIN_CHARS {
            return Err(format!(
                "is {chars} characters long; it needs at least {METRICS_TOKEN_MIN_CHARS}"
            ));
        }
        Ok(MetricsToken(Secret::new(value)))
    }
}
