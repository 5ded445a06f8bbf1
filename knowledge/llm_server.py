"""The embedded model server: llama.cpp's own `llama-server`, a supervised child process
on loopback.

Why a child process: a crash in native code (the AMX repack segfault of
ggml-org/llama.cpp#20824, an OOM kill) ends the child, not the bot; the supervisor
tells the waiting user and starts a new child with back-off. Why `llama-server`
rather than llama-cpp-python's `llama_cpp.server`: parallel slots with continuous
batching, prompt-prefix caching, separate prefill and decode thread counts, /health,
/props and /metrics, and `--no-repack`; `llama_cpp.server` runs one request at a time.
It is built from the llama.cpp vendored in the pinned llama-cpp-python sdist
(scripts/build_llama_server.sh), so both run the same llama.cpp.

No child outlives RigBot: it runs in its own process group, is asked to die with its
parent (PR_SET_PDEATHSIG on Linux), and is stopped on close, at exit and on SIGTERM."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from knowledge.llm_client import Endpoint, LlmUnavailable, httpx

log = logging.getLogger(__name__)

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")


# choices (pure functions, unit-tested) -------------------------------------------------
def has_amx(cpu_flags: str) -> bool:
    """Whether a /proc/cpuinfo `flags` line lists Intel AMX."""
    words = set(cpu_flags.split())
    return any(flag in words for flag in AMX_FLAGS)


def repack_choice(cpu_flags: str, amx_repack: bool | None) -> tuple[bool, str]:
    """(pass --no-repack?, why). On AMX CPUs llama.cpp's repack into the AMX buffer
    crashed in the first decode (ggml-org/llama.cpp#20824), so it is off there unless
    RIGBOT_LLM_AMX_REPACK=1; elsewhere repacking is llama.cpp's default and kept."""
    if amx_repack is True:
        return False, "weight repacking on (RIGBOT_LLM_AMX_REPACK=1)"
    if amx_repack is False:
        return True, "weight repacking off (RIGBOT_LLM_AMX_REPACK=0): --no-repack"
    if has_amx(cpu_flags):
        return True, ("CPU has AMX: --no-repack (the AMX repack path crashed, llama.cpp#20824; "
                      "RIGBOT_LLM_AMX_REPACK=1 turns it back on)")
    return False, "CPU has no AMX: llama.cpp's default weight repacking"


def cpu_flags_text() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return line.split(":", 1)[1]
    except OSError:
        pass
    return ""


def thread_candidates() -> list[int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return sorted({1, 2, max(1, cores // 2), cores} & set(range(1, cores + 1)))


def cache_dir() -> Path:
    """Where scripts/build_llama_server.sh keeps its builds (RIGBOT_CACHE_DIR)."""
    return Path(os.environ.get("RIGBOT_CACHE_DIR") or Path.home() / ".cache" / "rigbot")


@dataclass(frozen=True)
class ServerBuild:
    """A llama-server build running now: bootstrap starts one in the background on a new
    machine, so sizing questions need not wait minutes for a compile only knowledge
    questions need."""

    started: float  # time.time() when the build took its lock
    percent: int | None  # compiled so far, from the build's own log; None while fetching/configuring

    @property
    def minutes(self) -> int:
        return max(0, round((time.time() - self.started) / 60))


_BUILD_STEP = re.compile(r"\[\s*(\d+)/(\d+)\]|\[\s*(\d+)%\]")  # ninja "[45/140]", make "[ 32%]"


def build_in_progress(cache: Path | None = None) -> ServerBuild | None:
    """The build scripts/build_llama_server.sh is running now, if any: it holds an
    flock on `llama-server-<version>.lock` in the cache while it builds."""
    import fcntl

    cache = cache or cache_dir()
    for lock in cache.glob("llama-server-*.lock"):
        try:
            with open(lock, "a") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return ServerBuild(started=lock.stat().st_mtime, percent=_build_percent(cache))
                fcntl.flock(f, fcntl.LOCK_UN)
        except OSError:
            continue
    return None


def _build_percent(cache: Path) -> int | None:
    logs = sorted(cache.glob("llama-server-*.tmp.*.build.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return None
    try:
        with open(logs[-1], "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode(errors="replace")
    except OSError:
        return None
    steps = _BUILD_STEP.findall(tail)
    if not steps:
        return None
    done, total, percent = steps[-1]
    return int(percent) if percent else min(99, int(int(done) * 100 / max(1, int(total))))


class LlmBuilding(LlmUnavailable):
    """No model server yet: its build is still running (`build`)."""

    def __init__(self, build: ServerBuild) -> None:
        super().__init__("llama-server is still being built")
        self.build = build


def find_llama_server(configured: Path | str | None = None) -> Path:
    """RIGBOT_LLAMA_SERVER_BIN, else the one bootstrap linked into the venv, else PATH,
    else the newest build in ~/.cache/rigbot."""
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"RIGBOT_LLAMA_SERVER_BIN={path} is not an executable file")
        return path
    venv = Path(sys.prefix) / "bin" / "llama-server"
    if venv.exists() and os.access(venv, os.X_OK):
        return venv
    found = shutil.which("llama-server")
    if found:
        return Path(found)
    cache = cache_dir()
    built = sorted(cache.glob("llama-server-*/bin/llama-server"), key=lambda p: p.stat().st_mtime)
    if built:
        return built[-1]
    raise FileNotFoundError("llama-server not found: run scripts/build_llama_server.sh (bootstrap does), "
                            "or set RIGBOT_LLAMA_SERVER_BIN, or point RIGBOT_LLM_URL at a running server")


@dataclass(frozen=True)
class Engine:
    """What runs the embedded model server: the native llama-server built for this CPU, or
    llama.cpp prebuilt in the `xllamacpp` wheel, run by knowledge/prebuilt_server.py with
    the same command line (the interpreter as binary, `-m knowledge.prebuilt_server` first)."""

    binary: Path
    launcher_args: tuple[str, ...] = ()
    name: str = "native llama-server"

    @property
    def prebuilt(self) -> bool:
        return bool(self.launcher_args)


def prebuilt_engine() -> Engine | None:
    """The prebuilt server, when the xllamacpp package is installed (found, not imported:
    its 106 MB library loads in the child only)."""
    if importlib.util.find_spec("xllamacpp") is None:
        return None
    return Engine(Path(sys.executable), ("-m", "knowledge.prebuilt_server"), "prebuilt llama.cpp (xllamacpp)")


def choose_engine(choice: str = "auto", configured: Path | str | None = None) -> Engine:
    """RIGBOT_LLM_SERVER: `native` is the llama-server built for this CPU
    (scripts/build_llama_server.sh); `prebuilt` is xllamacpp's; `auto` (the default) is
    native when it is built, else prebuilt, so a new machine answers knowledge questions
    while its native build still runs. Raises LlmBuilding when the answer is "not yet"
    (native wanted or no prebuilt, and the build is running), FileNotFoundError when
    there is nothing to run at all."""
    if choice == "prebuilt":
        engine = prebuilt_engine()
        if engine is None:
            raise FileNotFoundError("RIGBOT_LLM_SERVER=prebuilt needs the xllamacpp package "
                                    "(pip install -c constraints.txt xllamacpp)")
        return engine
    try:
        return Engine(find_llama_server(configured))
    except FileNotFoundError:
        if configured:
            raise
        if choice == "auto" and (engine := prebuilt_engine()) is not None:
            return engine
        build = build_in_progress()
        if build is not None:
            raise LlmBuilding(build) from None
        raise


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ServerSpec:
    binary: Path
    model: Path
    n_ctx: int = 2048  # per slot
    slots: int = 1
    threads: int = 1  # decode (-t); RigBot's own server uses the counts measured on this host
    threads_batch: int = 1  # prefill (-tb)
    n_gpu_layers: int = 0
    # None: this host's choice (`repack_choice` on its CPU flags: off on AMX); True/False: the
    # caller decided (RIGBOT_LLM_AMX_REPACK)
    no_repack: bool | None = None
    extra_args: tuple[str, ...] = ()
    # between the binary and the flags: ("-m", "knowledge.prebuilt_server") with the Python
    # interpreter as binary runs the prebuilt xllamacpp server instead of a native build
    launcher_args: tuple[str, ...] = ()

    def command(self, port: int, cpu_flags: str | None = None) -> list[str]:
        """The llama-server command line, with this host's choices applied. Every
        llama-server that RigBot, its benchmarks or its tests start is spawned from this
        (`ServerProcess`), so a server started without a repack choice still gets
        `--no-repack` on an AMX CPU, where the repack path crashes the first decode.
        `cpu_flags`: a /proc/cpuinfo flags line (default: this machine's)."""
        no_repack = self.no_repack
        if no_repack is None:
            no_repack = repack_choice(cpu_flags_text() if cpu_flags is None else cpu_flags, None)[0]
        cmd = [str(self.binary), *self.launcher_args, "-m", str(self.model), "--host", "127.0.0.1", "--port", str(port),
               "-c", str(self.n_ctx * self.slots), "-np", str(self.slots),
               "-t", str(self.threads), "-tb", str(self.threads_batch), "-ngl", str(self.n_gpu_layers),
               "--no-webui", "--metrics", "--no-warmup"]
        if no_repack:
            cmd.append("--no-repack")
        return cmd + list(self.extra_args)


def start_detached(coro_factory, name: str) -> asyncio.Future:
    """Start `coro_factory()` as a task that belongs to no caller: the loop creates it in
    a callback scheduled from another thread, so it inherits no context from the request
    or event handler that asked for it (test harnesses such as simcord track, and wait
    for, every task a handler starts, and would wait on a warm-up or a restart loop).
    Returns a future that resolves to the task."""
    loop = asyncio.get_running_loop()
    created: asyncio.Future = loop.create_future()

    def create() -> None:
        task = loop.create_task(coro_factory(), name=name)
        if created.cancelled():
            task.cancel()
        else:
            created.set_result(task)

    threading.Thread(target=loop.call_soon_threadsafe, args=(create,), name=f"start {name}", daemon=True).start()
    return created


# no orphans ----------------------------------------------------------------------------
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_previous_sigterm = None


def _kill_children(timeout_s: float = 3.0) -> None:
    with _children_lock:
        procs = [p for p in _children if p.poll() is None]
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(2)


def _on_sigterm(signum, frame) -> None:
    """Stop the model server, then do what SIGTERM did before (by default: exit 143)."""
    _kill_children()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_exit_guards() -> None:
    global _previous_sigterm
    if getattr(_install_exit_guards, "done", False):
        return
    _install_exit_guards.done = True
    atexit.register(_kill_children)
    # also before the interpreter joins non-daemon threads (atexit runs only after that)
    threading._register_atexit(_kill_children)
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current in (signal.SIG_DFL, None) or callable(current):
            _previous_sigterm = current if callable(current) else None
            signal.signal(signal.SIGTERM, _on_sigterm)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class ServerProcess:
    """One llama-server child on a free loopback port."""

    def __init__(self, spec: ServerSpec, log_path: Path | None = None, cpu_flags: str | None = None) -> None:
        self.spec = spec
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = spec.command(self.port, cpu_flags)  # the host's choices applied once, here
        self.proc: subprocess.Popen | None = None

    def spawn(self) -> None:
        _install_exit_guards()
        out = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log_path, "ab")  # noqa: SIM115 (closed below; the child keeps its copy)
        # PDEATHSIG fires when the *thread* that forked exits, so only from the main thread
        # (the event loop's); elsewhere the process group, atexit and SIGTERM still apply
        pre = _die_with_parent if (sys.platform == "linux"
                                   and threading.current_thread() is threading.main_thread()) else None
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=pre)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        with _children_lock:
            _children.add(self.proc)
        log.info("started llama-server pid %d on %s: %s", self.proc.pid, self.url, " ".join(self.command[1:]))

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    async def wait_ready(self, http, timeout_s: float = 120.0) -> None:
        """/health answers 200 once the model is loaded (503 while loading)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive:
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(f"llama-server exited with code {code} while starting:\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                r = await http.get(self.url + "/health", timeout=2)
                if r.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"llama-server not healthy within {timeout_s:g} s:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def stop(self, timeout_s: float = 5.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await asyncio.to_thread(proc.wait, 5)
        with _children_lock:
            _children.discard(proc)


async def request_timings(http, url: str, messages: list[dict], max_tokens: int, cache_prompt: bool,
                          sampling: dict | None = None) -> dict:
    """One non-streamed chat completion; llama-server's own timings of it."""
    r = await http.post(url + "/v1/chat/completions", timeout=120, json={
        "messages": messages, "max_tokens": max_tokens, "cache_prompt": cache_prompt,
        **(sampling or {"temperature": 0.0})})
    r.raise_for_status()
    body = r.json()
    return body.get("timings") or {}


SMOKE = [{"role": "user", "content": "Say OK."}]
# about 150 tokens: long enough that prefill speed, not per-request overhead, is measured
PREFILL_PROBE = [{"role": "user", "content": " ".join(
    f"Memory bandwidth limits token generation because every weight is read once per token; note {i}."
    for i in range(8))}]
DECODE_PROBE = [{"role": "user", "content": "Explain why memory bandwidth limits LLM speed."}]
PROBE_TIMEOUT_S = 15.0  # a thread count this slow has lost anyway


async def _probe(http, url: str, messages: list[dict], max_tokens: int, key: str) -> float:
    try:
        t = await asyncio.wait_for(request_timings(http, url, messages, max_tokens, False), PROBE_TIMEOUT_S)
    except TimeoutError:
        return 0.0
    return float(t.get(key) or 0.0)


async def measure_threads(spec: ServerSpec, candidates: list[int], log_path: Path | None = None,
                          rounds: int = 2) -> dict:
    """Prefill (-tb) and decode (-t) speed for each thread count, measured by the server
    itself on this host: the two can prefer different counts (DESIGN.md). A few seconds
    per candidate; the caller remembers the result per host and model."""
    prefill: dict[int, float] = {}
    decode: dict[int, float] = {}
    hx = httpx()
    async with hx.AsyncClient(trust_env=False) as http:
        for n in candidates:
            server = ServerProcess(replace(spec, threads=n, threads_batch=n, slots=1), log_path)
            server.spawn()
            try:
                await server.wait_ready(http)
                await _probe(http, server.url, DECODE_PROBE, 4, "predicted_per_second")  # warm-up
                p = [await _probe(http, server.url, PREFILL_PROBE, 1, "prompt_per_second") for _ in range(rounds)]
                d = [await _probe(http, server.url, DECODE_PROBE, 32, "predicted_per_second")
                     for _ in range(rounds)]
                prefill[n], decode[n] = round(max(p), 1), round(max(d), 1)  # best of: noise only slows
            finally:
                await server.stop()
    return {"threads": max(decode, key=decode.get), "threads_batch": max(prefill, key=prefill.get),
            "decode_tokens_per_s": decode, "prefill_tokens_per_s": prefill}


def decode_speeds(model: Path, threads: int, runs: int = 6, n_tokens: int = 64,
                  prompt: str = "The memory bandwidth of a GPU") -> list[float]:
    """Raw llama.cpp decode tokens/s of `model` on `threads` threads, `runs` times, as
    llama-server itself times them (a short prompt, greedy sampling). For benchmarks."""

    async def measure() -> list[float]:
        spec = ServerSpec(binary=find_llama_server(), model=model, n_ctx=512, threads=threads,
                          threads_batch=threads)
        server = ServerProcess(spec)
        server.spawn()
        try:
            async with httpx().AsyncClient(trust_env=False) as http:
                await server.wait_ready(http)
                messages = [{"role": "user", "content": prompt}]
                await request_timings(http, server.url, messages, 16, False)  # warm-up
                return [float((await request_timings(http, server.url, messages, n_tokens, False))
                              .get("predicted_per_second") or 0.0) for _ in range(runs)]
        finally:
            await server.stop()

    return asyncio.run(measure())


@dataclass
class EmbeddedServer:
    """Starts llama-server, checks it (health and one short generation), and restarts
    it with back-off when it dies. `endpoint` is what the LLM client talks to."""

    spec: ServerSpec
    log_path: Path | None = None
    start_timeout_s: float = 120.0
    endpoint: Endpoint = field(init=False)
    process: ServerProcess | None = field(default=None, init=False)
    restarts: int = field(default=0, init=False)
    ready_s: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.endpoint = Endpoint("http://127.0.0.1:0", embedded=True, restarting=True, slots=self.spec.slots)
        self._stopping = False
        self._restart: asyncio.Task | None = None
        self._backoff = 1.0
        self._ready_at = 0.0
        self._http = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> EmbeddedServer:
        self._loop = asyncio.get_running_loop()
        self._http = httpx().AsyncClient(trust_env=False)
        started = time.perf_counter()
        await self._start_child()
        self.ready_s = round(time.perf_counter() - started, 3)
        return self

    async def _start_child(self) -> None:
        process = ServerProcess(self.spec, self.log_path)
        process.spawn()
        try:
            await process.wait_ready(self._http, self.start_timeout_s)
            timings = await request_timings(self._http, process.url, SMOKE, 2, False)  # smoke generation
        except BaseException:
            await process.stop()
            raise
        log.info("llama-server pid %d ready on %s (smoke generation: %s tokens)", process.proc.pid,
                 process.url, timings.get("predicted_n"))
        self.process = process
        self._ready_at = time.monotonic()
        self.endpoint.base_url = process.url
        self.endpoint.mark_ok()
        self.endpoint.restarting = False
        # a thread waits for the child's exit (no polling); its callback comes from outside
        # any request, so the restart belongs to no request either
        threading.Thread(target=self._watch, args=(process,), name=f"llama-server-{process.proc.pid}-watch",
                         daemon=True).start()

    def _watch(self, process: ServerProcess) -> None:
        process.proc.wait()
        if not self._stopping and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._on_exit, process)

    def _on_exit(self, process: ServerProcess) -> None:
        if self._stopping or process is not self.process:
            return
        if time.monotonic() - self._ready_at > 60:
            self._backoff = 1.0  # it ran a while: not a crash loop
        self.endpoint.restarting = True
        log.error("llama-server pid %d died (exit code %s); restarting in %.0f s. Last log lines:\n%s",
                  process.proc.pid, process.proc.returncode, self._backoff, process.log_tail())
        self._restart = asyncio.get_running_loop().create_task(self._restart_with_backoff(process),
                                                               name="llama-server restart")

    async def _restart_with_backoff(self, dead: ServerProcess) -> None:
        await dead.stop()
        while not self._stopping:
            await asyncio.sleep(self._backoff)
            if self._stopping:
                return
            try:
                await self._start_child()
                self.restarts += 1
                return
            except Exception:
                log.exception("llama-server restart failed")
                self._backoff = min(30.0, self._backoff * 2)

    @property
    def pid(self) -> int | None:
        return self.process.proc.pid if self.process and self.process.proc else None

    async def close(self) -> None:
        self._stopping = True
        if self._restart is not None:
            self._restart.cancel()
            await asyncio.gather(self._restart, return_exceptions=True)
        if self.process is not None:
            await self.process.stop()
        if self._http is not None:
            await self._http.aclose()
        self.endpoint.restarting = True
