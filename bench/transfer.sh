#!/usr/bin/env bash
# bench/transfer.sh: `keygate copy-storage` SQLite -> PostgreSQL against `pg_dump | psql`, side by
# side in one run on the same machine.
#
# Fills a SQLite file (sqlite3 CLI, after `keygate migrate up`) with USERS users (default 100 000),
# one token family each, and TOKENS token rows (default 1 000 000: half refresh, half opaque
# access tokens); copies it into a fresh PostgreSQL database under /usr/bin/time -v (rows/s, peak
# RSS); then restores that PostgreSQL database into another fresh one with `pg_dump | psql` and
# times it. Prints a Markdown table (also saved under bench/results/).
#
# Knobs (environment): PG=postgres://postgres@127.0.0.1:5432 (server, trust auth), USERS, TOKENS,
# BATCH=1000, SKIP_BUILD=1. Needs: cargo, sqlite3, psql, pg_dump, createdb/dropdb or psql, GNU time.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PG=${PG:-postgres://postgres@127.0.0.1:5432}
USERS=${USERS:-100000}
TOKENS=${TOKENS:-1000000}
BATCH=${BATCH:-1000}
BIN=$ROOT/target/release/keygate
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$HERE/results/transfer-$STAMP
WORK=$(mktemp -d /tmp/keygate-transfer.XXXXXX)
SRC_DB=keygate_bench_copy_$$
DUMP_DB=keygate_bench_dump_$$
mkdir -p "$OUT"

cleanup() {
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $SRC_DB" -c "DROP DATABASE IF EXISTS $DUMP_DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in sqlite3 psql pg_dump /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p keygate -j2)
fi

export KEYGATE_SECRET_KEY
KEYGATE_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
SQLITE="$WORK/source.db"

echo "filling $SQLITE: $USERS users, $TOKENS token rows" >&2
"$BIN" --database-url "sqlite://$SQLITE" migrate up >/dev/null
FAMILIES=$USERS
HALF=$((TOKENS / 2))
PER_FAMILY=$(( (HALF + FAMILIES - 1) / FAMILIES ))
fill_started=$(date +%s.%N)
sqlite3 "$SQLITE" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO clients (id, secret_digest, name, auth_method, redirect_uris, post_logout_redirect_uris,
  grant_types, scope, access_token_format, access_token_alg, id_token_alg, first_party, created_at, updated_at)
VALUES ('bench-client', randomblob(32), 'bench', 'client_secret_basic', '["https://app.example/cb"]', '[]',
  '["authorization_code","refresh_token"]', 'openid offline_access', 'opaque', NULL, NULL, 0, 1764000000000, 1764000000000);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS)
INSERT INTO users (id, email, email_normalized, password_hash, email_verified_at, disabled_at, failed_logins,
  locked_until, created_at, updated_at, deleted_at)
SELECT printf('0193a000-0000-7000-8000-%012d', i), printf('user%d@example.com', i), printf('user%d@example.com', i),
  '\$argon2id\$v=19\$m=19456,t=2,p=1\$' || hex(randomblob(16)) || '\$' || hex(randomblob(32)),
  1764000000000, NULL, 0, NULL, 1764000000000 + i, 1764000000000 + i, NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $FAMILIES)
INSERT INTO token_families (id, client_id, user_id, scope, auth_time, created_at, revoked_at)
SELECT printf('0193b000-0000-7000-8000-%012d', i), 'bench-client', printf('0193a000-0000-7000-8000-%012d', i),
  'openid offline_access', 1764000000000, 1764000000000, NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $HALF - 1)
INSERT INTO refresh_tokens (digest, family_id, parent, client_id, user_id, scope, issued_at, expires_at, used_at, revoked_at)
SELECT randomblob(32), printf('0193b000-0000-7000-8000-%012d', i / $PER_FAMILY + 1), randomblob(32), 'bench-client',
  printf('0193a000-0000-7000-8000-%012d', i / $PER_FAMILY + 1), 'openid offline_access',
  1764000000000 + i, 1900000000000, NULL, NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $TOKENS - $HALF - 1)
INSERT INTO access_tokens (digest, jti, family_id, client_id, user_id, scope, issued_at, expires_at, revoked_at)
SELECT randomblob(32), printf('jti-%d', i), printf('0193b000-0000-7000-8000-%012d', i / $PER_FAMILY + 1), 'bench-client',
  printf('0193a000-0000-7000-8000-%012d', i / $PER_FAMILY + 1), 'openid offline_access',
  1764000000000 + i, 1900000000000, NULL FROM n;
COMMIT;
SQL
fill_done=$(date +%s.%N)
ROWS=$(sqlite3 "$SQLITE" "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM token_families) + (SELECT COUNT(*) FROM refresh_tokens) + (SELECT COUNT(*) FROM access_tokens) + (SELECT COUNT(*) FROM clients)")
echo "filled $ROWS rows in $(echo "$fill_done - $fill_started" | bc) s ($(du -h "$SQLITE" | cut -f1))" >&2

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $SRC_DB" -c "CREATE DATABASE $SRC_DB" >/dev/null
echo "copy-storage sqlite -> postgres (batch $BATCH)" >&2
/usr/bin/time -v -o "$OUT/copy.time" "$BIN" copy-storage --from "sqlite://$SQLITE" --to "$PG/$SRC_DB" \
    --batch-size "$BATCH" --json >"$OUT/copy.json" 2>"$OUT/copy.stderr"
COPY_S=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["seconds"], 2))' "$OUT/copy.json")
COPY_WALL=$(grep 'Elapsed (wall clock)' "$OUT/copy.time" | awk '{print $NF}')
COPY_RSS=$(grep 'Maximum resident set size' "$OUT/copy.time" | awk '{print $NF}')

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DUMP_DB" -c "CREATE DATABASE $DUMP_DB" >/dev/null
echo "pg_dump | psql of the same data" >&2
dump_started=$(date +%s.%N)
pg_dump --no-owner "$PG/$SRC_DB" | psql -q -v ON_ERROR_STOP=1 "$PG/$DUMP_DB" >/dev/null
dump_done=$(date +%s.%N)
DUMP_S=$(echo "$dump_done - $dump_started" | bc)
DUMP_ROWS=$(psql -tA "$PG/$DUMP_DB" -c "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM token_families) + (SELECT COUNT(*) FROM refresh_tokens) + (SELECT COUNT(*) FROM access_tokens) + (SELECT COUNT(*) FROM clients)")

python3 - "$ROWS" "$COPY_S" "$COPY_WALL" "$COPY_RSS" "$DUMP_S" "$DUMP_ROWS" "$BATCH" <<'PY' | tee "$OUT/summary.md"
import sys
rows, copy_s, wall, rss_kb, dump_s, dump_rows, batch = sys.argv[1:]
rows, copy_s, dump_s, rss = int(rows), float(copy_s), float(dump_s), int(rss_kb) / 1024
print(f"| run | rows | seconds | rows/s | peak RSS (MiB) |")
print(f"| --- | ---: | ---: | ---: | ---: |")
print(f"| `keygate copy-storage` SQLite -> PostgreSQL (batch {batch}, with verification) | {rows} | {copy_s:.1f} (wall {wall}) | {rows / copy_s:,.0f} | {rss:.0f} |")
print(f"| `pg_dump \\| psql` PostgreSQL -> PostgreSQL | {int(dump_rows)} | {dump_s:.1f} | {int(dump_rows) / dump_s:,.0f} | n/a |")
print()
print(f"copy-storage / pg_dump|psql time ratio: {copy_s / dump_s:.2f}")
PY
echo "results in $OUT" >&2
