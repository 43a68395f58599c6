//! Password hashing (DESIGN §3): Argon2id, m = 19 MiB, t = 2, p = 1 (the OWASP minimum), stored
//! as PHC strings, over the NFC form of the password ([`crate::password::normalize`]).
//!
//! Every function here blocks for tens of milliseconds: call them from a bounded blocking pool,
//! never on an async worker. Each thread keeps one 19 MiB block of Argon2 memory and reuses it
//! (wiped after every hash), so a pool of N threads holds N blocks, however many logins queue.

use std::cell::RefCell;
use std::sync::LazyLock;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::model::secret::PasswordHash;
use crate::password::normalize;

/// Memory cost in KiB (19 MiB).
pub const M_COST_KIB: u32 = 19 * 1024;
/// Passes over memory.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;
/// A stored hash asking for more memory than this (1 GiB) is refused rather than computed: a
/// corrupt or planted row must not make one login allocate without bound.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Why a hash could not be made or checked. Never carries the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    /// The stored string is not a PHC string Keygate can verify (the record is corrupt).
    #[error("stored password hash is malformed: {0}")]
    Malformed(String),
    /// The stored hash uses an algorithm or cost this build refuses (e.g. 4 GiB of memory).
    #[error("stored password hash is not supported: {0}")]
    Unsupported(String),
    #[error("password hashing failed: {0}")]
    Internal(String),
}

fn target_params() -> Result<Params, PasswordHashError> {
    Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN)).map_err(|e| PasswordHashError::Internal(e.to_string()))
}

