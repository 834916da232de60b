#!/usr/bin/env bash
# Installs what building and testing printrig needs beyond the Rust toolchain. Idempotent:
# run it on a fresh machine or again at any time.
#
# The core needs no system packages: patterns, ESC/POS, the simulated printer and scanner
# and the analysis are pure Rust. The toolchain's own components are checked, and Debian's
# sane-utils (`scanimage`, driven by the SANE scanner backend and its tests) is installed
# when it is missing.
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

# SANE's scanimage: the real scanner driver and its tests run it (with the `test` backend).
if ! command -v scanimage >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: scanimage is missing and there is no apt-get: install SANE's scanimage (sane-utils) by hand" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "setup: installing sane-utils needs root, and sudo is missing" >&2
      exit 1
    fi
  fi
  echo "setup: installing sane-utils (scanimage)" >&2
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sane-utils
  command -v scanimage >/dev/null 2>&1 || {
    echo "setup: sane-utils installed but scanimage is still not on PATH" >&2
    exit 1
  }
fi
