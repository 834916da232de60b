#!/usr/bin/env bash
# Installs what building and testing printrig needs beyond the Rust toolchain. Idempotent:
# run it on a fresh machine or again at any time.
#
# Today the core needs no system packages: patterns, ESC/POS, the simulated printer and
# scanner and the analysis are pure Rust. Only the toolchain's own components are checked.
set -euo pipefail
missing=()
command -v cargo >/dev/null 2>&1 || missing+=(cargo)
cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v rustup >/dev/null 2>&1 && [ "${missing[*]}" != cargo ]; then
    rustup component add rustfmt clippy
  else
    echo "setup: missing ${missing[*]}: install the Rust toolchain (rustup) first" >&2
    exit 1
  fi
fi
