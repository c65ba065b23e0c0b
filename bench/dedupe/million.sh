#!/usr/bin/env bash
# A million generated people through the linkage engine: time, peak RSS, precision, recall.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release --locked -p linkage --example million
"${CARGO_TARGET_DIR:-target}/release/examples/million" "${1:-1000000}"
