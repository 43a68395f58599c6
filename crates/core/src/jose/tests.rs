//! Tests of the key set and rotation together: what a relying party and an operator would see.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::clock::Timestamp;
use crate::crypto::SecretBox;
use crate::model::signing_key::{KeyState, SigningAlg, SigningKey};

const ISS: &str = "https://id.example.com";
const AUD: &str = "https://api.example.com";
const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn secret_box() -> SecretBox {
    SecretBox::from_bytes(&[7u8; 32]).unwrap()
}

fn key_set(keys: &[SigningKey], now: Timestamp) -> KeySet {
    KeySet::build(keys, &secret_box(), now).unwrap()
}

fn access_claims(now: Timestamp, lifetime: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: ISS.into(),
        sub: "user-1".into(),
        aud: AUD.into(),
        client_id: "client-1".into(),
        scope: "openid profile".into(),
        jti: "jti-1".into(),
        iat: now.as_unix_seconds(),
        exp: now.as_unix_seconds() + lifetime,
        auth_time: Some(now.as_unix_seconds() - 5),
        sid: Some("session-1".into()),
        fid: None,
    }
}

fn id_claims(now: Timestamp) -> IdTokenClaims {
    IdTokenClaims {
        iss: ISS.into(),
        sub: "user-1".into(),
        aud: "client-1".into(),
        exp: now.as_unix_seconds() + 300,
        iat: now.as_unix_seconds(),
        auth_time: now.as_unix_seconds() - 5,
        nonce: Some("n-0S6_WzA2Mj".into()),
        at_hash: None,
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        sid: None,
        extra: serde_json::Map::new(),
    }
}

