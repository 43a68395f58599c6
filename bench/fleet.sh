#!/usr/bin/env bash
# bench/fleet.sh: Keygate fleets on PostgreSQL, and on PostgreSQL + Redis, at 1, 2 and 3 instances,
# against node oidc-provider (in memory) and against pgbench's plain single-row inserts, in one run.
#
# Scenarios: POST token (client_credentials, opaque access token: one durable row per token) and
# POST introspect (opaque access token). Every instance has its own port; load is spread by one
# wrk per instance (1 thread, CONNS/N connections each) started together, and their rates added.
# PostgreSQL: a fresh database on KEYGATE_BENCH_PG (default postgres://postgres@127.0.0.1:5432),
# dropped at the end. Redis: a private redis-server on a free port, stopped at the end.
#
# Knobs: DURATION=10 (s), WARMUP=2 (s), CONNS=32, SKIP_BUILD=1, INSTANCES="1 2 3".
# Needs: a release build (cargo build --release -p keygate), node + npm, wrk, pgbench, psql,
# redis-server, python3, curl, jq.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-32}
INSTANCES=${INSTANCES:-"1 2 3"}
PG=${KEYGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
HOST=127.0.0.1
BIN=$ROOT/target/release/keygate
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$HERE/results/fleet-$STAMP
WORK=$(mktemp -d /tmp/keygate-fleet.XXXXXX)
DBNAME=keygate_bench_$(date -u +%s)
DB="$PG/$DBNAME"
mkdir -p "$OUT"
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)

for tool in wrk node npm pgbench psql redis-server python3 curl jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  psql "$PG/postgres" -qc "drop database if exists $DBNAME with (force)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_ready() { # URL PID
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || { echo "server $2 exited" >&2; return 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "$1 not ready after 30 s" >&2
  return 1
}
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

declare -A RPS P99 BAD
ROWS=()

# measure KEY URL...: one wrk per URL at once (1 thread, CONNS/N connections each), after a
# warm-up; the rates are added, p99 is the worst of them. WRK_* variables describe the request.
measure() {
  local key=$1
  shift
  local n=$# per=$(( CONNS / $# )) url i=0 files=() total=0 p99=0 bad=0 line
  local wrks=()
  for url in "$@"; do
    wrk -t1 -c"$per" -d"${WARMUP}s" -s "$HERE/wrk/request.lua" "$url" >/dev/null &
    wrks+=("$!")
  done
  wait "${wrks[@]}"
  wrks=()
  for url in "$@"; do
    i=$((i + 1))
    files+=("$OUT/$key.$i.wrk")
    wrk -t1 -c"$per" -d"${DURATION}s" --latency -s "$HERE/wrk/request.lua" "$url" > "$OUT/$key.$i.wrk" &
    wrks+=("$!")
  done
  wait "${wrks[@]}"
  for f in "${files[@]}"; do
    line=$(grep '^RESULT' "$f")
    total=$(awk -v a="$total" -v b="$(sed -E 's/.* rps=([^ ]+).*/\1/' <<<"$line")" 'BEGIN {printf "%.1f", a + b}')
    p99=$(awk -v a="$p99" -v b="$(sed -E 's/.* p99_ms=([^ ]+).*/\1/' <<<"$line")" 'BEGIN {print (b > a) ? b : a}')
    bad=$(( bad + $(sed -E 's/.* non2xx=([0-9]+) errors=([0-9]+).*/\1 + \2/' <<<"$line") ))
  done
  RPS[$key]=$total P99[$key]=$p99 BAD[$key]=$bad
  ROWS+=("$key")
  log "$key ($n x $per connections): $total req/s, p99 $p99 ms, $bad failed"
}

if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release -p keygate)
fi
if [ ! -d "$HERE/node/node_modules/oidc-provider" ]; then
  (cd "$HERE/node" && npm ci --no-audit --no-fund)
fi

# ---------------------------------------------------------------- peer: node oidc-provider
NODE_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
PORT=$(free_port)
(cd "$HERE/node" && NODE_ENV=production PORT=$PORT CLIENT_SECRET=$NODE_SECRET exec node server.mjs \
  > "$OUT/oidc-provider.stdout" 2> "$OUT/oidc-provider.stderr") &
NPID=$!
PIDS+=("$NPID")
wait_ready "http://$HOST:$PORT/.well-known/openid-configuration" "$NPID"
export WRK_METHOD=POST WRK_CTYPE=application/x-www-form-urlencoded WRK_AUTH
WRK_AUTH=$(basic bench "$NODE_SECRET")
export WRK_BODY="grant_type=client_credentials&scope=api&resource=urn%3Akeygate-bench%3Aopaque"
measure "peer cc" "http://$HOST:$PORT/token"
OPAQUE=$(curl -sf -u "bench:$NODE_SECRET" -d grant_type=client_credentials -d scope=api \
  -d resource=urn:keygate-bench:opaque "http://$HOST:$PORT/token" | jq -r .access_token)
