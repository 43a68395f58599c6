//! Sealed secrets on the move: every TOTP secret and private signing key is opened with the
//! source's secret key (so a wrong key is caught before anything is committed) and, when the
//! target uses another key, sealed again with it. Plaintext lives only in zeroized buffers.

use keygate_core::crypto::{Purpose, SecretBox};
use keygate_core::ids::{KeyId, UserId};
use keygate_core::model::secret::EncryptedBlob;

use super::RowTransform;
use super::catalog::Table;
use super::value::{Row, Value};

pub struct Resealer {
    source: SecretBox,
    /// None: the target uses the source's key, blobs are copied as they are.
    target: Option<SecretBox>,
}

impl Resealer {
    /// Checks blobs with `source`; re-seals them with `target` if its fingerprint differs.
    pub fn new(source: SecretBox, target: SecretBox) -> Resealer {
        let target = (target.fingerprint() != source.fingerprint()).then_some(target);
        Resealer { source, target }
    }

    /// Whether blobs are sealed again (the keys differ).
    pub fn reseals(&self) -> bool {
        self.target.is_some()
    }

    fn process(&self, purpose: Purpose<'_>, value: &mut Value, what: &str) -> Result<(), String> {
        let Value::Bytes(bytes) = value else {
            return Ok(());
        };
        let blob = EncryptedBlob(std::mem::take(bytes));
        let plain = self.source.open(purpose, &blob).map_err(|_| {
            format!("the source's secret key does not open {what}: give the key the data was sealed with (--source-secret-key-file FILE, or KEYGATE_SECRET_KEY)")
        })?;
        *bytes = match &self.target {
            Some(target) => target.seal(purpose, &plain).map_err(|e| e.to_string())?.0,
            None => blob.0,
        };
        Ok(())
    }
}

impl RowTransform for Resealer {
    fn apply(&self, table: &Table, row: &mut Row) -> Result<(), String> {
        match table.name {
            "totp_credentials" => {
                let Value::Text(id) = &row[0] else { return Ok(()) };
                let user = UserId::parse(id).ok_or_else(|| format!("totp_credentials has a bad user id {id:?}"))?;
                self.process(
                    Purpose::Totp(user),
                    &mut row[1],
                    &format!("the TOTP secret of user {user}"),
                )
            }
            "signing_keys" => {
                let Value::Text(kid) = &row[0] else { return Ok(()) };
                let kid = KeyId(kid.clone());
                let what = format!("the private part of signing key {}", kid.0);
                self.process(Purpose::SigningKey(&kid), &mut row[2], &what)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::table;
    use super::*;

    fn key() -> SecretBox {
        SecretBox::from_base64(&SecretBox::generate_key_base64().unwrap()).unwrap()
    }

    fn key_pair() -> (SecretBox, SecretBox) {
        let text = SecretBox::generate_key_base64().unwrap();
        (
            SecretBox::from_base64(&text).unwrap(),
            SecretBox::from_base64(&text).unwrap(),
        )
    }

    #[test]
    fn reseals_for_the_target_key_and_refuses_a_wrong_source_key() {
        let old = key();
        let (new, new_again) = key_pair();
        let user = UserId::new();
        let sealed = old.seal(Purpose::Totp(user), b"JBSWY3DPEHPK3PXP").unwrap();
        let totp = table("totp_credentials").unwrap();
        let mut row = vec![
            Value::Text(user.to_string()),
            Value::Bytes(sealed.0.clone()),
            Value::Null,
            Value::Null,
            Value::Int(1),
        ];
        Resealer::new(old, new).apply(totp, &mut row).unwrap();
        let Value::Bytes(resealed) = &row[1] else { panic!() };
        assert_ne!(resealed, &sealed.0);
        let opened = new_again
            .open(Purpose::Totp(user), &EncryptedBlob(resealed.clone()))
            .unwrap();
        assert_eq!(opened.as_slice(), b"JBSWY3DPEHPK3PXP");

        let mut row2 = row.clone();
        let err = Resealer::new(key(), key()).apply(totp, &mut row2).unwrap_err();
        assert!(err.contains("does not open the TOTP secret"), "{err}");
    }
}
