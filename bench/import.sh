#!/usr/bin/env bash
# Imports a generated dirty CSV of N leads (fixed seed, known defects: see
# bench/src/bin/import.rs) on SQLite and on PostgreSQL through the import job the server and the
# CLI run, and checks that every row is accounted for with the outcome its defect calls for.
# Writes bench/results-import.md.
#
# Usage: bench/import.sh [rows] [postgres admin url]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-100000}"
PG_ADMIN="${2:-postgres://postgres@127.0.0.1:5432/postgres}"

cargo build --release --locked -p touchbase-bench --bin import
BIN="${CARGO_TARGET_DIR:-target}/release/import"
work="$(mktemp -d)"
database="tb_bench_import_$$"
trap 'psql "$PG_ADMIN" -qc "drop database if exists $database with (force)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

sqlite="$("$BIN" "sqlite://$work/import.db?mode=rwc" "$ROWS")"
psql "$PG_ADMIN" -qc "create database $database"
postgres="$("$BIN" "${PG_ADMIN%/*}/$database" "$ROWS")"

python3 - "$ROWS" "$sqlite" "$postgres" <<'PY' | tee bench/results-import.md
import json, sys
rows = int(sys.argv[1])
runs = (("SQLite", json.loads(sys.argv[2])), ("PostgreSQL", json.loads(sys.argv[3])))
print(f"# Importing a dirty CSV of {rows:,} leads\n")
print(f"Command: `bench/import.sh {rows}`. The file is generated with a fixed seed: 75 % clean rows")
print("(phones in six notations, status and stage labels in any case), 5 % bad emails, 5 % numbers")
print("that are not phones, 8 % near-duplicates of an earlier row's email (upper case, padded),")
print("4 % unknown status labels, 3 % rows with nothing that identifies a lead. It is imported")
print("through the job the server and the CLI run: stored as rows, then worked in batches of 200")
print("in one transaction each, every lead validated by the lead service, scored and assigned.")
print("Time and peak RSS cover storing and working the whole file, in one process.\n")
print("| Store | Rows/s | Total | Storing the file | Peak RSS | Rows reported | Outcomes add up |")
print("|---|---|---|---|---|---|---|")
for store, r in runs:
    ok = "yes" if r["accounted_for"] == r["rows"] == r["reported"] else "NO"
    print(f"| {store} | {r['rows_per_s']:,.0f} | {r['total_s']:.1f} s | {r['stored_s']:.1f} s | "
          f"{r['peak_rss_mb']:.0f} MB | {r['reported']:,} | {ok} |")
print("\nEvery row by the defect it was generated with (rows ending in the outcome and field the")
print("defect calls for / rows of the class):\n")
print("| Defect class | Expected | SQLite | PostgreSQL |")
print("|---|---|---|---|")
expected = {"clean (phones in 6 notations)": "created", "bad email": "refused, email",
            "bad phone": "refused, phone", "near-duplicate email": "skipped, email",
            "unknown status label": "refused, status", "blank required fields": "refused, input"}
by_store = [{c["class"]: c for c in r["classes"]} for _, r in runs]
for name in expected:
    cells = [f"{s[name]['as_expected']:,} / {s[name]['rows']:,}" if name in s else "-" for s in by_store]
    print(f"| {name} | {expected[name]} | {cells[0]} | {cells[1]} |")
PY
