#!/usr/bin/env bash
# Benchmarks the gateway against raw-SQL baselines served by the same process on the same pool,
# on SQLite and on PostgreSQL: lead by id, 20 leads with owner and 5 touchpoints each, and
# signed Stripe webhooks acknowledged (verified and stored); then how fast the inbox worker
# processes what was stored. Needs wrk (Debian: `apt-get install wrk`). Writes bench/results.md.
#
# Usage: bench/run.sh [seconds per measurement] [postgres admin url]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
PG_ADMIN="${2:-postgres://postgres@127.0.0.1:5432/postgres}"
CONNECTIONS=16
THREADS=2

cargo build --release --locked -p touchbase-bench
BIN="${CARGO_TARGET_DIR:-target}/release/touchbase-bench"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

LEAD_QUERY='query($id: ID!) { lead(id: $id) { id email company status } }'
NESTED_QUERY='{ leads(first: 20) { edges { node { owner { name } touchpoints(first: 5) { edges { node { channel } } } } } } }'

# Prints "req/s p50 p99" from wrk's --latency output. With a body it POSTs GraphQL (TOKEN set);
# with "hooks" it POSTs the pre-signed webhooks of $REQUESTS; without either it GETs the baseline.
measure() {
  local url="$1" body="${2:-}" script=()
  if [ "$body" = hooks ]; then
    script=(-s bench/hooks.lua)
    body=""
    REQUESTS="$work/warmup.tsv" THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${script[@]}" "$url" > /dev/null
  else
    [ -n "$body" ] && script=(-s bench/graphql.lua)
    BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${script[@]}" "$url" > /dev/null # warm-up
  fi
  THREADS="$THREADS" BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "$url" > "$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
if re.search(r"Non-2xx or 3xx responses", text):
    sys.exit("wrk saw error responses:\n" + text)
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
def pct(p):
    value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(\w+)", text, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print(f"{float(rps):.0f} {pct(50):.2f} {pct(99):.2f}")
PY
}

run_store() {
  local store="$1" url="$2"
  "$BIN" "$url" 127.0.0.1:0 > "$work/server.out" 2> "$work/server.err" &
  server=$!
  for _ in $(seq 600); do [ -s "$work/server.out" ] && break; sleep 0.2; done
  local ready token lead addr connector secret
  ready="$(head -1 "$work/server.out")"
  field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ready" "$1"; }
  token="$(field token)"; lead="$(field lead_id)"; addr="$(field addr)"
  connector="$(field connector_id)"; secret="$(field stripe_secret)"
  # More signed events than a run can send, so none repeats; the warm-up has its own.
  python3 bench/sign_stripe.py "$secret" 200000 0 > "$work/requests.tsv"
  python3 bench/sign_stripe.py "$secret" 40000 50000000 > "$work/warmup.tsv"
  local lead_body nested_body
  lead_body="$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"id": sys.argv[2]}}))' "$LEAD_QUERY" "$lead")"
  nested_body="$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$NESTED_QUERY")"

  export TOKEN="$token"
  local g1 g1p50 g1p99 b1 b1p50 b1p99 g2 g2p50 g2p99 b2 b2p50 b2p99 result
  result="$(measure "http://$addr/graphql" "$lead_body")"; read -r g1 g1p50 g1p99 <<< "$result"
  result="$(measure "http://$addr/baseline/lead/$lead")"; read -r b1 b1p50 b1p99 <<< "$result"
  result="$(measure "http://$addr/graphql" "$nested_body")"; read -r g2 g2p50 g2p99 <<< "$result"
  result="$(measure "http://$addr/baseline/leads")"; read -r b2 b2p50 b2p99 <<< "$result"
  export REQUESTS="$work/requests.tsv"
  local g3 g3p50 g3p99 b3 b3p50 b3p99 drained processed seconds
  result="$(measure "http://$addr/hooks/$connector" hooks)"; read -r g3 g3p50 g3p99 <<< "$result"
  result="$(measure "http://$addr/baseline/hooks/$connector" hooks)"; read -r b3 b3p50 b3p99 <<< "$result"
  drained="$(curl -sf -X POST "http://$addr/bench/drain")"
  processed="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["processed"])' "$drained")"
  seconds="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$drained")"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""

  printf '| %s | lead by id | %s | %s / %s | %s | %s / %s | %s |\n' "$store" "$g1" "$g1p50" "$g1p99" "$b1" "$b1p50" "$b1p99" \
    "$(python3 -c "print(f'{$g1/$b1:.2f}')")" >> "$work/rows"
  printf '| %s | 20 leads × 5 touchpoints | %s | %s / %s | %s | %s / %s | %s |\n' "$store" "$g2" "$g2p50" "$g2p99" "$b2" "$b2p50" "$b2p99" \
    "$(python3 -c "print(f'{$g2/$b2:.2f}')")" >> "$work/rows"
  printf '| %s | webhook acknowledged (verify + store) | %s | %s / %s | %s | %s / %s | %s |\n' "$store" "$g3" "$g3p50" "$g3p99" "$b3" "$b3p50" "$b3p99" \
    "$(python3 -c "print(f'{$g3/$b3:.2f}')")" >> "$work/rows"
  printf '| %s | %s deliveries processed by the worker | %s events/s | | | | %s |\n' "$store" "$processed" \
    "$(python3 -c "print(f'{$processed/$seconds:.0f}')")" "$(python3 -c "print(f'{$processed/$seconds/$b3:.2f}')")" >> "$work/rows"
}

: > "$work/rows"
run_store SQLite "sqlite://$work/bench.db?mode=rwc"
psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS touchbase_bench WITH (FORCE)' -c 'CREATE DATABASE touchbase_bench'
run_store PostgreSQL "${PG_ADMIN%/*}/touchbase_bench"
psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS touchbase_bench WITH (FORCE)'

{
  echo "Measured $(date -u +%Y-%m-%d) with wrk, $CONNECTIONS connections, $THREADS threads, ${DURATION} s per case after a 2 s warm-up,"
  echo "1,000 leads with 5 touchpoints each; server, database and load generator share the machine ($(nproc) cores)."
  echo "Latencies in ms. Ratio = Touchbase req/s ÷ baseline req/s, both measured in the same run. The webhook"
  echo "baseline is the bare INSERT of the stored request; the worker's ratio is events processed per second ÷ that"
  echo "baseline's inserts per second (each event: find or create the lead, touchpoint, attribution, audit rows)."
  echo
  echo "| Store | Case | Touchbase req/s | p50 / p99 | Baseline req/s | p50 / p99 | Ratio |"
  echo "|---|---|---|---|---|---|---|"
  cat "$work/rows"
} | tee bench/results.md
