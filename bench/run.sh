#!/usr/bin/env bash
# bench/run.sh: Keygate (SQLite and memory stores) against node oidc-provider, on loopback.
#
# Builds keygate (release), installs bench/node (npm ci) if needed, starts each server on a free
# 127.0.0.1 port, creates a confidential client_credentials client (and, for Keygate, a verified
# account), warms up, runs every scenario with wrk for a fixed duration and concurrency, measures
# RSS, stops the servers and prints Markdown tables (also saved under bench/results/).
#
# Knobs (environment): DURATION=15 (s per scenario), WARMUP=3 (s), CONNS=32, THREADS=2,
# TOKENS_N=10000 (opaque tokens issued for the memory measurement), SKIP_BUILD=1.
# Needs: cargo, node + npm, wrk (apt-get install -y wrk), python3, curl, jq.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
TOKENS_N=${TOKENS_N:-10000}
HOST=127.0.0.1
BIN=$ROOT/target/release/keygate
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$HERE/results/$STAMP
WORK=$(mktemp -d /tmp/keygate-bench.XXXXXX)
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)

for tool in wrk node npm python3 curl jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool (wrk: apt-get install -y wrk)" >&2; exit 1; }
done

# ---------------------------------------------------------------- process bookkeeping
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready URL PID: bounded (30 s) wait for a 200.
wait_ready() {
  local url=$1 pid=$2 i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { echo "server $pid exited before becoming ready" >&2; return 1; }
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" = 200 ]; then return 0; fi
    sleep 0.1
  done
  echo "server at $url not ready after 30 s" >&2
  return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# sample_rss PID FILE STOPFILE: VmRSS (KiB) every 200 ms into FILE while STOPFILE is absent;
# bounded to 10 min.
sample_rss() {
  local pid=$1 file=$2 stop=$3 i
  : > "$file"
  for i in $(seq 1 3000); do
    [ -e "$stop" ] && break
    rss_kib "$pid" >> "$file" 2>/dev/null || break
    sleep 0.2
  done
}
# half_max FILE 1|2: the largest sample of the first or second half of FILE.
half_max() {
  awk -v h="$2" '{v[NR] = $1} END {m = 0; n = int(NR / 2); a = (h == 1) ? 1 : n + 1; b = (h == 1) ? n : NR;
    for (i = a; i <= b; i++) if (v[i] > m) m = v[i]; print m}' "$1"
}

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# ---------------------------------------------------------------- results
declare -A RPS P50 P99 BAD CPU
SERVERS=()
SCENARIOS=(discovery jwks client_credentials introspect_jwt introspect_opaque login)
declare -A SCEN_LABEL=(
  [discovery]="GET discovery document"
  [jwks]="GET JWKS"
  [client_credentials]="POST token, client_credentials (client_secret_basic, JWT ES256)"
  [introspect_jwt]="POST introspect, JWT access token"
  [introspect_opaque]="POST introspect, opaque access token"
  [login]="POST /api/auth/login (Argon2id)"
)
declare -A MEM