fn header_of(token: &str) -> serde_json::Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Replaces the header of a token, keeping payload and signature.
fn with_header(token: &str, header: serde_json::Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

/// Applies a plan as the store would.
fn apply(keys: &mut Vec<SigningKey>, changes: &KeyChanges) {
    for updated in &changes.update {
        let slot = keys
            .iter_mut()
            .find(|k| k.kid == updated.kid)
            .expect("updated key exists");
        *slot = updated.clone();
    }
    keys.extend(changes.insert.iter().cloned());
}

fn state_of(keys: &[SigningKey], alg: SigningAlg, state: KeyState) -> Vec<&SigningKey> {
    keys.iter().filter(|k| k.alg == alg && k.state == state).collect()
}

#[test]
fn every_algorithm_signs_and_verifies_access_and_id_tokens() {
    let keys = initial_keys(T0, &secret_box()).unwrap();
    let set = key_set(&keys, T0);
    for alg in ALGS {
        let signer = set.signer(alg).unwrap();
        let token = set.sign_access_token(alg, &access_claims(T0, 300)).unwrap();
        let header = header_of(&token);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"], signer.kid().0.as_str());
        let claims = set.verify_access_token(&token, ISS, AUD, T0).unwrap();
        assert_eq!(claims, access_claims(T0, 300));

        let mut id = id_claims(T0);
        id.at_hash = Some(at_hash(alg, &token));
        let id_token = set.sign_id_token(alg, &id).unwrap();
        assert_eq!(header_of(&id_token)["typ"], "JWT");
        let rules = VerifyRules {
            issuer: ISS,
            audience: Some("client-1"),
            token_type: TokenType::Id,
            allow_expired: false,
        };
        assert_eq!(set.verify::<IdTokenClaims>(&id_token, &rules, T0).unwrap(), id);
    }
}

#[test]
fn tokens_of_one_type_are_refused_as_the_other() {
    let set = key_set(&initial_keys(T0, &secret_box()).unwrap(), T0);
    let id_token = set.sign_id_token(SigningAlg::RS256, &id_claims(T0)).unwrap();
    assert_eq!(
        set.verify_access_token(&id_token, ISS, "client-1", T0),
        Err(VerifyError::WrongType)
    );
    let access = set
        .sign_access_token(SigningAlg::ES256, &access_claims(T0, 60))
        .unwrap();
    let rules = VerifyRules {
        issuer: ISS,
        audience: Some(AUD),
        token_type: TokenType::Id,
        allow_expired: false,
    };
    assert_eq!(
        set.verify::<IdTokenClaims>(&access, &rules, T0),
        Err(VerifyError::WrongType)
    );
}

#[test]
fn expiry_is_checked_against_the_given_time_not_the_system_clock() {
    let set = key_set(&initial_keys(T0, &secret_box()).unwrap(), T0);
    let token = set
        .sign_access_token(SigningAlg::EdDSA, &access_claims(T0, 300))
        .unwrap();
    // T0 is years ahead of the system clock: a system-clock check would pass everything here.
    let just_before = T0.plus(Duration::from_millis(299_999));
    assert!(set.verify_access_token(&token, ISS, AUD, just_before).is_ok());
    assert_eq!(
        set.verify_access_token(&token, ISS, AUD, T0.plus(Duration::from_secs(300))),
        Err(VerifyError::Expired)
    );
    // Issued well in the future of the verifier's clock.
    assert_eq!(
        set.verify_access_token(&token, ISS, AUD, T0.minus(Duration::from_secs(120))),
        Err(VerifyError::NotYetValid)
    );
    // An expired ID token is still a fine id_token_hint.
    let id_token = set.sign_id_token(SigningAlg::RS256, &id_claims(T0)).unwrap();
    let hint = VerifyRules {
        issuer: ISS,
        audience: None,
        token_type: TokenType::Id,
        allow_expired: true,
    };
    let much_later = T0.plus(Duration::from_secs(86_400));
    assert!(set.verify::<IdTokenClaims>(&id_token, &hint, much_later).is_ok());
    let strict = VerifyRules {
        allow_expired: false,
        ..hint
    };
    assert_eq!(
        set.verify::<IdTokenClaims>(&id_token, &strict, much_later),
        Err(VerifyError::Expired)
    );
}

#[test]
fn forged_and_foreign_tokens_are_refused() {
    let keys = initial_keys(T0, &secret_box()).unwrap();
    let set = key_set(&keys, T0);
    let token = set
        .sign_access_token(SigningAlg::ES256, &access_claims(T0, 300))
        .unwrap();
    let verify = |t: &str| set.verify_access_token(t, ISS, AUD, T0);

    assert_eq!(
        set.verify_access_token(&token, "https://evil.example", AUD, T0),
        Err(VerifyError::WrongIssuer)
    );
    assert_eq!(
        set.verify_access_token(&token, ISS, "other-api", T0),
        Err(VerifyError::WrongAudience)
    );

    // A changed claim breaks the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = access_claims(T0, 300);
    claims.scope = "openid admin".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(
        verify(&format!("{}.{payload}.{}", parts[0], parts[2])),
        Err(VerifyError::BadSignature)
    );

    // Header games: another alg for the same kid, alg none, an unknown kid, no kid.
    let kid = header_of(&token)["kid"].clone();
    let rs = serde_json::json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
    assert_eq!(verify(&with_header(&token, rs)), Err(VerifyError::AlgorithmMismatch));
    let hs = serde_json::json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid });
    assert_eq!(verify(&with_header(&token, hs)), Err(VerifyError::AlgorithmMismatch));
    let none = serde_json::json!({ "alg": "none", "typ": "at+jwt", "kid": kid });
    assert_eq!(verify(&with_header(&token, none)), Err(VerifyError::Malformed));
    let unknown = serde_json::json!({ "alg": "ES256", "typ": "at+jwt", "kid": "nope" });
    assert_eq!(verify(&with_header(&token, unknown)), Err(VerifyError::UnknownKey));
    let no_kid = serde_json::json!({ "alg": "ES256", "typ": "at+jwt" });
    assert_eq!(verify(&with_header(&token, no_kid)), Err(VerifyError::UnknownKey));
    assert_eq!(verify("not.a.jwt"), Err(VerifyError::Malformed));
    assert_eq!(verify(""), Err(VerifyError::Malformed));

    // Another server's keys: its kids are unknown here.
    let other = key_set(&initial_keys(T0, &secret_box()).unwrap(), T0);
    let foreign = other
        .sign_access_token(SigningAlg::ES256, &access_claims(T0, 300))
        .unwrap();
    assert_eq!(verify(&foreign), Err(VerifyError::UnknownKey));
}

