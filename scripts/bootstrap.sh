#!/usr/bin/env bash
# Create .venv and install RigBot into it: on first use, and again whenever
# pyproject.toml, constraints.txt or these scripts change. Called by ./rigbot and ./run-tests.
# Installs the tested versions from constraints.txt, then links llama.cpp's llama-server
# (built once per machine and cached in ~/.cache/rigbot) into .venv/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.rigbot-installed
want=$(sha256sum pyproject.toml constraints.txt scripts/bootstrap.sh scripts/build_llama_server.sh \
  | sha256sum | cut -c1-16)
need_server=1
# an external server (RIGBOT_LLM_URL) or a binary of your own needs no build
[ -n "${RIGBOT_LLAMA_SERVER_BIN:-}${RIGBOT_LLM_URL:-}${RIGBOT_SKIP_LLAMA_SERVER_BUILD:-}" ] && need_server=0
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && { [ "$need_server" = 0 ] || [ -x .venv/bin/llama-server ]; }; then
  exit 0
fi
echo "Setting up .venv (first run; later runs skip this)..." >&2
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q -U pip >&2
# torch first and pinned: this CPU build installs from local disk, while an unpinned
# torch (asked for by sentence-transformers) would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "${RIGBOT_TORCH_SPEC:-torch==2.13.0}" >&2
echo "Installing dependencies (tested versions from constraints.txt)..." >&2
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]" >&2
if [ "$need_server" = 1 ]; then
  # cached per CPU: the first build takes several minutes on 2 cores, later clones reuse it
  scripts/build_llama_server.sh --link .venv/bin/llama-server
fi
echo "$want" > "$stamp"