# scenario SERVER NAME PID URL: one warm-up and one measured wrk run; the WRK_* variables
# describing the request must be exported by the caller.
scenario() {
  local server=$1 name=$2 pid=$3 url=$4 status file line t0 t1
  status=$(curl -s -o "$OUT/$server-$name.sample" -w '%{http_code}' --max-time 5 -X "${WRK_METHOD:-GET}" \
    ${WRK_AUTH:+-H "Authorization: $WRK_AUTH"} ${WRK_CTYPE:+-H "Content-Type: $WRK_CTYPE"} \
    ${WRK_BODY:+--data-raw "$WRK_BODY"} "$url")
  if [ "$status" != 200 ]; then
    log "$server $name: sanity request got HTTP $status ($(head -c 300 "$OUT/$server-$name.sample")); skipped"
    return 0
  fi
  log "$server $name: warm-up ${WARMUP}s, then ${DURATION}s at $CONNS connections"
  wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$HERE/wrk/request.lua" "$url" > /dev/null
  file=$OUT/$server-$name.wrk
  t0=$(cpu_ticks "$pid")
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/wrk/request.lua" "$url" > "$file"
  t1=$(cpu_ticks "$pid")
  line=$(grep '^RESULT' "$file")
  RPS[$server,$name]=$(sed -E 's/.* rps=([^ ]+).*/\1/' <<<"$line")
  P50[$server,$name]=$(sed -E 's/.* p50_ms=([^ ]+).*/\1/' <<<"$line")
  P99[$server,$name]=$(sed -E 's/.* p99_ms=([^ ]+).*/\1/' <<<"$line")
  BAD[$server,$name]=$(( $(sed -E 's/.* non2xx=([0-9]+) errors=([0-9]+).*/\1 + \2/' <<<"$line") ))
  CPU[$server,$name]=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$DURATION" 'BEGIN {printf "%.0f", 100 * d / hz / s}')
  log "  $line cpu=${CPU[$server,$name]}%"
}

unset_wrk() { unset WRK_METHOD WRK_BODY WRK_CTYPE WRK_AUTH; }

# keygate_scenarios SERVER PID BASE CID SECRET OPAQUE_CID OPAQUE_SECRET EMAIL PASSWORD
keygate_scenarios() {
  local server=$1 pid=$2 base=$3 cid=$4 secret=$5 ocid=$6 osecret=$7 email=$8 password=$9
  local disco token_ep introspect_ep jwks_uri jwt opaque auth oauth r0 r1 stop
  disco=$(curl -sf "$base/.well-known/openid-configuration")
  token_ep=$(jq -r .token_endpoint <<<"$disco")
  introspect_ep=$(jq -r .introspection_endpoint <<<"$disco")
  jwks_uri=$(jq -r .jwks_uri <<<"$disco")
  auth=$(basic "$cid" "$secret")
  oauth=$(basic "$ocid" "$osecret")

  # Memory first, on a fresh process: RSS after issuing TOKENS_N opaque access tokens (each
  # one is a stored record).
  r0=$(rss_kib "$pid")
  MEM[$server,tokens_run]=$(python3 "$HERE/issue_tokens.py" "$TOKENS_N" "$token_ep" "$ocid" "$osecret" "scope=api")
  sleep 1
  r1=$(rss_kib "$pid")
  MEM[$server,rss_before_tokens]=$r0
  MEM[$server,rss_after_tokens]=$r1
  log "  $server tokens: ${MEM[$server,tokens_run]} rss ${r0} -> ${r1} KiB"

  unset_wrk
  scenario "$server" discovery "$pid" "$base/.well-known/openid-configuration"
  scenario "$server" jwks "$pid" "$jwks_uri"

  export WRK_METHOD=POST WRK_CTYPE=application/x-www-form-urlencoded WRK_AUTH=$auth
  export WRK_BODY="grant_type=client_credentials&scope=api"
  scenario "$server" client_credentials "$pid" "$token_ep"
  MEM[$server,rss_after_cc]=$(rss_kib "$pid")

  jwt=$(curl -sf -u "$cid:$secret" -d grant_type=client_credentials -d scope=api "$token_ep" | jq -r .access_token)
  export WRK_BODY="token=$jwt&token_type_hint=access_token"
  scenario "$server" introspect_jwt "$pid" "$introspect_ep"

  opaque=$(curl -sf -u "$ocid:$osecret" -d grant_type=client_credentials -d scope=api "$token_ep" | jq -r .access_token)
  export WRK_AUTH=$oauth WRK_BODY="token=$opaque&token_type_hint=access_token"
  scenario "$server" introspect_opaque "$pid" "$introspect_ep"

  # Login flood: peak RSS sampled every 200 ms, and VmHWM.
  unset_wrk
  export WRK_METHOD=POST WRK_CTYPE=application/json
  export WRK_BODY="{\"email\":\"$email\",\"password\":\"$password\"}"
  MEM[$server,rss_before_login]=$(rss_kib "$pid")
  stop=$WORK/stop-$server
  rm -f "$stop"
  sample_rss "$pid" "$WORK/peak-$server" "$stop" &
  local sampler=$!
  scenario "$server" login "$pid" "$base/api/auth/login"
  touch "$stop"
  wait "$sampler" || true
  cp "$WORK/peak-$server" "$OUT/$server-login.rss"
  MEM[$server,rss_peak_login1]=$(half_max "$WORK/peak-$server" 1)
  MEM[$server,rss_peak_login2]=$(half_max "$WORK/peak-$server" 2)
  MEM[$server,rss_after_login]=$(rss_kib "$pid")
  MEM[$server,hwm]=$(hwm_kib "$pid")
  unset_wrk
}

