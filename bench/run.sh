#!/usr/bin/env bash
# Benchmarks the GraphQL gateway against a raw-SQL baseline served by the same process on the
# same pool, on SQLite and on PostgreSQL: lead by id, and 20 leads with owner and 5 touchpoints
# each. Needs wrk (Debian: `apt-get install wrk`). Writes bench/results.md.
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
# without one it GETs the baseline.
measure() {
  local url="$1" body="${2:-}" script=()
  [ -n "$body" ] && script=(-s bench/graphql.lua)
  BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${script[@]}" "$url" > /dev/null # warm-up
  BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "$url" > "$work/wrk.out"
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
  local ready token lead addr
  ready="$(head -1 "$work/server.out")"
  token="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$ready")"
  lead="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["lead_id"])' "$ready")"
  addr="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["addr"])' "$ready")"
  local lead_body nested_body
  lead_body="$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"id": sys.argv[2]}}))' "$LEAD_QUERY" "$lead")"
  nested_body="$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$NESTED_QUERY")"

  export TOKEN="$token"
  local g1 g1p50 g1p99 b1 b1p50 b1p99 g2 g2p50 g2p99 b2 b2p50 b2p99 result
  result="$(measure "http://$addr/graphql" "$lead_body")"; read -r g1 g1p50 g1p99 <<< "$result"
  result="$(measure "http://$addr/baseline/lead/$lead")"; read -r b1 b1p50 b1p99 <<< "$result"
  result="$(measure "http://$addr/graphql" "$nested_body")"; read -r g2 g2p50 g2p99 <<< "$result"
  result="$(measure "http://$addr/baseline/leads")"; read -r b2 b2p50 b2p99 <<< "$result"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""

  printf '| %s | lead by id | %s | %s / %s | %s | %s / %s | %s |\n' "$store" "$g1" "$g1p50" "$g1p99" "$b1" "$b1p50" "$b1p99" \
    "$(python3 -c "print(f'{$g1/$b1:.2f}')")" >> "$work/rows"
  printf '| %s | 20 leads × 5 touchpoints | %s | %s / %s | %s | %s / %s | %s |\n' "$store" "$g2" "$g2p50" "$g2p99" "$b2" "$b2p50" "$b2p99" \
    "$(python3 -c "print(f'{$g2/$b2:.2f}')")" >> "$work/rows"
}

: > "$work/rows"
run_store SQLite "sqlite://$work/bench.db?mode=rwc"
psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS touchbase_bench WITH (FORCE)' -c 'CREATE DATABASE touchbase_bench'
run_store PostgreSQL "${PG_ADMIN%/*}/touchbase_bench"
psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS touchbase_bench WITH (FORCE)'

{
  echo "Measured $(date -u +%Y-%m-%d) with wrk, $CONNECTIONS connections, $THREADS threads, ${DURATION} s per case after a 2 s warm-up,"
  echo "1,000 leads with 5 touchpoints each; server, database and load generator share the machine ($(nproc) cores)."
  echo "Latencies in ms. Ratio = Touchbase req/s ÷ baseline req/s, both measured in the same run."
  echo
  echo "| Store | Case | Touchbase req/s | p50 / p99 | Baseline req/s | p50 / p99 | Ratio |"
  echo "|---|---|---|---|---|---|---|"
  cat "$work/rows"
} | tee bench/results.md
