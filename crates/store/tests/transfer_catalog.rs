//! The transfer catalog names every table and column of the migrated schema, with the right
//! kind, on SQLite and PostgreSQL: a migration that adds a table or a column without adding it to
//! `transfer::catalog` fails here instead of being silently left out of copies and exports.

use keygate_store::testing::{fresh_postgres_url, fresh_sqlite_url, postgres_test_url, test_sql_options};
use keygate_store::transfer::TABLES;
use keygate_store::transfer::catalog::ColType;
use keygate_store::{SqlStore, sql::MIGRATIONS_TABLE};
use sqlx::Row;

fn kind(sql_type: &str) -> Option<ColType> {
    match sql_type.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "smallint" => Some(ColType::Int),
        "text" => Some(ColType::Text),
        "blob" | "bytea" => Some(ColType::Bytes),
        _ => None,
    }
}

/// (table, column, type) of the schema, tables by name, columns in order.
async fn schema(store: &SqlStore) -> Vec<(String, String, String)> {
    let sql = match store.dialect() {
        keygate_store::Dialect::Sqlite => {
            "SELECT m.name AS t, p.name AS c, p.type AS ty FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        }
        keygate_store::Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c, CAST(data_type AS TEXT) AS ty \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position"
        }
    };
    sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("t"), r.get("c"), r.get("ty")))
        .filter(|(t, _, _): &(String, String, String)| t != MIGRATIONS_TABLE)
        .collect()
}

async fn catalog_matches(store: &SqlStore) {
    store.migrate_up().await.unwrap();
    let actual = schema(store).await;
    let mut expected: Vec<(String, String, Option<ColType>)> = TABLES
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .map(move |c| (t.name.to_owned(), c.name.to_owned(), Some(c.ty)))
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let actual: Vec<(String, String, Option<ColType>)> =
        actual.into_iter().map(|(t, c, ty)| (t, c, kind(&ty))).collect();
    assert_eq!(
        actual,
        expected,
        "transfer::catalog differs from the {} schema",
        store.dialect().name()
    );
}

#[tokio::test]
async fn the_catalog_covers_the_sqlite_schema() {
    let (url, _guard) = fresh_sqlite_url();
    catalog_matches(&SqlStore::connect(&url, &test_sql_options()).await.unwrap()).await;
}

#[tokio::test]
async fn the_catalog_covers_the_postgres_schema() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    let store = SqlStore::connect(&url, &test_sql_options()).await.unwrap();
    catalog_matches(&store).await;
    store.close().await;
}

/// Every column an older export file may lack is a trailing column of its table, so a file's
/// columns are always a prefix of this build's.
#[test]
fn added_columns_are_trailing_columns_of_their_tables() {
    use keygate_store::transfer::catalog::ADDED_COLUMNS;
    for (table, column, _) in ADDED_COLUMNS {
        let t = keygate_store::transfer::TABLES
            .iter()
            .find(|t| t.name == *table)
            .unwrap_or_else(|| panic!("ADDED_COLUMNS names an unknown table {table}"));
        let at = t
            .column_index(column)
            .unwrap_or_else(|| panic!("ADDED_COLUMNS names an unknown column {table}.{column}"));
        assert!(
            at >= t.oldest_column_count(),
            "{table}.{column} is followed by an older column"
        );
    }
    let users = keygate_store::transfer::TABLES
        .iter()
        .find(|t| t.name == "users")
        .unwrap();
    assert_eq!(users.oldest_column_count(), users.columns.len() - 1);
}