start_keygate() { # NAME DB_URL PORT [serve args...] ; sets KG_PID
  local name=$1 db=$2 port=$3
  shift 3
  (cd "$WORK" && exec env KEYGATE_DATABASE_URL="$db" KEYGATE_ISSUER="http://$HOST:$port" \
     KEYGATE_BIND="$HOST:$port" "$BIN" serve "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr") &
  KG_PID=$!
  PIDS+=("$KG_PID")
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- build and install
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building keygate (release)"
  (cd "$ROOT" && cargo build --release -p keygate)
fi
if [ ! -d "$HERE/node/node_modules/oidc-provider" ]; then
  log "installing oidc-provider (npm ci)"
  (cd "$HERE/node" && npm ci --no-audit --no-fund)
fi

# Same configuration for both Keygate runs: logs at warn (no per-request log line), an extra
# scope `api`, and the audience used by the node peer.
export KEYGATE_LOG=warn KEYGATE_OAUTH__EXTRA_SCOPES=api KEYGATE_OAUTH__AUDIENCE=urn:keygate-bench:api
export KEYGATE_MAIL_OUTBOX=$WORK/outbox

EMAIL=bench@example.com
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')

# ---------------------------------------------------------------- Keygate, SQLite
DB="sqlite://$WORK/keygate.db"
log "keygate/sqlite: creating clients and account with the CLI"
C1=$(cd "$WORK" && KEYGATE_DATABASE_URL=$DB "$BIN" client create --name bench --grant-type client_credentials --scope api --json)
C2=$(cd "$WORK" && KEYGATE_DATABASE_URL=$DB "$BIN" client create --name bench-opaque --grant-type client_credentials --scope api --access-token-format opaque --json)
printf '%s' "$PASSWORD" | (cd "$WORK" && KEYGATE_DATABASE_URL=$DB "$BIN" user create --email "$EMAIL" --verified --password-stdin --json) > /dev/null
PORT=$(free_port)
start_keygate keygate-sqlite "$DB" "$PORT"
SUB=$KG_PID
PID=$SUB
wait_ready "http://$HOST:$PORT/health/ready" "$PID"
SERVERS+=(keygate-sqlite)
keygate_scenarios keygate-sqlite "$PID" "http://$HOST:$PORT" \
  "$(jq -r .client_id <<<"$C1")" "$(jq -r .client_secret <<<"$C1")" \
  "$(jq -r .client_id <<<"$C2")" "$(jq -r .client_secret <<<"$C2")" "$EMAIL" "$PASSWORD"
stop_pid "$SUB"

# ---------------------------------------------------------------- Keygate, memory
# A memory store lives in the server process, so the client comes from the admin API and the
# verified account from `serve --demo` (created through the same service as `user create`).
ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
PORT=$(free_port)
KEYGATE_ADMIN_TOKEN=$ADMIN_TOKEN start_keygate keygate-memory memory: "$PORT" --demo
SUB=$KG_PID
PID=$SUB
wait_ready "http://$HOST:$PORT/health/ready" "$PID"
DEMO_PW=$(sed -nE 's/^ *password: +([^ ]+) .*/\1/p' "$OUT/keygate-memory.stderr" | head -1)
admin_client() {
  curl -sf -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data-raw "$1" "http://$HOST:$PORT/admin/clients"
}
M1=$(admin_client '{"client_name":"bench","grant_types":["client_credentials"],"scope":"api","token_endpoint_auth_method":"client_secret_basic"}')
M2=$(admin_client '{"client_name":"bench-opaque","grant_types":["client_credentials"],"scope":"api","token_endpoint_auth_method":"client_secret_basic","access_token_format":"opaque"}')
SERVERS+=(keygate-memory)
keygate_scenarios keygate-memory "$PID" "http://$HOST:$PORT" \
  "$(jq -r .client_id <<<"$M1")" "$(jq -r .client_secret <<<"$M1")" \
  "$(jq -r .client_id <<<"$M2")" "$(jq -r .client_secret <<<"$M2")" demo@example.com "$DEMO_PW"
stop_pid "$SUB"

# ---------------------------------------------------------------- node oidc-provider
NODE_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
PORT=$(free_port)
(cd "$HERE/node" && NODE_ENV=production PORT=$PORT CLIENT_SECRET=$NODE_SECRET exec node server.mjs \
  > "$OUT/oidc-provider.stdout" 2> "$OUT/oidc-provider.stderr") &
NPID=$!
PIDS+=("$NPID")
wait_ready "http://$HOST:$PORT/.well-known/openid-configuration" "$NPID"
SERVERS+=(oidc-provider)
BASE=http://$HOST:$PORT
AUTH=$(basic bench "$NODE_SECRET")
r0=$(rss_kib "$NPID")
MEM[oidc-provider,tokens_run]=$(python3 "$HERE/issue_tokens.py" "$TOKENS_N" "$BASE/token" bench "$NODE_SECRET" \
  "scope=api&resource=urn%3Akeygate-bench%3Aopaque")
sleep 1
MEM[oidc-provider,rss_before_tokens]=$r0
MEM[oidc-provider,rss_after_tokens]=$(rss_kib "$NPID")
unset_wrk
scenario oidc-provider discovery "$NPID" "$BASE/.well-known/openid-configuration"
scenario oidc-provider jwks "$NPID" "$BASE/jwks"
export WRK_METHOD=POST WRK_CTYPE=application/x-www-form-urlencoded WRK_AUTH=$AUTH
export WRK_BODY="grant_type=client_credentials&scope=api"
scenario oidc-provider client_credentials "$NPID" "$BASE/token"
MEM[oidc-provider,rss_after_cc]=$(rss_kib "$NPID")
# oidc-provider refuses to introspect its own JWT access tokens (unsupported_token_type); record
# that answer, and measure introspection with an opaque token.
JWT=$(curl -sf -u "bench:$NODE_SECRET" -d grant_type=client_credentials -d scope=api "$BASE/token" | jq -r .access_token)
curl -s -u "bench:$NODE_SECRET" -d "token=$JWT" "$BASE/token/introspection" > "$OUT/oidc-provider-introspect_jwt.answer"
OPAQUE=$(curl -sf -u "bench:$NODE_SECRET" -d grant_type=client_credentials -d scope=api \
  -d resource=urn:keygate-bench:opaque "$BASE/token" | jq -r .access_token)
export WRK_BODY="token=$OPAQUE&token_type_hint=access_token"
scenario oidc-provider introspect_opaque "$NPID" "$BASE/token/introspection"
MEM[oidc-provider,hwm]=$(hwm_kib "$NPID")
unset_wrk
stop_pid "$NPID"

# ---------------------------------------------------------------- report
{
  echo "## Run $STAMP"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr); wrk and the server share the cores"
  echo "- load average (1, 5, 15 min) at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- keygate: $("$BIN" --version) (release build); $(rustc --version 2>/dev/null || echo rustc ?)"
  echo "- node $(node --version), oidc-provider $(node -p "require('$HERE/node/node_modules/oidc-provider/package.json').version")"
  echo "- wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $THREADS threads, $CONNS connections, ${DURATION}s per scenario after ${WARMUP}s warm-up"
  echo
  printf '| scenario |'
  for s in "${SERVERS[@]}"; do printf ' %s req/s | p50 ms | p99 ms | CPU |' "$s"; done
  echo
  printf '| --- |'
  for s in "${SERVERS[@]}"; do printf ' ---: | ---: | ---: | ---: |'; done
  echo
  for sc in "${SCENARIOS[@]}"; do
    printf '| %s |' "${SCEN_LABEL[$sc]}"
    for s in "${SERVERS[@]}"; do
      if [ -n "${RPS[$s,$sc]:-}" ]; then
        bad=""
        [ "${BAD[$s,$sc]}" != 0 ] && bad=" (${BAD[$s,$sc]} failed)"
        printf ' %s%s | %s | %s | %s%% |' "${RPS[$s,$sc]}" "$bad" "${P50[$s,$sc]}" "${P99[$s,$sc]}" "${CPU[$s,$sc]}"
      else
        printf ' n/a | | | |'
      fi
    done
    echo
  done
  echo
  echo "CPU = server process CPU time / wall time (200% = both cores)."
  echo
  echo "| memory (RSS, MiB) |$(printf ' %s |' "${SERVERS[@]}")"
  echo "| --- |$(printf ' ---: |%.0s' "${SERVERS[@]}")"
  printf '| before issuing %s opaque tokens |' "$TOKENS_N"
  for s in "${SERVERS[@]}"; do printf ' %s |' "$(mib "${MEM[$s,rss_before_tokens]:-0}")"; done; echo
  printf '| after issuing them |'
  for s in "${SERVERS[@]}"; do printf ' %s |' "$(mib "${MEM[$s,rss_after_tokens]:-0}")"; done; echo
  printf '| token run |'
  for s in "${SERVERS[@]}"; do printf ' %s |' "${MEM[$s,tokens_run]:-}"; done; echo
  printf '| after the client_credentials run (all of its tokens, JWT) |'
  for s in "${SERVERS[@]}"; do printf ' %s |' "$(mib "${MEM[$s,rss_after_cc]:-0}")"; done; echo
  printf '| before the login flood |'
  for s in "${SERVERS[@]}"; do [ -n "${MEM[$s,rss_before_login]:-}" ] && printf ' %s |' "$(mib "${MEM[$s,rss_before_login]}")" || printf ' n/a |'; done; echo
  printf '| peak in the first half of the login flood (warm-up and run, 200 ms samples) |'
  for s in "${SERVERS[@]}"; do [ -n "${MEM[$s,rss_peak_login1]:-}" ] && printf ' %s |' "$(mib "${MEM[$s,rss_peak_login1]}")" || printf ' n/a |'; done; echo
  printf '| peak in the second half of the login flood |'
  for s in "${SERVERS[@]}"; do [ -n "${MEM[$s,rss_peak_login2]:-}" ] && printf ' %s |' "$(mib "${MEM[$s,rss_peak_login2]}")" || printf ' n/a |'; done; echo
  printf '| after the login flood |'
  for s in "${SERVERS[@]}"; do [ -n "${MEM[$s,rss_after_login]:-}" ] && printf ' %s |' "$(mib "${MEM[$s,rss_after_login]}")" || printf ' n/a |'; done; echo
  printf '| process peak (VmHWM) at the end |'
  for s in "${SERVERS[@]}"; do printf ' %s |' "$(mib "${MEM[$s,hwm]:-0}")"; done; echo
  echo
  echo "oidc-provider introspection of its own JWT access token answered: $(cat "$OUT/oidc-provider-introspect_jwt.answer")"
} | tee "$OUT/report.md"
log "raw wrk output and server logs: $OUT"
