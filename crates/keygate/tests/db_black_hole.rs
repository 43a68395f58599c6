//! PostgreSQL turned into a black hole (behind a proxy the test controls: connections stay open,
//! nothing comes back): a request fails with the 503 problem and `Retry-After` after the query
//! timeout, long before the request timeout, and the server recovers without a restart. Runs when
//! KEYGATE_TEST_POSTGRES_URL is set. (`db_request_timeout.rs` has the case of a request timeout
//! shorter than the query timeout: the query timeout is per process, hence another test binary.)

// Its own binary: the SQL query timeout is per process, so it cannot share a process with
// the other suites (`it`), whose servers open pools with other timeouts at the same time.
mod db_outage;

use std::time::Duration;

use db_outage::common::accounts::{Api, PASSWORD};
use db_outage::{assert_outage_problem, recovers, setup, timed_login};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_database_answers_the_503_problem_after_the_query_timeout_and_recovers() {
    // The default request timeout (30 s); statements are bounded at 1 s.
    let Some(s) = setup(Duration::from_secs(1), 30).await else {
        return;
    };
    let api = Api::new(&s.server.base);
    assert_eq!(api.register("lou@example.com", PASSWORD).await.status, 201);
    assert_eq!(timed_login(&api, PASSWORD).await.0.status, 200);

    s.proxy.black_hole();
    // More attempts than pooled connections: frozen ones and new ones are both bounded.
    for attempt in 0..6 {
        let (r, took) = timed_login(&api, "wrong-password-guess").await;
        eprintln!("black hole, attempt {attempt}: {} after {took:?}", r.status);
        assert_outage_problem(&r, took, Duration::from_secs(5));
    }

    s.proxy.restore();
    recovers(&api).await;
    s.server.stop().await;
}
