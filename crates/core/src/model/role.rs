//! Roles an account holds. One is built in, `admin` (the admin console); the set is stored as a
//! space-separated list, like scopes.

use std::collections::BTreeSet;
use std::fmt;

/// A role name: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(String);

/// A role name that is not one.
#[derive(Debug, thiserror::Error)]
#[error("a role is 1 to 64 characters of a-z, 0-9, '-' and '_'")]
pub struct InvalidRole;

impl Role {
    /// The role that opens the admin console.
    pub fn admin() -> Role {
        Role("admin".to_owned())
    }

    pub fn parse(text: &str) -> Result<Role, InvalidRole> {
        let valid = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Role(text.to_owned()))
        } else {
            Err(InvalidRole)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The roles of one account, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    /// Parses the stored form (names separated by spaces; empty for none).
    pub fn parse(text: &str) -> Result<Roles, InvalidRole> {
        text.split_ascii_whitespace()
            .map(Role::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Roles)
    }

    pub fn contains(&self, role: &Role) -> bool {
        self.0.contains(role)
    }

    pub fn is_admin(&self) -> bool {
        self.contains(&Role::admin())
    }

    /// Adds `role`; false if it was already held.
    pub fn grant(&mut self, role: Role) -> bool {
        self.0.insert(role)
    }

    /// Removes `role`; false if it was not held.
    pub fn revoke(&mut self, role: &Role) -> bool {
        self.0.remove(role)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        self.0.iter().map(Role::as_str).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_names() {
        let roles = Roles::parse(" support admin  ").unwrap();
        assert!(roles.is_admin());
        assert_eq!(roles.to_stored(), "admin support");
        assert!(Roles::parse("").unwrap().is_empty());
        assert!(Role::parse("Admin").is_err());
        assert!(Role::parse("a b").is_err());
        assert!(Role::parse(&"x".repeat(65)).is_err());
    }
}