/// Hashes a password for storage with a fresh random salt.
pub fn hash(password: &str) -> Result<PasswordHash, PasswordHashError> {
    let normalized = Zeroizing::new(normalize(password));
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let params = target_params()?;
    let mut out = Zeroizing::new([0u8; OUTPUT_LEN]);
    compute(&params, normalized.as_bytes(), &salt, out.as_mut())?;
    let internal = |e: &dyn std::fmt::Display| PasswordHashError::Internal(e.to_string());
    let phc = argon2::PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| internal(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| internal(&e))?),
        hash: Some(Output::new(out.as_ref()).map_err(|e| internal(&e))?),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` matches `stored`. `Ok(false)` for a wrong password; `Err` only when the
/// stored hash itself is unusable.
pub fn verify(password: &str, stored: &PasswordHash) -> Result<bool, PasswordHashError> {
    let parsed = parse(stored)?;
    let normalized = Zeroizing::new(normalize(password));
    let mut computed = Zeroizing::new(vec![0u8; parsed.expected.len()]);
    compute(
        &parsed.params,
        normalized.as_bytes(),
        parsed.salt.as_ref(),
        computed.as_mut_slice(),
    )?;
    Ok(computed.as_slice().ct_eq(parsed.expected.as_bytes()).into())
}

/// Whether a hash that just verified should be replaced by one with today's parameters
/// (another algorithm, version, cost or output length). An unreadable hash needs it too.
pub fn needs_rehash(stored: &PasswordHash) -> bool {
    let Ok(parsed) = parse(stored) else {
        return true;
    };
    let p = &parsed.params;
    parsed.version != Version::V0x13
        || (p.m_cost(), p.t_cost(), p.p_cost()) != (M_COST_KIB, T_COST, P_COST)
        || parsed.expected.len() != OUTPUT_LEN
}

/// A hash of a password nobody knows, made once, so an unknown email costs the same as a
/// known one.
static DUMMY_HASH: LazyLock<Option<PasswordHash>> = LazyLock::new(|| hash("keygate: no such account").ok());

/// Spends exactly the work of one real [`verify`] and always answers `false`. Call it when the
/// email is unknown so the answer takes as long as for a known email with a wrong password.
pub fn dummy_verify(password: &str) -> bool {
    if let Some(dummy) = DUMMY_HASH.as_ref() {
        let _ = std::hint::black_box(verify(password, dummy));
    }
    false
}

/// Computes the dummy hash now (e.g. at start-up) so the first unknown email does not pay twice.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

struct Parsed {
    params: Params,
    version: Version,
    salt: Vec<u8>,
    expected: Output,
}

fn parse(stored: &PasswordHash) -> Result<Parsed, PasswordHashError> {
    let malformed = |what: &str| PasswordHashError::Malformed(what.to_owned());
    let phc = argon2::PasswordHash::new(&stored.0).map_err(|e| PasswordHashError::Malformed(e.to_string()))?;
    if phc.algorithm != argon2::ARGON2ID_IDENT {
        return Err(PasswordHashError::Unsupported(format!("algorithm {}", phc.algorithm)));
    }
    let version = match phc.version {
        None => Version::V0x13,
        Some(v) => Version::try_from(v).map_err(|_| PasswordHashError::Unsupported(format!("version {v}")))?,
    };
    let params = Params::try_from(&phc).map_err(|e| PasswordHashError::Malformed(e.to_string()))?;
    if params.m_cost() > MAX_M_COST_KIB || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST {
        return Err(PasswordHashError::Unsupported(format!(
            "cost m={},t={},p={}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let salt = phc.salt.ok_or_else(|| malformed("no salt"))?;
    let expected = phc.hash.ok_or_else(|| malformed("no hash output"))?;
    Ok(Parsed {
        params,
        version,
        salt: salt.as_ref().to_vec(),
        expected,
    })
}

thread_local! {
    /// This thread's Argon2 memory, kept between hashes (sized for today's parameters).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn compute(params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), PasswordHashError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let needed = params.block_count();
    let result = if needed <= M_COST_KIB as usize {
        MEMORY.with(|cell| {
            let mut blocks = cell.borrow_mut();
            if blocks.len() < needed {
                blocks.resize(needed, Block::default());
            }
            let result = argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed]);
            // What is left in memory would let a thief test guesses cheaply: wipe it.
            blocks[..needed].iter_mut().for_each(Zeroize::zeroize);
            result
        })
    } else {
        // An older, costlier hash: allocate for this one call rather than keep the memory.
        argon.hash_password_into(password, salt, out)
    };
    result.map_err(|e| PasswordHashError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same algorithm with other costs, for testing old hashes (cheap, so tests stay fast).
    fn hash_with(password: &str, m: u32, t: u32, p: u32) -> PasswordHash {
        let params = Params::new(m, t, p, Some(OUTPUT_LEN)).unwrap();
        let salt = [9u8; SALT_LEN];
        let mut out = [0u8; OUTPUT_LEN];
        compute(&params, normalize(password).as_bytes(), &salt, &mut out).unwrap();
        let phc = argon2::PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).unwrap(),
            salt: Some(Salt::new(&salt).unwrap()),
            hash: Some(Output::new(&out).unwrap()),
        };
        PasswordHash(phc.to_string())
    }

    #[test]
    fn right_password_verifies_wrong_one_does_not() {
        let stored = hash("correct horse battery staple").unwrap();
        assert_eq!(verify("correct horse battery staple", &stored), Ok(true));
        assert_eq!(verify("correct horse battery stapler", &stored), Ok(false));
        assert_eq!(verify("", &stored), Ok(false));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn phc_string_has_the_owasp_parameters() {
        let stored = hash("hunter2hunter2").unwrap();
        let text = &stored.0;
        assert!(text.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
        let parts: Vec<&str> = text.split('$').collect();
        assert_eq!(parts.len(), 6);
        // 16-byte salt and 32-byte output in unpadded base64.
        assert_eq!(parts[4].len(), 22);
        assert_eq!(parts[5].len(), 43);
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn same_password_gets_a_new_salt_each_time() {
        let a = hash("same password here").unwrap();
        let b = hash("same password here").unwrap();
        assert_ne!(a, b);
        assert_eq!(verify("same password here", &a), Ok(true));
        assert_eq!(verify("same password here", &b), Ok(true));
    }

    #[test]
    fn password_is_hashed_after_nfc() {
        let composed = hash("caf\u{e9} au lait").unwrap();
        assert_eq!(verify("cafe\u{301} au lait", &composed), Ok(true));
    }

    #[test]
    fn old_parameters_verify_and_ask_for_a_rehash() {
        let old = hash_with("old password", 4096, 3, 1);
        assert!(old.0.contains("m=4096,t=3,p=1"));
        assert_eq!(verify("old password", &old), Ok(true));
        assert_eq!(verify("wrong password", &old), Ok(false));
        assert!(needs_rehash(&old));
        assert!(needs_rehash(&hash_with("x", M_COST_KIB, 1, 1)));
        assert!(needs_rehash(&hash_with("x", M_COST_KIB, T_COST, 2)));
        // Costlier than today's memory (not kept in the thread's block) still verifies.
        let bigger = hash_with("bigger", M_COST_KIB * 2, 1, 1);
        assert_eq!(verify("bigger", &bigger), Ok(true));
        assert!(needs_rehash(&bigger));
        assert!(!needs_rehash(&hash_with("x", M_COST_KIB, T_COST, P_COST)));
    }

    #[test]
    fn other_algorithms_and_garbage_are_errors_not_false() {
        let argon2i = PasswordHash(hash("pw").unwrap().0.replace("$argon2id$", "$argon2i$"));
        assert!(matches!(verify("pw", &argon2i), Err(PasswordHashError::Unsupported(_))));
        assert!(needs_rehash(&argon2i));
        let garbage = PasswordHash("not a phc string".into());
        assert!(matches!(verify("pw", &garbage), Err(PasswordHashError::Malformed(_))));
        assert!(needs_rehash(&garbage));
        let huge = PasswordHash(hash("pw").unwrap().0.replace("m=19456", "m=4194304"));
        assert!(matches!(verify("pw", &huge), Err(PasswordHashError::Unsupported(_))));
    }

    #[test]
    fn dummy_verify_does_one_real_verify_under_the_current_parameters() {
        // Equal cost is structural, not timed (timings flake on a loaded machine; the timing
        // parity of unknown and known emails belongs in bench/): the dummy is a real hash made
        // with today's parameters, and dummy_verify runs `verify` against it.
        warm_up();
        let dummy = DUMMY_HASH.as_ref().expect("the dummy hash is made at warm-up");
        assert!(!needs_rehash(dummy), "the dummy must use the current Argon2 parameters");
        assert_eq!(verify("keygate: no such account", dummy).ok(), Some(true));
        assert!(!dummy_verify("keygate: no such account"), "it never answers true");
    }
}
