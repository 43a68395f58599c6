//! Contract cases for TOTP credentials and recovery codes.

use keygate_core::model::{EncryptedBlob, TotpCredential};
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn totp_crud(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    assert_eq!(s.credentials.get_totp(u.id).await.unwrap(), None);
    let mut cred = TotpCredential {
        user_id: u.id,
        secret: EncryptedBlob((0u8..=40).collect()),
        enabled_at: None,
        last_used_step: None,
        created_at: clock.now(),
    };
    s.credentials.put_totp(&cred, &[]).await.unwrap();
    assert_eq!(s.credentials.get_totp(u.id).await.unwrap(), Some(cred.clone()));

    clock.advance(MINUTE);
    cred.enabled_at = Some(clock.now());
    cred.secret = EncryptedBlob(vec![9; 28]);
    s.credentials.put_totp(&cred, &[]).await.unwrap();
    assert_eq!(
        s.credentials.get_totp(u.id).await.unwrap(),
        Some(cred.clone()),
        "put replaces"
    );

    s.credentials
        .replace_recovery_codes(u.id, &[digest(), digest()], clock.now(), &[])
        .await
        .unwrap();
    assert!(s.credentials.delete_totp(u.id, &[]).await.unwrap());
    assert_eq!(s.credentials.get_totp(u.id).await.unwrap(), None);
    assert_eq!(
        s.credentials.count_unused_recovery_codes(u.id).await.unwrap(),
        0,
        "recovery codes go with the credential"
    );
    assert!(!s.credentials.delete_totp(u.id, &[]).await.unwrap());
}

pub async fn totp_step_replay_is_refused(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let cred = TotpCredential {
        user_id: u.id,
        secret: EncryptedBlob(vec![1; 20]),
        enabled_at: Some(clock.now()),
        last_used_step: None,
        created_at: clock.now(),
    };
    s.credentials.put_totp(&cred, &[]).await.unwrap();
    let step = 58_000_000;
    assert!(s.credentials.use_totp_step(u.id, step).await.unwrap());
    assert!(
        !s.credentials.use_totp_step(u.id, step).await.unwrap(),
        "same step twice"
    );
    assert!(
        !s.credentials.use_totp_step(u.id, step - 1).await.unwrap(),
        "an earlier step"
    );
    assert!(s.credentials.use_totp_step(u.id, step + 1).await.unwrap());
    let stored = s.credentials.get_totp(u.id).await.unwrap().unwrap();
    assert_eq!(stored.last_used_step, Some(step + 1));
}

pub async fn recovery_codes_work_once(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let codes = [digest(), digest(), digest()];
    s.credentials
        .replace_recovery_codes(u.id, &codes, clock.now(), &[])
        .await
        .unwrap();
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 3);

    assert!(
        !s.credentials
            .use_recovery_code(other.id, &codes[0], clock.now())
            .await
            .unwrap(),
        "not theirs"
    );
    assert!(
        s.credentials
            .use_recovery_code(u.id, &codes[0], clock.now())
            .await
            .unwrap()
    );
    assert!(
        !s.credentials
            .use_recovery_code(u.id, &codes[0], clock.now())
            .await
            .unwrap(),
        "second use"
    );
    assert!(
        !s.credentials
            .use_recovery_code(u.id, &digest(), clock.now())
            .await
            .unwrap(),
        "unknown"
    );
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 2);

    let fresh = [digest(), digest()];
    s.credentials
        .replace_recovery_codes(u.id, &fresh, clock.now(), &[])
        .await
        .unwrap();
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 2);
    assert!(
        !s.credentials
            .use_recovery_code(u.id, &codes[1], clock.now())
            .await
            .unwrap(),
        "old set replaced"
    );
    assert!(
        s.credentials
            .use_recovery_code(u.id, &fresh[1], clock.now())
            .await
            .unwrap()
    );
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 1);
}

pub async fn concurrent_second_factor_use_has_one_winner(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let cred = TotpCredential {
        user_id: u.id,
        secret: EncryptedBlob(vec![1; 20]),
        enabled_at: Some(clock.now()),
        last_used_step: Some(10),
        created_at: clock.now(),
    };
    s.credentials.put_totp(&cred, &[]).await.unwrap();
    let code = digest();
    s.credentials
        .replace_recovery_codes(u.id, &[code, digest()], clock.now(), &[])
        .await
        .unwrap();
    let now = clock.now();

    let steps: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.credentials.use_totp_step(u.id, 11).await.unwrap() })
        })
        .collect();
    let recoveries: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.credentials.use_recovery_code(u.id, &code, now).await.unwrap() })
        })
        .collect();
    let count_true =
        |v: Vec<Result<bool, tokio::task::JoinError>>| v.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(
        count_true(futures::future::join_all(steps).await),
        1,
        "one TOTP code, one login"
    );
    assert_eq!(
        count_true(futures::future::join_all(recoveries).await),
        1,
        "one recovery code, one login"
    );
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 1);
}
