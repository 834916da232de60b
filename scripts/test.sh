#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh, idempotent), then runs
# the whole suite. Arguments go to `cargo test` (a filter, `--no-fail-fast`, …).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo test "$@"
