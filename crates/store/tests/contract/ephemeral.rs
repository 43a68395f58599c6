//! Contract cases for the ephemeral store (values and counters with a time to live).

use std::collections::BTreeSet;
use std::time::Duration;

use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn put_get_take_delete(s: Stores, clock: ManualClock) {
    let e = &s.ephemeral;
    let now = clock.now();
    assert_eq!(e.get("interaction:1", now).await.unwrap(), None);
    let value = b"\x00binary\xffstate".to_vec();
    e.put("interaction:1", &value, now, HOUR).await.unwrap();
    assert_eq!(e.get("interaction:1", now).await.unwrap(), Some(value.clone()));
    assert_eq!(
        e.get("interaction:1", now).await.unwrap(),
        Some(value.clone()),
        "get does not consume"
    );
    assert_eq!(e.take("interaction:1", now).await.unwrap(), Some(value));
    assert_eq!(e.take("interaction:1", now).await.unwrap(), None, "take consumes");
    assert_eq!(e.get("interaction:1", now).await.unwrap(), None);

    e.put("csrf:a", b"one", now, HOUR).await.unwrap();
    e.put("csrf:a", b"two", now, HOUR).await.unwrap();
    e.put("csrf:b", b"other", now, HOUR).await.unwrap();
    assert_eq!(
        e.get("csrf:a", now).await.unwrap(),
        Some(b"two".to_vec()),
        "put replaces"
    );
    e.delete("csrf:a").await.unwrap();
    assert_eq!(e.get("csrf:a", now).await.unwrap(), None);
    assert_eq!(e.get("csrf:b", now).await.unwrap(), Some(b"other".to_vec()));
    e.delete("csrf:never-there").await.unwrap();
}

pub async fn values_expire_with_time(s: Stores, clock: ManualClock) {
    let e = &s.ephemeral;
    e.put("k", b"v", clock.now(), MINUTE).await.unwrap();
    e.put("k2", b"v2", clock.now(), MINUTE).await.unwrap();
    clock.advance(Duration::from_secs(59));
    assert_eq!(e.get("k", clock.now()).await.unwrap(), Some(b"v".to_vec()));
    clock.advance(Duration::from_secs(2));
    assert_eq!(e.get("k", clock.now()).await.unwrap(), None);
    assert_eq!(
        e.take("k2", clock.now()).await.unwrap(),
        None,
        "an expired value cannot be taken"
    );

    // A put after expiry starts afresh.
    e.put("k", b"again", clock.now(), MINUTE).await.unwrap();
    assert_eq!(e.get("k", clock.now()).await.unwrap(), Some(b"again".to_vec()));
}

pub async fn counters_use_a_fixed_window(s: Stores, clock: ManualClock) {
    let e = &s.ephemeral;
    let ttl = MINUTE;
    assert_eq!(e.incr("login:ann", clock.now(), ttl).await.unwrap(), 1);
    assert_eq!(e.incr("login:ann", clock.now(), ttl).await.unwrap(), 2);
    assert_eq!(
        e.incr("login:bob", clock.now(), ttl).await.unwrap(),
        1,
        "counters are per key"
    );
    clock.advance(Duration::from_secs(40));
    assert_eq!(e.incr("login:ann", clock.now(), ttl).await.unwrap(), 3);
    // 61 s after the first increment: the window has closed, though the last increment was 21 s ago.
    clock.advance(Duration::from_secs(21));
    assert_eq!(
        e.incr("login:ann", clock.now(), ttl).await.unwrap(),
        1,
        "a new window starts at 1"
    );
    assert_eq!(e.incr("login:ann", clock.now(), ttl).await.unwrap(), 2);
    e.delete("login:ann").await.unwrap();
    assert_eq!(e.incr("login:ann", clock.now(), ttl).await.unwrap(), 1, "delete resets");
}

pub async fn concurrent_take_has_one_winner(s: Stores, clock: ManualClock) {
    let now = clock.now();
    s.ephemeral.put("code:once", b"payload", now, HOUR).await.unwrap();
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.ephemeral.take("code:once", now).await.unwrap() })
        })
        .collect();
    let got: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = got.iter().flatten().collect();
    assert_eq!(winners, vec![&b"payload".to_vec()], "exactly one take gets the value");
}

pub async fn concurrent_incr_counts_every_call(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.ephemeral.incr("rate:ip", now, HOUR).await.unwrap() })
        })
        .collect();
    let counts: BTreeSet<i64> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        counts,
        (1..=50).collect::<BTreeSet<i64>>(),
        "each call saw a distinct count"
    );
    assert_eq!(
        s.ephemeral.incr("rate:ip", now, HOUR).await.unwrap(),
        51,
        "final count was 50"
    );
}
