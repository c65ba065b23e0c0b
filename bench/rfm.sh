#!/usr/bin/env bash
# Times a full RFM recompute over N paying accounts on SQLite and on PostgreSQL, against reading
# the same purchase rows alone in the same run (see bench/src/bin/rfm.rs). Writes
# bench/results-rfm.md.
#
# Usage: bench/rfm.sh [accounts] [postgres admin url]
set -euo pipefail
cd "$(dirname "$0")/.."

ACCOUNTS="${1:-100000}"
PG_ADMIN="${2:-postgres://postgres@127.0.0.1:5432/postgres}"

cargo build --release --locked -p touchbase-bench --bin rfm
BIN="${CARGO_TARGET_DIR:-target}/release/rfm"
work="$(mktemp -d)"
database="tb_bench_rfm_$$"
trap 'psql "$PG_ADMIN" -qc "drop database if exists $database with (force)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

sqlite="$("$BIN" "sqlite://$work/rfm.db?mode=rwc" "$ACCOUNTS")"
psql "$PG_ADMIN" -qc "create database $database"
postgres="$("$BIN" "${PG_ADMIN%/*}/$database" "$ACCOUNTS")"

python3 - "$ACCOUNTS" "$sqlite" "$postgres" <<'PY' | tee bench/results-rfm.md
import json, sys
accounts = sys.argv[1]
print(f"# RFM recompute over {int(accounts):,} paying accounts\n")
print("Command: `bench/rfm.sh " + accounts + "`. Each account has one to five Stripe payments, a")
print("third of them reported twice (invoice and charge); a recompute counts each once and")
print("scores every account. The first run also moves every account from prospect to customer")
print("through the record lifecycle (audit row and transition each); the second is the steady")
print("hourly run. The baseline reads the same payment rows with one query, in the same process.")
print("Peak RSS is the whole process's, the seeding's included.\n")
print("| Store | Payment rows | First run | Hourly run | Read alone | Hourly ÷ read | Peak RSS |")
print("|---|---|---|---|---|---|---|")
for store, raw in (("SQLite", sys.argv[2]), ("PostgreSQL", sys.argv[3])):
    r = json.loads(raw)
    print(f"| {store} | {r['payment_rows']:,} | {r['recompute_s']:.1f} s | {r['again_s']:.1f} s | "
          f"{r['read_s']:.2f} s | {r['ratio']:.1f}× | {r['peak_rss_mb']:.0f} MB |")
PY
