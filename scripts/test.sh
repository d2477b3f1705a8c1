#!/usr/bin/env bash
# Everything CI checks, in order of cost: formatting, lints, docs, then every test with the
# real models required (a missing model fails the run instead of skipping tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "[test] cargo fmt --check"
cargo fmt --all --check
echo "[test] cargo clippy"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
echo "[test] cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "[test] cargo test"
REQUIRE_VERIFIER_MODELS=1 cargo test --workspace --locked
