#!/usr/bin/env bash
# Times rescoring every lead after a scoring model change, over N leads with T touchpoints each,
# on SQLite and on PostgreSQL, against reading the same rows alone in the same run (see
# bench/src/bin/rescore.rs). Writes bench/results-rescore.md.
#
# Usage: bench/rescore.sh [leads] [touches per lead] [postgres admin url]
set -euo pipefail
cd "$(dirname "$0")/.."

LEADS="${1:-100000}"
TOUCHES="${2:-10}"
PG_ADMIN="${3:-postgres://postgres@127.0.0.1:5432/postgres}"

cargo build --release --locked -p touchbase-bench --bin rescore
BIN="${CARGO_TARGET_DIR:-target}/release/rescore"
work="$(mktemp -d)"
database="tb_bench_rescore_$$"
trap 'psql "$PG_ADMIN" -qc "drop database if exists $database with (force)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

sqlite="$("$BIN" "sqlite://$work/rescore.db?mode=rwc" "$LEADS" "$TOUCHES")"
psql "$PG_ADMIN" -qc "create database $database"
postgres="$("$BIN" "${PG_ADMIN%/*}/$database" "$LEADS" "$TOUCHES")"

python3 - "$LEADS" "$TOUCHES" "$sqlite" "$postgres" <<'PY' | tee bench/results-rescore.md
import json, sys
leads, touches = int(sys.argv[1]), int(sys.argv[2])
print(f"# Rescoring {leads:,} leads with {leads * touches:,} touchpoints after a model change\n")
print(f"Command: `bench/rescore.sh {leads} {touches}`. Each lead has {touches} verified touches (opens, clicks,")
print("deliveries, forms, calls, meetings, bounces; a few in the last three weeks, the rest over the")
print("year). Every lead is scored once under the default model; then the model changes (a territory")
print("rule, the half-life from 30 to 14 days) and every lead is rescored under it, a chunk of 1,000")
print("per transaction, as an admin's change does in the background. The baseline reads the same")
print("rows (every lead, every touch) with two plain queries in the same process. Peak RSS is the")
print("process's from just before the rescoring (the seeding's peak is reset).\n")
print("| Store | First scoring | After the change | Read alone | Change ÷ read | Moved forward | Peak RSS |")
print("|---|---|---|---|---|---|---|")
for store, raw in (("SQLite", sys.argv[3]), ("PostgreSQL", sys.argv[4])):
    r = json.loads(raw)
    print(f"| {store} | {r['first_s']:.1f} s | {r['changed_s']:.1f} s | {r['read_s']:.1f} s | "
          f"{r['ratio']:.1f}× | {r['moved_forward']:,} | {r['peak_rss_mb']:.0f} MB |")
PY
