#!/usr/bin/env bash
# Times the inbox worker with the sales engine (scoring, MQL/SQL moves, assigning new leads) off
# and on, alternating off, on, off, on in one process per store, over batches of N signed
# deliveries (see bench/src/bin/engine.rs). Writes bench/results-engine.md.
#
# Usage: bench/engine.sh [deliveries per pass] [postgres admin url]
set -euo pipefail
cd "$(dirname "$0")/.."

DELIVERIES="${1:-5000}"
PG_ADMIN="${2:-postgres://postgres@127.0.0.1:5432/postgres}"

cargo build --release --locked -p touchbase-bench --bin engine
BIN="${CARGO_TARGET_DIR:-target}/release/engine"
work="$(mktemp -d)"
database="tb_bench_engine_$$"
trap 'psql "$PG_ADMIN" -qc "drop database if exists $database with (force)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

sqlite="$("$BIN" "sqlite://$work/engine.db?mode=rwc" "$DELIVERIES")"
psql "$PG_ADMIN" -qc "create database $database"
postgres="$("$BIN" "${PG_ADMIN%/*}/$database" "$DELIVERIES")"

python3 - "$DELIVERIES" "$sqlite" "$postgres" <<'PY' | tee bench/results-engine.md
import json, sys
deliveries = sys.argv[1]
stores = (("SQLite", json.loads(sys.argv[2])), ("PostgreSQL", json.loads(sys.argv[3])))
workers = stores[0][1]["workers"]
print(f"# Inbox worker with the sales engine off and on, {int(deliveries):,} deliveries a pass\n")
print("Command: `bench/engine.sh " + deliveries + "`. One process per store seeds four sales reps")
print("in a team, three assignment rules (two territory rules, then round robin over the team),")
print("the default scoring model and 1,000 owned, scored leads with five email touches each. Then")
print("four passes, engine off, on, off, on: each stores a fresh batch of signed deliveries through")
print("intake (as the hook route does, not timed) and times " + str(workers) + " workers (the server's default)")
print("draining it. Of every 20 deliveries, six come from new people (web forms, Stripe customers,")
print("product sign-ups: a lead is created) and fourteen touch existing leads (email opens and")
print("clicks, calls, booked meetings). Engine on, each touch also rescores its lead and moves it to")
print("MQL or SQL where the model says so, and each new lead is assigned by the rules (owner, follow-up")
print("task, assignment record). Events/s is deliveries processed per second of draining; the")
print("ratio is on ÷ off within a round. Peak RSS is the whole process's.\n")
print("| Store | Round | Off (events/s) | On (events/s) | On ÷ off | Peak RSS |")
print("|---|---|---|---|---|---|")
for store, r in stores:
    passes = r["passes"]
    for round_ in range(len(passes) // 2):
        off, on = passes[2 * round_], passes[2 * round_ + 1]
        print(f"| {store} | {round_ + 1} | {off['events_per_s']:.0f} | {on['events_per_s']:.0f} | "
              f"{r['ratios'][round_]:.2f}× | {r['peak_rss_mb']:.0f} MB |")
PY
