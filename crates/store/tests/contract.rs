//! The storage contract suite: the same cases against every backend (memory, SQLite, PostgreSQL,
//! and Redis layered over memory).
//!
//! `contract_suite!` below is the one list of cases. It generates one `#[tokio::test]` per case
//! per backend (`memory::users::create_get_find`, `sqlite::…`, `postgres::…`), so every backend
//! runs exactly the same list, and `suite_size` reports how many cases each backend ran.
//! PostgreSQL runs when KEYGATE_TEST_POSTGRES_URL is set, Redis when KEYGATE_TEST_REDIS_URL is
//! set; with CI=true and no URL their tests fail.

mod contract {
    pub mod audit;
    pub mod clients;
    pub mod codes;
    pub mod credentials;
    pub mod email_tokens;
    pub mod ephemeral;
    pub mod fixtures;
    pub mod harness;
    pub mod keys;
    pub mod maintenance;
    pub mod pats;
    pub mod sessions;
    pub mod tokens;
    pub mod users;
}

/// Generates the tests of one backend: a module per capability, a test per case.
macro_rules! backend_tests {
    ($backend:ident, $kind:expr, { $( $module:ident : [ $( $case:ident ),* $(,)? ] ),* $(,)? }) => {
        mod $backend {
            $(
                mod $module {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                        async fn $case() {
                            crate::contract::harness::run($kind, crate::contract::$module::$case).await;
                        }
                    )*
                }
            )*

            #[test]
            fn suite_size() {
                crate::contract::harness::report_size($kind, crate::CASES.len());
            }
        }
    };
}

macro_rules! contract_suite {
    (@names $( $module:ident : [ $( $case:ident ),* $(,)? ] ),* $(,)?) => {
        /// Every case, as `capability::case`; each backend runs all of them.
        pub const CASES: &[&str] = &[ $( $( concat!(stringify!($module), "::", stringify!($case)) ),* ),* ];
    };
    ($($list:tt)*) => {
        contract_suite!(@names $($list)*);
        backend_tests!(memory, crate::contract::harness::Kind::Memory, { $($list)* });
        backend_tests!(sqlite, crate::contract::harness::Kind::Sqlite, { $($list)* });
        backend_tests!(postgres, crate::contract::harness::Kind::Postgres, { $($list)* });
        backend_tests!(redis, crate::contract::harness::Kind::Redis, { $($list)* });
    };
}

contract_suite! {
    users: [
        create_get_find,
        same_email_in_other_case_is_a_conflict,
        update_round_trips,
        update_to_taken_email_is_a_conflict,
        update_of_missing_user_is_not_found,
        list_pages_in_creation_order,
        list_filters_by_prefix_verification_and_state,
        roles_round_trip_and_erasure_drops_them,
        set_password_ends_other_sessions_and_revokes_families,
        deactivation_ends_sessions_and_grants,
        erase_removes_personal_data_and_anonymises_audit,
    ],
    credentials: [
        totp_crud,
        totp_step_replay_is_refused,
        recovery_codes_work_once,
        concurrent_second_factor_use_has_one_winner,
    ],
    sessions: [
        session_crud,
        delete_user_session_checks_the_owner,
        delete_sessions_of_user_keeps_the_exception,
        list_sessions_excludes_expired_newest_first,
    ],
    email_tokens: [
        token_works_once,
        newer_token_invalidates_older_of_same_kind,
        password_change_voids_reset_links,
        expired_token_is_refused,
        concurrent_consume_has_one_winner,
    ],
    clients: [
        client_crud,
        duplicate_client_id_is_a_conflict,
        update_of_missing_client_is_not_found,
        list_pages_by_id,
        concurrent_lookups_are_answered_each_for_itself,
        delete_removes_consents_codes_and_families,
        consent_crud,
        a_consent_is_written_with_its_audit_event,
    ],
    codes: [
        code_is_redeemed_once,
        concurrent_redeem_has_one_winner,
    ],
    tokens: [
        family_and_tokens_crud,
        rotation_marks_old_used_and_stores_new,
        concurrent_rotation_has_one_winner,
        revoking_a_family_revokes_every_token_in_it,
        revoke_families_of_user_and_client,
        revoke_access_token,
        concurrent_access_tokens_are_answered_each_for_itself,
    ],
    pats: [
        pat_crud,
    ],
    keys: [
        rotation_inserts_and_updates,
        duplicate_kid_is_a_conflict_and_changes_nothing,
        update_of_missing_key_is_not_found_and_changes_nothing,
        concurrent_first_keys_have_one_winner,
        a_plan_from_changed_keys_is_refused,
    ],
    audit: [
        event_round_trips,
        filters_by_user_client_action_and_time,
        pages_newest_first,
        mutations_store_their_events,
        failed_mutations_store_no_events,
    ],
    ephemeral: [
        put_get_take_delete,
        values_expire_with_time,
        counters_use_a_fixed_window,
        concurrent_take_has_one_winner,
        concurrent_incr_counts_every_call,
    ],
    maintenance: [
        ping_answers,
        stats_count_live_records,
        purge_deletes_expired_and_keeps_live,
        purge_respects_the_batch_size,
    ],
}
