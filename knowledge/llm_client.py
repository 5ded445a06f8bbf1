"""Generation over an OpenAI-compatible HTTP API (chat completions, streamed as SSE).

One `LlmClient` serves every knowledge question. It runs as many generations at once
as the servers have slots; the rest wait in a bounded line and are told their
position, can cancel while waiting or generating, and stop at a time limit. With
several endpoints (a pool), each generation goes to the least busy one that is up;
an endpoint that refuses a connection is skipped and tried again after a back-off.

The embedded llama-server child is one endpoint like any other; its supervisor
(`knowledge.llm_server`) marks it down while it restarts."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# greedy decoding with a fixed seed: the same question gets the same answer (issue 23: at
# temperature 0.3 a wrong paragraph came in some runs and not in others); the penalty
# stops a 135M model looping
SAMPLING = {"temperature": 0.0, "top_k": 1, "seed": 23, "repeat_penalty": 1.2}


def httpx():
    import httpx2  # the maintained httpx line (the `openai` package depends on it too)

    return httpx2


class QueueFull(RuntimeError):
    """More questions are waiting than the line allows."""


class LlmUnavailable(RuntimeError):
    """No endpoint accepted the request."""


class GenerationInterrupted(RuntimeError):
    """The server went away in mid-generation (crash, OOM kill, restart)."""


@dataclass
class Generation:
    text: str
    stats: dict
    stopped: str | None = None  # "cancelled", "stopped after the N s time limit", or None


@dataclass
class Endpoint:
    """One OpenAI-compatible server. `base_url` is the server root (a trailing /v1 is
    accepted and removed)."""

    base_url: str
    model: str | None = None
    api_key: str | None = None
    embedded: bool = False  # the supervised child: wait for it while it restarts
    slots: int = 1  # generations it runs at once (llama-server -np)
    in_flight: int = 0
    failures: int = 0
    down_until: float = 0.0
    restarting: bool = False
    served: int = 0

    def __post_init__(self) -> None:
        self.base_url = normalise_base_url(self.base_url)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def up(self, now: float) -> bool:
        return not self.restarting and now >= self.down_until

    def mark_failed(self, now: float) -> None:
        self.failures += 1
        # 5, 10, 20, 40, 60 s: skipped meanwhile, then tried again
        self.down_until = now + min(60.0, 2.5 * 2 ** min(self.failures, 10))

    def mark_ok(self) -> None:
        self.failures = 0
        self.down_until = 0.0

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def parse_urls(value: str | None) -> list[str]:
    """RIGBOT_LLM_URL: one or several base URLs, separated by commas."""
    return [normalise_base_url(u) for u in (value or "").split(",") if u.strip()]


def choose_endpoint(endpoints: list[Endpoint], now: float) -> Endpoint | None:
    """The least busy endpoint that is up (share of its slots in use; ties: the one
    that served fewest); None when every endpoint is down or restarting."""
    up = [e for e in endpoints if e.up(now)]
    return min(up, key=lambda e: (e.in_flight / max(1, e.slots), e.served)) if up else None


@dataclass
class _Ticket:
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def call_back(callback, *args) -> None:
    """Call an optional callback that may be a plain function or a coroutine function."""
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class LlmClient:
    def __init__(self, endpoints: list[Endpoint], *, slots: int = 1, max_waiting: int = 8,
                 model_name: str | None = None, stats_extra: dict | None = None,
                 wait_for_restart_s: float = 60.0) -> None:
        if not endpoints:
            raise ValueError("no LLM endpoint")
        self.endpoints = endpoints
        self.slots = max(1, slots)
        self.max_waiting = max_waiting
        self.model_name = model_name or endpoints[0].model or "unknown"
        self.stats_extra = stats_extra or {}  # n_threads, n_gpu_layers of the embedded server
        self.wait_for_restart_s = wait_for_restart_s
        loopback = all(urlsplit(e.base_url).hostname in ("127.0.0.1", "localhost", "::1") for e in endpoints)
        self.http = httpx().AsyncClient(
            timeout=httpx().Timeout(connect=3.0, read=120.0, write=10.0, pool=10.0),
            limits=httpx().Limits(max_connections=64, max_keepalive_connections=16),
            trust_env=not loopback,  # no proxy between RigBot and its own child
        )
        self._line: list[_Ticket] = []  # the first `slots` are generating

    # the line -----------------------------------------------------------------
    @property
    def generating(self) -> int:
        return min(len(self._line), self.slots)

    @property
    def waiting(self) -> int:
        return max(0, len(self._line) - self.slots)

    @property
    def busy(self) -> bool:
        return bool(self._line)

    def _position(self, ticket: _Ticket) -> int:
        """0 when it may generate, else how many questions are ahead of it in the line."""
        return max(0, self._line.index(ticket) - self.slots + 1)

    async def generate(self, messages: list[dict], *, max_tokens: int = 256, timeout_s: float = 60.0,
                       on_token=None, on_queue=None, cancel: asyncio.Event | None = None,
                       cache_prompt: bool = True) -> Generation:
        if self.waiting >= self.max_waiting and len(self._line) >= self.slots:
            raise QueueFull(f"{self.waiting} questions are already waiting")
        ticket = _Ticket()
        self._line.append(ticket)
        try:
            while (position := self._position(ticket)) > 0:
                await call_back(on_queue, position)
                ticket.changed.clear()
                waits = [asyncio.ensure_future(ticket.changed.wait())]
                if cancel is not None:
                    waits.append(asyncio.ensure_future(cancel.wait()))
                _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for p in pending:
                    p.cancel()
                if cancel is not None and cancel.is_set():
                    return Generation("", self.empty_stats(), stopped="cancelled")
            return await self._generate(messages, max_tokens, timeout_s, on_token, cancel, cache_prompt)
        finally:
            self._line.remove(ticket)
            for t in self._line:
                t.changed.set()

    # one generation -------------------------------------------------------------
    def empty_stats(self) -> dict:
        return {"model": self.model_name, "prompt_tokens": 0, "completion_tokens": 0, "prompt_ms": 0.0,
                "generation_ms": 0.0, "tokens_per_s": None, "ttft_ms": None,
                "server_tokens_per_s": None, "server_prompt_tokens_per_s": None,
                "cached_prompt_tokens": None, "endpoint": None,
                "n_threads": None, "n_gpu_layers": None} | self.stats_extra

    async def _endpoint(self, deadline: float) -> Endpoint:
        """The endpoint for the next request. While the embedded child is down (its
        supervisor restarts it), wait for it; when every external endpoint is backing
        off, retry the one whose back-off ends first rather than refuse."""
        while True:
            now = time.monotonic()
            chosen = choose_endpoint(self.endpoints, now)
            if chosen is not None:
                return chosen
            if any(e.embedded for e in self.endpoints) and now < deadline:
                await asyncio.sleep(0.1)
                continue
            candidates = [e for e in self.endpoints if not e.restarting]
            if not candidates:
                raise LlmUnavailable("the model server is restarting")
            return min(candidates, key=lambda e: e.down_until)

    async def _generate(self, messages, max_tokens, timeout_s, on_token, cancel, cache_prompt=True) -> Generation:
        deadline = time.monotonic() + self.wait_for_restart_s
        failed = 0
        while True:
            endpoint = await self._endpoint(deadline)
            try:
                return await self._stream(endpoint, messages, max_tokens, timeout_s, on_token, cancel, cache_prompt)
            except _NotStarted as exc:  # refused before any token: another endpoint may serve it
                log.warning("LLM endpoint %s failed (%s); trying again elsewhere", endpoint.base_url, exc.__cause__)
                endpoint.mark_failed(time.monotonic())
                if endpoint.embedded and time.monotonic() < deadline:
                    continue  # its supervisor is restarting it
                failed += 1
                if failed >= len(self.endpoints) + 1:
                    raise LlmUnavailable(f"no LLM endpoint answered: {exc.__cause__}") from exc

    async def _stream(self, endpoint: Endpoint, messages, max_tokens, timeout_s, on_token, cancel,
                      cache_prompt: bool = True) -> Generation:
        hx = httpx()
        body = {
            "messages": messages, "max_tokens": max_tokens, "stream": True,
            "stream_options": {"include_usage": True},
            # llama-server: reuse the KV cache of the longest common prompt prefix (the
            # system prompt comes first and never changes). Off where the same reply every
            # time matters more than prefill time: with the prefix cached, greedy decoding
            # of the same choice prompt gave different SmolLM2 replies in 10 of 34
            # questions (bench/whole_answer.py samples); the prompt is then processed whole
            "cache_prompt": cache_prompt,
            **SAMPLING,
        }
        if endpoint.model:
            body["model"] = endpoint.model
        stats = self.empty_stats()
        stats["endpoint"] = endpoint.host
        parts: list[str] = []
        stopped = None
        usage: dict = {}
        timings: dict = {}
        model = None
        first = last = None
        n_pieces = 0
        started = time.perf_counter()
        deadline = started + timeout_s
        endpoint.in_flight += 1
        got_response = False
        watcher = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        try:
            async with self.http.stream("POST", endpoint.base_url + "/v1/chat/completions", json=body,
                                        headers=endpoint.headers()) as response:
                if response.status_code >= 500 or response.status_code in (404, 408, 429):
                    await response.aread()
                    raise _NotStarted() from RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                if response.status_code >= 400:
                    await response.aread()
                    raise LlmUnavailable(f"{endpoint.host} answered HTTP {response.status_code}: "
                                         f"{response.text[:300]}")
                got_response = True
                lines = response.aiter_lines()
                while True:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        stopped = f"stopped after the {timeout_s:g} s time limit"
                        break
                    step = asyncio.ensure_future(anext(lines, None))
                    waits = {step} | ({watcher} if watcher is not None else set())
                    done, _ = await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                    if step not in done:
                        step.cancel()
                        await asyncio.gather(step, return_exceptions=True)
                        stopped = "cancelled" if watcher is not None and watcher.done() else \
                            f"stopped after the {timeout_s:g} s time limit"
                        break
                    line = step.result()
                    if line is None:
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise GenerationInterrupted(str(chunk["error"])[:300])
                    model = chunk.get("model") or model
                    usage = chunk.get("usage") or usage
                    timings = chunk.get("timings") or timings
                    for choice in chunk.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            now = time.perf_counter()
                            first = first or now
                            last = now
                            n_pieces += 1
                            parts.append(piece)
                            try:
                                await call_back(on_token, piece)
                            except Exception:  # a failing consumer must not kill the generation
                                log.exception("token callback failed")
                    if watcher is not None and watcher.done():
                        stopped = "cancelled"
                        break
        except (_NotStarted, LlmUnavailable, GenerationInterrupted):
            raise
        except (hx.ConnectError, hx.ConnectTimeout) as exc:
            raise _NotStarted() from exc
        except (hx.TransportError, hx.StreamError) as exc:
            if not got_response:
                raise _NotStarted() from exc
            raise GenerationInterrupted(f"{endpoint.host}: {exc!r}") from exc
        finally:
            endpoint.in_flight -= 1
            if watcher is not None:
                watcher.cancel()
        endpoint.mark_ok()
        endpoint.served += 1
        if model and self.model_name == "unknown":
            stats["model"] = model
        completion = usage.get("completion_tokens") or timings.get("predicted_n") or n_pieces
        stats.update(
            prompt_tokens=usage.get("prompt_tokens") or timings.get("prompt_n") or 0,
            completion_tokens=completion,
            prompt_ms=round(timings.get("prompt_ms", 0.0), 2),
            generation_ms=round(timings.get("predicted_ms", 0.0), 2),
            # what a user sees: tokens after the first over the time from first to last
            tokens_per_s=round((completion - 1) / (last - first), 2) if first and last and last > first
            and completion > 1 else None,
            ttft_ms=round((first - started) * 1000, 2) if first else None,
            server_tokens_per_s=_round(timings.get("predicted_per_second")),
            server_prompt_tokens_per_s=_round(timings.get("prompt_per_second")),
            cached_prompt_tokens=timings.get("cache_n"),
            wall_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return Generation("".join(parts), stats, stopped)

    # server facts -----------------------------------------------------------------
    async def describe(self, endpoint: Endpoint) -> dict:
        """What an endpoint says about itself: its models (/v1/models) and, on
        llama-server, its properties (/props)."""
        info: dict = {"url_host": endpoint.host, "model": endpoint.model}
        try:
            r = await self.http.get(endpoint.base_url + "/v1/models", headers=endpoint.headers(), timeout=5)
            if r.status_code == 200:
                info["models"] = [m.get("id") for m in r.json().get("data", [])]
        except Exception as exc:
            info["models_error"] = repr(exc)[:200]
        try:
            r = await self.http.get(endpoint.base_url + "/props", headers=endpoint.headers(), timeout=5)
            if r.status_code == 200:
                props = r.json()
                info["server"] = "llama-server"
                info["slots"] = props.get("total_slots")
                info["build_info"] = props.get("build_info")
                info["model_path"] = props.get("model_path")
                info["n_ctx"] = (props.get("default_generation_settings") or {}).get("n_ctx")
        except Exception:
            pass
        return info

    async def count_tokens(self, text: str) -> int | None:
        """Tokens in `text` by the server's own tokenizer (llama-server /tokenize);
        None where the server has no such endpoint."""
        endpoint = choose_endpoint(self.endpoints, time.monotonic()) or self.endpoints[0]
        try:
            r = await self.http.post(endpoint.base_url + "/tokenize", json={"content": text},
                                     headers=endpoint.headers(), timeout=10)
            if r.status_code == 200:
                return len(r.json().get("tokens", []))
        except Exception:
            log.debug("tokenize failed on %s", endpoint.base_url, exc_info=True)
        return None

    async def close(self) -> None:
        await self.http.aclose()


class _NotStarted(Exception):
    """Raised from a connection failure before the server answered; __cause__ is the reason."""


def _round(value) -> float | None:
    return round(value, 2) if isinstance(value, int | float) else None
