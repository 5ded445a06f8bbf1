#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` from the llama.cpp that is vendored in the pinned
# llama-cpp-python sdist (same llama.cpp as the Python bindings), and cache it outside the
# repository, keyed by this CPU's feature flags, the compiler and the cmake arguments:
#   ~/.cache/rigbot/llama-server-<version>-<key>/bin/llama-server
# A clean clone on the same machine reuses the binary; another CPU (a native build is not
# portable) or other cmake arguments build a new one.
#
# Usage: scripts/build_llama_server.sh [--link PATH] [--print-path] [--if-cached]
#   --link PATH    make PATH a symlink to the cached binary (bootstrap: .venv/bin/llama-server)
#   --print-path   print the binary's path on stdout (the only stdout output)
#   --if-cached    only link/print a binary already built; exit 3 when there is none
#                  (bootstrap then builds in the background)
# While it builds it holds an flock on $cache/llama-server-<version>.lock: a second build
# waits for the first, and RigBot reads it to tell a knowledge question that the model
# server is still being built (knowledge/llm_server.py build_in_progress; the compile's
# own progress is read from $cache/llama-server-*.tmp.*.build.log).
# Environment:
#   LLAMA_CPP_VERSION   llama-cpp-python version whose sdist is used (default: the pin in
#                       constraints.txt, else 0.3.36)
#   LLAMA_CPP_SDIST_DIR an unpacked sdist to use instead of `pip download`
#   RIGBOT_CACHE_DIR    cache root (default ~/.cache/rigbot)
#   RIGBOT_BUILD_JOBS   parallel compile jobs (default: nproc)
#   RIGBOT_CMAKE_EXTRA  extra cmake arguments (e.g. -DGGML_CUDA=ON); part of the cache key
set -euo pipefail
cd "$(dirname "$0")/.."

link=""
print_path=0
if_cached=0
while [ $# -gt 0 ]; do
  case "$1" in
    --link) link="$2"; shift 2 ;;
    --print-path) print_path=1; shift ;;
    --if-cached) if_cached=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

pinned=$(sed -n 's/^llama[-_]cpp[-_]python==\([^ ;]*\).*/\1/p' constraints.txt 2>/dev/null | head -1 || true)
version="${LLAMA_CPP_VERSION:-${pinned:-0.3.36}}"
cache="${RIGBOT_CACHE_DIR:-$HOME/.cache/rigbot}"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] && python=.venv/bin/python

# No network at run time, no web UI, no HTTPS (the server listens on loopback or behind a
# proxy), a static binary so the cache entry is self-contained.
cmake_args=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DLLAMA_CURL=OFF
  -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
)
# shellcheck disable=SC2206
[ -n "${RIGBOT_CMAKE_EXTRA:-}" ] && cmake_args+=(${RIGBOT_CMAKE_EXTRA})

cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || sysctl -n machdep.cpu.features 2>/dev/null || uname -m)
compiler=$(c++ --version 2>/dev/null | head -1 || echo none)
key=$(printf '%s\n%s\n%s\n' "$cpu_flags" "$compiler" "${cmake_args[*]}" | sha256sum | cut -c1-12)
dest="$cache/llama-server-$version-$key"
bin="$dest/bin/llama-server"

finish() {
  if [ -n "$link" ]; then
    mkdir -p "$(dirname "$link")"
    ln -sfn "$bin" "$link"
  fi
  [ "$print_path" = 1 ] && echo "$bin"
  exit 0
}

if [ -x "$bin" ]; then
  echo "llama-server $version (cached, key $key): $bin" >&2
  finish
fi
[ "$if_cached" = 1 ] && exit 3

mkdir -p "$cache"
exec 9>"$cache/llama-server-$version.lock"
flock 9   # a second bootstrap on the same machine waits for the first build
[ -x "$bin" ] && finish

src="${LLAMA_CPP_SDIST_DIR:-}"
if [ -z "$src" ]; then
  src="$cache/src/llama_cpp_python-$version"
  if [ ! -f "$src/vendor/llama.cpp/CMakeLists.txt" ]; then
    echo "Fetching the llama-cpp-python $version sdist (for its vendored llama.cpp)..." >&2
    tmp=$(mktemp -d)
    "$python" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==$version" >&2
    mkdir -p "$cache/src"
    tar -xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$cache/src"
    rm -rf "$tmp"
  fi
fi
llama="$src/vendor/llama.cpp"
[ -f "$llama/CMakeLists.txt" ] || { echo "no llama.cpp source at $llama" >&2; exit 1; }

jobs="${RIGBOT_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
work="$dest.tmp.$$"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
echo "Building llama-server $version for this CPU (key $key, $jobs jobs; several minutes on 2 cores)..." >&2
start=$(date +%s)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$llama" -B "$work/build" "${generator[@]}" "${cmake_args[@]}" >"$work.cmake.log" 2>&1 \
  || { cat "$work.cmake.log" >&2; exit 1; }
cmake --build "$work/build" --target llama-server -j "$jobs" >"$work.build.log" 2>&1 \
  || { tail -50 "$work.build.log" >&2; exit 1; }
seconds=$(( $(date +%s) - start ))
mkdir -p "$work/bin"
cp "$work/build/bin/llama-server" "$work/bin/llama-server"
{
  echo "version=$version"
  echo "key=$key"
  echo "build_seconds=$seconds"
  echo "jobs=$jobs"
  echo "compiler=$compiler"
  echo "cmake_args=${cmake_args[*]}"
  echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$work/BUILD_INFO"
rm -rf "$work/build" "$work.cmake.log" "$work.build.log"
mv "$work" "$dest"
trap - EXIT
echo "Built llama-server in ${seconds}s: $bin" >&2
finish
