#!/usr/bin/env bash
# Everything CI checks, in order of cost: formatting, lints, docs, then every test with the
# real models required (a missing model fails the run instead of skipping tests), then the
# browser tests in Debian's Chromium (page-level against a fixture, end-to-end against the real
# binary; .ci/run installs chromium).
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
# The storage tests run on SQLite and on PostgreSQL: a cluster of Debian's postgresql (.ci/run
# installs it) is started here unless TEST_POSTGRES_URL names a server already.
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  TEST_POSTGRES_URL="$(bash scripts/postgres.sh)"
  export TEST_POSTGRES_URL
fi
case "$TEST_POSTGRES_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "[test] TEST_POSTGRES_URL is not a postgres:// URL: '$TEST_POSTGRES_URL'" >&2; exit 1 ;;
esac
REQUIRE_VERIFIER_MODELS=1 REQUIRE_VERIFIER_POSTGRES=1 cargo test --workspace --locked
echo "[test] browser tests (tests/browser, Chromium and WebKit)"
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  echo "[test] ${CHROMIUM_BIN:-/usr/bin/chromium} is missing: apt-get install -y chromium" >&2
  exit 1
fi
if [ ! -x "${WEBKIT_DRIVER_BIN:-/usr/bin/WebKitWebDriver}" ] || ! command -v Xvfb >/dev/null; then
  echo "[test] WebKit is missing: apt-get install -y webkit2gtk-driver xvfb" >&2
  exit 1
fi
# The end-to-end tests run these binaries and build nothing themselves.
cargo build --locked --quiet -p verifier -p datasets-synthetic --bins
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && REQUIRE_VERIFIER_E2E=1 node --test)
