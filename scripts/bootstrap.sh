#!/usr/bin/env bash
# Create .venv and install RigBot into it: on first use, and again whenever
# pyproject.toml changes. Called by ./rigbot and ./run-tests.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.rigbot-installed
want=$(sha256sum pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "Setting up .venv (first run; later runs skip this)..." >&2
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q -U pip >&2
# torch first and pinned: this CPU build installs from local disk, while an unpinned
# torch (asked for by sentence-transformers) would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "${RIGBOT_TORCH_SPEC:-torch==2.13.0}" >&2
echo "Installing dependencies; llama-cpp-python compiles from source the first time (~6 min on 2 cores)." >&2
.venv/bin/python -m pip install -q -e ".[dev]" >&2
echo "$want" > "$stamp"