export WRK_BODY="token=$OPAQUE&token_type_hint=access_token"
measure "peer introspect" "http://$HOST:$PORT/token/introspection"
kill "$NPID"; wait "$NPID" 2>/dev/null || true

# ---------------------------------------------------------------- pgbench: single-row inserts
psql "$PG/postgres" -qc "create database $DBNAME" >/dev/null
psql "$DB" -qc "create table bench_insert (id bigserial primary key, digest text not null, created_at timestamptz not null default now())"
echo "insert into bench_insert (digest) values (md5(random()::text));" > "$WORK/insert.sql"
pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -f "$WORK/insert.sql" "$DB" > "$OUT/pgbench.txt" 2>&1
PGBENCH_TPS=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$OUT/pgbench.txt" | head -1)
log "pgbench single-row inserts ($CONNS clients): $PGBENCH_TPS tps"
psql "$DB" -qc "drop table bench_insert"

# ---------------------------------------------------------------- Keygate fleets
export KEYGATE_LOG=warn KEYGATE_OAUTH__EXTRA_SCOPES=api KEYGATE_MAIL_OUTBOX=$WORK/outbox
export KEYGATE_DATABASE_URL=$DB KEYGATE_ISSUER=http://$HOST:8080
export KEYGATE_SECRET_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
(cd "$WORK" && "$BIN" migrate up > /dev/null)
C=$(cd "$WORK" && "$BIN" client create --name bench-opaque --grant-type client_credentials --scope api \
  --access-token-format opaque --json)
CID=$(jq -r .client_id <<<"$C") CSECRET=$(jq -r .client_secret <<<"$C")

RPORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no > "$OUT/redis.log" 2>&1 &
PIDS+=("$!")
sleep 0.5

for store in pg pg+redis; do
  for n in $INSTANCES; do
    FLEET=() URLS_T=() URLS_I=()
    for i in $(seq 1 "$n"); do
      p=$(free_port)
      if [ "$store" = pg+redis ]; then redis="redis://$HOST:$RPORT"; else redis=""; fi
      (cd "$WORK" && exec env KEYGATE_BIND="$HOST:$p" KEYGATE_REDIS_URL="$redis" \
        KEYGATE_REDIS__PREFIX="bench-$STAMP:" "$BIN" serve --no-migrate \
        > "$OUT/keygate-$store-$n-$i.stdout" 2> "$OUT/keygate-$store-$n-$i.stderr") &
      FLEET+=("$!")
      PIDS+=("$!")
      wait_ready "http://$HOST:$p/health/ready" "$!"
      URLS_T+=("http://$HOST:$p/oauth2/token")
      URLS_I+=("http://$HOST:$p/oauth2/introspect")
    done
    WRK_AUTH=$(basic "$CID" "$CSECRET")
    export WRK_BODY="grant_type=client_credentials&scope=api"
    measure "$store $n cc" "${URLS_T[@]}"
    TOKEN=$(curl -sf -u "$CID:$CSECRET" -d grant_type=client_credentials -d scope=api "${URLS_T[0]}" | jq -r .access_token)
    export WRK_BODY="token=$TOKEN&token_type_hint=access_token"
    measure "$store $n introspect" "${URLS_I[@]}"
    for pid in "${FLEET[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  done
done

# ---------------------------------------------------------------- report
peer_i=${RPS[peer introspect]}
{
  echo "## Fleet run $STAMP"
  echo
  echo "- machine: $(nproc) cores, $(uname -sr); wrk, every Keygate instance, PostgreSQL $(psql "$PG/postgres" -Atc 'show server_version') and Redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') share them"
  echo "- load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- keygate: $("$BIN" --version) (release); node $(node --version), oidc-provider $(node -p "require('$HERE/node/node_modules/oidc-provider/package.json').version")"
  echo "- $CONNS connections in all, ${DURATION}s per row after ${WARMUP}s warm-up; pgbench: $CONNS clients, 2 threads"
  echo
  echo "| row | req/s | worst p99 ms | failed | vs peer introspection |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for k in "${ROWS[@]}"; do
    ratio=$(awk -v a="${RPS[$k]}" -v b="$peer_i" 'BEGIN {printf "%.2fx", a / b}')
    echo "| $k | ${RPS[$k]} | ${P99[$k]} | ${BAD[$k]} | $ratio |"
  done
  echo "| pgbench single-row inserts | $PGBENCH_TPS | | | |"
  echo
  for n in $INSTANCES; do
    echo "- $n instance(s): client_credentials on PostgreSQL = $(awk -v a="${RPS[pg $n cc]}" -v b="$PGBENCH_TPS" 'BEGIN {printf "%.0f%%", 100 * a / b}') of pgbench's insert rate"
  done
} | tee "$OUT/report.md"
