//! A request that outlives `http.request_timeout_secs` (PostgreSQL black-holed, statements allowed
//! longer than the request) gets the same 503 problem with `Retry-After` as any other outage, not
//! a bare status. Runs when KEYGATE_TEST_POSTGRES_URL is set.

// Its own binary: the SQL query timeout is per process, so it cannot share a process with
// the other suites (`it`), whose servers open pools with other timeouts at the same time.
mod db_outage;

use std::time::Duration;

use db_outage::common::accounts::{Api, PASSWORD};
use db_outage::{assert_outage_problem, recovers, setup, timed_login};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_request_timeout_gets_the_same_503_problem() {
    // Statements may take 20 s, but a request only 1 s: the request timeout answers.
    let Some(s) = setup(Duration::from_secs(20), 1).await else {
        return;
    };
    let api = Api::new(&s.server.base);
    assert_eq!(api.register("lou@example.com", PASSWORD).await.status, 201);

    s.proxy.black_hole();
    let (r, took) = timed_login(&api, PASSWORD).await;
    assert_outage_problem(&r, took, Duration::from_secs(4));
    assert!(took >= Duration::from_millis(900), "{took:?}");

    s.proxy.restore();
    recovers(&api).await;
    s.server.stop().await;
}
