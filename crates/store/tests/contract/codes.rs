//! Contract cases for authorization codes.

use keygate_core::ids::FamilyId;
use keygate_core::model::CodeRedemption;
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn code_is_redeemed_once(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let issued = code(&c.id, u.id, clock.now());
    s.codes.create_code(&issued).await.unwrap();

    clock.advance(std::time::Duration::from_secs(5));
    let fam = FamilyId::new();
    let first = s.codes.redeem_code(&issued.digest, fam, clock.now()).await.unwrap();
    assert_eq!(
        first,
        CodeRedemption::Redeemed(issued.clone()),
        "returned as it was before"
    );

    let replay = s
        .codes
        .redeem_code(&issued.digest, FamilyId::new(), clock.now())
        .await
        .unwrap();
    let CodeRedemption::Replayed(seen) = replay else {
        panic!("expected Replayed, got {replay:?}");
    };
    assert_eq!(
        seen.family_id,
        Some(fam),
        "the replay names the family of the first redemption"
    );
    assert_eq!(seen.used_at, Some(clock.now()));
    assert_eq!(seen.client_id, issued.client_id);

    let unknown = s
        .codes
        .redeem_code(&digest(), FamilyId::new(), clock.now())
        .await
        .unwrap();
    assert_eq!(unknown, CodeRedemption::Unknown);
}

pub async fn concurrent_redeem_has_one_winner(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let issued = code(&c.id, u.id, clock.now());
    s.codes.create_code(&issued).await.unwrap();

    let now = clock.now();
    let d = issued.digest;
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            let fam = FamilyId::new();
            tokio::spawn(async move { (fam, s.codes.redeem_code(&d, fam, now).await.unwrap()) })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();

    let winners: Vec<FamilyId> = results
        .iter()
        .filter(|(_, r)| matches!(r, CodeRedemption::Redeemed(_)))
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    let replays: Vec<_> = results
        .iter()
        .filter_map(|(_, r)| match r {
            CodeRedemption::Replayed(c) => Some(c.family_id),
            _ => None,
        })
        .collect();
    assert_eq!(replays.len(), 49);
    assert!(
        replays.iter().all(|f| *f == Some(winners[0])),
        "every replay names the winner's family"
    );
}
