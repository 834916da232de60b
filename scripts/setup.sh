#!/usr/bin/env bash
# Installs what building and testing printrig needs beyond the Rust toolchain. Idempotent:
# run it on a fresh machine or again at any time.
#
# The core needs no system packages: patterns, ESC/POS, the simulated printer and scanner
# and the analysis are pure Rust. The toolchain's own components are checked, and the
# programs the tests drive are installed from Debian's packages when they are missing:
# `scanimage` (sane-utils; the SANE scanner backend and its tests), `python3` (the tests'
# raw-socket clients), its `yaml` module (python3-yaml; the CI examples' check) and `kill`
# (procps; the tests that interrupt a run), `zbarimg` (zbar-tools; the barcode reader that
# reads the simulated printer's barcodes and QR codes back) and Python's venv module
# (python3-venv). Last, the virtual environment `.venv` gets python-escpos from PyPI: the
# POS client whose receipts the simulated printer's tests print.
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

# Programs the tests run, and the Debian package of each.
wanted=(scanimage:sane-utils python3:python3 kill:procps zbarimg:zbar-tools)
packages=()
for w in "${wanted[@]}"; do
  command -v "${w%%:*}" >/dev/null 2>&1 || packages+=("${w#*:}")
done
# Python modules the tests import, and the Debian package of each (`yaml`: the CI
# examples in docs/ci/ are parsed by a test).
pymods=(yaml:python3-yaml ensurepip:python3-venv)
for m in "${pymods[@]}"; do
  python3 -c "import ${m%%:*}" >/dev/null 2>&1 || packages+=("${m#*:}")
done
if [ ${#packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${packages[*]} and there is no apt-get: install them by hand" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "setup: installing ${packages[*]} needs root, and sudo is missing" >&2
      exit 1
    fi
  fi
  echo "setup: installing ${packages[*]}" >&2
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
  for w in "${wanted[@]}"; do
    command -v "${w%%:*}" >/dev/null 2>&1 || {
      echo "setup: ${w#*:} installed but ${w%%:*} is still not on PATH" >&2
      exit 1
    }
  done
  for m in "${pymods[@]}"; do
    python3 -c "import ${m%%:*}" >/dev/null 2>&1 || {
      echo "setup: ${m#*:} installed but python3 cannot import ${m%%:*}" >&2
      exit 1
    }
  done
fi

# The POS client for the simulated printer's tests, in a virtual environment of its own
# (git-ignored), pinned so that every machine builds the same receipts.
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
if ! "$venv/bin/python" -c "import escpos, PIL" >/dev/null 2>&1; then
  echo "setup: installing python-escpos into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "python-escpos==3.1"
  "$venv/bin/python" -c "import escpos, PIL" || {
    echo "setup: python-escpos installed but $venv cannot import it" >&2
    exit 1
  }
fi