#[test]
fn build_refuses_keys_it_cannot_open_and_needs_an_active_key_to_sign() {
    let keys = initial_keys(T0, &secret_box()).unwrap();
    let wrong = SecretBox::from_bytes(&[8u8; 32]).unwrap();
    assert!(matches!(
        KeySet::build(&keys, &wrong, T0),
        Err(JoseError::Unsealing(..))
    ));
    let mut duplicated = keys.clone();
    duplicated.push(keys[0].clone());
    assert!(matches!(
        KeySet::build(&duplicated, &secret_box(), T0),
        Err(JoseError::DuplicateKid(_))
    ));
    let only_next = vec![new_signing_key(SigningAlg::ES256, KeyState::Next, T0, &secret_box()).unwrap()];
    let set = key_set(&only_next, T0);
    assert!(set.signer(SigningAlg::ES256).is_none());
    assert_eq!(
        set.sign_access_token(SigningAlg::ES256, &access_claims(T0, 60)),
        Err(JoseError::NoActiveKey(SigningAlg::ES256))
    );
    assert_eq!(set.jwks()["keys"].as_array().unwrap().len(), 1);
    assert!(!format!("{set:?}").contains("BEGIN"));
}

#[test]
fn maintenance_publishes_next_keys_then_rotates_when_due_and_ready() {
    let policy = RotationPolicy {
        publish_lead: Duration::from_secs(3600),
        max_token_lifetime: Duration::from_secs(600),
        rotate_every: Some(Duration::from_secs(7 * 86_400)),
    };
    let mut keys = Vec::new();
    // Empty store: an active and a next key per algorithm.
    let first = plan_maintenance(&keys, T0, &policy, &secret_box()).unwrap();
    assert_eq!(first.insert.len(), 6);
    assert_eq!(first.rotated, ALGS.to_vec());
    apply(&mut keys, &first);
    assert!(
        plan_maintenance(&keys, T0.plus(Duration::from_secs(3600)), &policy, &secret_box())
            .unwrap()
            .is_empty()
    );

    let old_set = key_set(&keys, T0);
    let old_token = old_set
        .sign_access_token(SigningAlg::ES256, &access_claims(T0, 600))
        .unwrap();
    let old_kid = old_set.signer(SigningAlg::ES256).unwrap().kid().clone();
    let next_kid = state_of(&keys, SigningAlg::ES256, KeyState::Next)[0].kid.clone();
    assert_eq!(
        old_set.jwks()["keys"].as_array().unwrap().len(),
        6,
        "next keys are published"
    );

    // A week later the active keys are due and the next keys ready: one rotation per alg.
    let t1 = T0.plus(Duration::from_secs(7 * 86_400));
    let rotation = plan_maintenance(&keys, t1, &policy, &secret_box()).unwrap();
    assert_eq!(rotation.rotated, ALGS.to_vec());
    assert_eq!((rotation.insert.len(), rotation.update.len()), (3, 6));
    apply(&mut keys, &rotation);
    let retired = state_of(&keys, SigningAlg::ES256, KeyState::Retired);
    assert_eq!(retired[0].kid, old_kid);
    assert_eq!(retired[0].retired_at, Some(t1));
    assert_eq!(retired[0].remove_after, Some(t1.plus(Duration::from_secs(600))));
    let new_set = key_set(&keys, t1);
    assert_eq!(new_set.signer(SigningAlg::ES256).unwrap().kid(), &next_kid);
    assert_eq!(new_set.jwks()["keys"].as_array().unwrap().len(), 9);

    // A token signed by the retired key verifies until the key leaves the JWKS.
    let late_claims = access_claims(t1.minus(Duration::from_secs(60)), 600);
    let late_token = old_set.sign_access_token(SigningAlg::ES256, &late_claims).unwrap();
    assert!(new_set.verify_access_token(&late_token, ISS, AUD, t1).is_ok());
    assert_eq!(
        new_set.verify_access_token(&old_token, ISS, AUD, t1),
        Err(VerifyError::Expired)
    );
    let t2 = t1.plus(Duration::from_secs(600));
    let after_removal = key_set(&keys, t2);
    assert_eq!(after_removal.jwks()["keys"].as_array().unwrap().len(), 6);
    assert!(!after_removal.jwks().to_string().contains(&old_kid.0));
    assert_eq!(
        after_removal.verify_access_token(&late_token, ISS, AUD, t2.minus(Duration::from_secs(1))),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn requested_rotation_waits_for_a_published_successor_unless_immediate() {
    let policy = RotationPolicy::default();
    let mut keys = initial_keys(T0, &secret_box()).unwrap();
    let active_before: Vec<_> = keys.iter().map(|k| k.kid.clone()).collect();

    // No next keys yet: WhenReady publishes them and rotates nothing.
    let plan = plan_rotation(&keys, T0, &policy, RotateMode::WhenReady, &secret_box()).unwrap();
    assert!(plan.rotated.is_empty() && plan.update.is_empty());
    assert_eq!(plan.insert.len(), 3);
    assert!(plan.insert.iter().all(|k| k.state == KeyState::Next));
    assert!(plan.waiting.iter().all(|&(_, at)| at == T0.plus(policy.publish_lead)));
    apply(&mut keys, &plan);
    let again = plan_rotation(&keys, T0, &policy, RotateMode::WhenReady, &secret_box()).unwrap();
    assert!(again.is_empty() && again.waiting.len() == 3, "no second next key");

    // Once the lead time has passed the same request rotates.
    let ready = T0.plus(policy.publish_lead);
    let plan = plan_rotation(&keys, ready, &policy, RotateMode::WhenReady, &secret_box()).unwrap();
    assert_eq!(plan.rotated, ALGS.to_vec());
    assert!(plan.waiting.is_empty());
    apply(&mut keys, &plan);
    for alg in ALGS {
        assert_eq!(state_of(&keys, alg, KeyState::Active).len(), 1);
        assert_eq!(state_of(&keys, alg, KeyState::Next).len(), 1);
        let retired = state_of(&keys, alg, KeyState::Retired);
        assert!(active_before.contains(&retired[0].kid));
    }

    // Immediately: the fresh next keys sign at once.
    let plan = plan_rotation(&keys, ready, &policy, RotateMode::Immediately, &secret_box()).unwrap();
    assert_eq!(plan.rotated, ALGS.to_vec());
    apply(&mut keys, &plan);
    let set = key_set(&keys, ready);
    for alg in ALGS {
        assert_eq!(state_of(&keys, alg, KeyState::Retired).len(), 2);
        let active = state_of(&keys, alg, KeyState::Active);
        assert_eq!(active.len(), 1);
        assert_eq!(set.signer(alg).unwrap().kid(), &active[0].kid);
    }
}

/// Sign cost per algorithm in this build (run with `--release -- --nocapture` for real
/// figures), and what `jsonwebtoken::encode` would cost by parsing the key on every call.
#[test]
fn sign_timings_per_algorithm() {
    const ROUNDS: u32 = 1000;
    let keys = initial_keys(T0, &secret_box()).unwrap();
    let set = key_set(&keys, T0);
    let claims = access_claims(T0, 300);
    for alg in ALGS {
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..ROUNDS {
            last = set.sign_access_token(alg, &claims).unwrap();
        }
        let sign = started.elapsed() / ROUNDS;
        let started = Instant::now();
        for _ in 0..ROUNDS {
            set.verify_access_token(&last, ISS, AUD, T0).unwrap();
        }
        let verify = started.elapsed() / ROUNDS;
        println!("{:>6}: sign {sign:?}, verify {verify:?}", alg.as_str());
    }
    for (alg, jwt_alg) in [
        (SigningAlg::ES256, jsonwebtoken::Algorithm::ES256),
        (SigningAlg::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let key = keys.iter().find(|k| k.alg == alg).unwrap();
        let pkcs8 = secret_box()
            .open(crate::crypto::Purpose::SigningKey(&key.kid), &key.private_key)
            .unwrap();
        let encoding_key = match alg {
            SigningAlg::ES256 => jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
            _ => jsonwebtoken::EncodingKey::from_ed_der(&pkcs8),
        };
        let mut header = jsonwebtoken::Header::new(jwt_alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid.0.clone());
        let started = Instant::now();
        for _ in 0..ROUNDS {
            let token = jsonwebtoken::encode(&header, &claims, &encoding_key).unwrap();
            assert_eq!(token.matches('.').count(), 2);
        }
        println!(
            "{:>6}: jsonwebtoken::encode (key parsed per call) {:?}",
            alg.as_str(),
            started.elapsed() / ROUNDS
        );
    }
}
