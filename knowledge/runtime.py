"""Everything the knowledge route needs at run time, started once: the embedder, the
index (loaded from disk when the contents are unchanged), and the LLM: the embedded
llama-server child (supervised) or the external server(s) of RIGBOT_LLM_URL."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path

from knowledge.embedding import default_embedding_path, embedding_id, load_embedder
from knowledge.index import Hit, KnowledgeIndex
from knowledge.llm import default_model_path
from knowledge.llm_client import Endpoint, Generation, LlmClient, LlmUnavailable, parse_urls
from knowledge.llm_server import (
    EmbeddedServer,
    LlmBuilding,
    ServerSpec,
    build_in_progress,
    cache_dir,
    choose_engine,
    cpu_flags_text,
    measure_threads,
    repack_choice,
    start_detached,
    thread_candidates,
)
from knowledge.prompt import build_messages
from knowledge.sections import CONTENT_DIR, content_hash, load_sections

log = logging.getLogger(__name__)

CHAT_TEMPLATE_TOKENS = 24  # room for the chat template's role markers
BUILD_POLL_S = 5.0  # while llama-server is being built: how often to look for the binary


class ReloadError(RuntimeError):
    """The new knowledge is broken; the old index keeps serving."""


class KnowledgeRuntime:
    def __init__(self, settings, store=None) -> None:
        self.settings = settings
        self.store = store
        self.content_dir = Path(settings.knowledge_dir) if settings.knowledge_dir else CONTENT_DIR
        self.embedding_path = Path(settings.embedding_model) if settings.embedding_model else default_embedding_path()
        self.external = bool(parse_urls(settings.llm_url))
        self.model_path = None if self.external else (
            Path(settings.model_path) if settings.model_path else default_model_path())
        self.index: KnowledgeIndex | None = None
        self.client: LlmClient | None = None
        self.server: EmbeddedServer | None = None
        self.embedder = None
        self.thread_measurements: dict | None = None
        self.llm_info: dict = {}  # what serves generations: for the host record and /botinfo
        self.index_loaded_from_disk = False
        self.startup_s: dict[str, float] = {}
        self._llm_lock = asyncio.Lock()
        self._when_built: asyncio.Future | None = None  # resolves to the task that waits for the build

    async def start(self) -> None:
        """Embedder + index and the model server start side by side."""
        if self.model_path is not None and not self.model_path.exists():
            raise FileNotFoundError(f"GGUF model not found: {self.model_path} (RIGBOT_MODEL_PATH)")
        t0 = time.perf_counter()
        llm = asyncio.create_task(self._start_llm())
        try:
            self.embedder = await asyncio.to_thread(load_embedder, self.embedding_path)
            self.index, self.index_loaded_from_disk = await asyncio.to_thread(self._load_or_build, None)
            self.startup_s["index"] = round(time.perf_counter() - t0, 3)
            self.client = await llm
            if self.client is None:  # llama-server is still being built: start it once it is there
                self._when_built = start_detached(self._start_when_built, "llama-server start once built")
        except BaseException:
            llm.cancel()
            await asyncio.gather(llm, return_exceptions=True)
            await self.close()
            raise
        self.startup_s["ready"] = round(time.perf_counter() - t0, 3)
        log.info("knowledge runtime ready in %.2f s (%s)", self.startup_s["ready"], self.llm_info.get("summary"))

    # index --------------------------------------------------------------------
    def _key(self) -> str:
        return content_hash(self.content_dir, embedding_id(self.embedding_path))

    def _load_or_build(self, progress) -> tuple[KnowledgeIndex, bool]:
        key = self._key()
        index = KnowledgeIndex.load(self.settings.index_dir, key)
        if index is not None:
            return index, True
        sections = load_sections(self.content_dir)
        index = KnowledgeIndex.build(sections, self.embedder, key, progress)
        index.save(self.settings.index_dir)
        return index, False

    async def reload(self, progress=None) -> dict:
        """Rebuild from the files and swap in atomically; a broken file raises
        ReloadError and leaves the serving index untouched."""
        try:
            sections = await asyncio.to_thread(load_sections, self.content_dir)
            key = self._key()
            fresh = await asyncio.to_thread(KnowledgeIndex.build, sections, self.embedder, key, progress)
            await asyncio.to_thread(fresh.save, self.settings.index_dir)
        except Exception as exc:
            log.exception("knowledge reload failed")
            raise ReloadError(str(exc)) from exc
        self.index = fresh  # one reference swap: searches see the old or the new index
        langs = sorted({s.lang for s in sections})
        return {"sections": len(sections), "chunks": len(fresh.chunks), "languages": langs, "index": key}

    async def retrieve(self, question: str) -> list[Hit]:
        vector = await asyncio.to_thread(
            self.embedder.encode, [question], normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False)
        return self.index.search(vector[0], question, k=self.settings.top_k,
                                 min_score=self.settings.min_retrieval_score)

    # LLM ----------------------------------------------------------------------
    async def _start_llm(self) -> LlmClient | None:
        """The client of the model server(s); None while bootstrap is still building
        llama-server in the background (a first start on a new machine)."""
        s = self.settings
        if self.external:
            return await self._connect_external()
        t0 = time.perf_counter()
        try:
            engine = choose_engine(s.llm_server, s.llama_server_bin)
        except LlmBuilding as building:
            log.info("llama-server is still being built (started %d min ago); knowledge questions get "
                     "their sources until it is there", building.build.minutes)
            self.llm_info = {"kind": "embedded llama-server", "building": True,
                             "summary": "embedded llama-server, still being built"}
            return None
        binary = engine.binary
        if engine.prebuilt and build_in_progress() is not None:
            log.info("the native llama-server is still being built; serving with %s until the next start",
                     engine.name)
        no_repack, why = repack_choice(cpu_flags_text(), s.llm_amx_repack)
        log.info("%s %s; %s", engine.name, binary, why)
        slots = s.llm_slots or 1
        spec = ServerSpec(binary=binary, model=self.model_path, n_ctx=s.n_ctx, slots=slots,
                          n_gpu_layers=s.n_gpu_layers, no_repack=no_repack, launcher_args=engine.launcher_args)
        threads, threads_batch = await self._choose_threads(spec)
        spec = replace(spec, threads=threads, threads_batch=threads_batch)
        self.server = await EmbeddedServer(spec, s.data_dir / "llama-server.log", s.llm_start_timeout_s).start()
        self.startup_s["llm"] = round(time.perf_counter() - t0, 3)
        self.llm_info = {
            "kind": "embedded llama-server", "engine": engine.name, "binary": str(binary),
            "url_host": self.server.endpoint.host,
            "model": self.model_path.name, "slots": slots, "n_threads": threads, "n_threads_batch": threads_batch,
            "n_gpu_layers": s.n_gpu_layers, "repack": "off (--no-repack)" if no_repack else "on",
            "repack_reason": why, "ready_s": self.server.ready_s,
            "summary": f"embedded {engine.name}, {self.model_path.name}, -t {threads} -tb {threads_batch}, "
                       f"{slots} slot(s), repack {'off' if no_repack else 'on'}",
        }
        return LlmClient([self.server.endpoint], slots=slots, max_waiting=s.queue_size,
                         model_name=self.model_path.name,
                         stats_extra={"n_threads": threads, "n_gpu_layers": s.n_gpu_layers})

    async def _choose_threads(self, spec: ServerSpec) -> tuple[int, int]:
        """Settings first; else what was measured on this host before; else measure now
        (prefill and decode separately) and remember it."""
        s = self.settings
        if s.n_threads is not None:
            return s.n_threads, s.n_threads_batch or s.n_threads
        candidates = thread_candidates()
        key = (f"llama-server-threads:{spec.binary.resolve()}{''.join(spec.launcher_args)}:{self.model_path.name}:"
               f"{self.model_path.stat().st_size}:{candidates}:{spec.no_repack}")
        remembered = await self.store.recall(key) if self.store is not None else None
        if remembered is None:
            measured = await measure_threads(spec, candidates, s.data_dir / "llama-server.log")
            log.info("measured on this host: prefill tokens/s by threads %s, decode tokens/s by threads %s; "
                     "using -tb %d -t %d", measured["prefill_tokens_per_s"], measured["decode_tokens_per_s"],
                     measured["threads_batch"], measured["threads"])
            remembered = measured
            if self.store is not None:
                await self.store.remember(key, measured)
                await self.store.remember("thread_measurements", measured)
        else:
            log.info("threads from this host's earlier measurement: -t %d -tb %d",
                     remembered["threads"], remembered["threads_batch"])
        self.thread_measurements = remembered
        return remembered["threads"], s.n_threads_batch or remembered["threads_batch"]

    async def _connect_external(self) -> LlmClient:
        s = self.settings
        key = s.llm_api_key.get_secret_value() if s.llm_api_key else None
        endpoints = [Endpoint(url, model=s.llm_model, api_key=key) for url in parse_urls(s.llm_url)]
        probe = LlmClient(endpoints)
        try:
            described = [await probe.describe(e) for e in endpoints]
        finally:
            await probe.close()
        for endpoint, described_as in zip(endpoints, described, strict=True):
            endpoint.slots = s.llm_slots or described_as.get("slots") or 1
        slots = sum(e.slots for e in endpoints)
        model = s.llm_model or next((m for d in described for m in d.get("models") or []), None)
        self.llm_info = {"kind": "external", "servers": described, "model": model, "slots": slots,
                         "summary": f"external {', '.join(f'{e.host} ({e.slots} slots)' for e in endpoints)}, "
                                    f"model {model}"}
        return LlmClient(endpoints, slots=slots, max_waiting=s.queue_size, model_name=model)

    async def _start_when_built(self) -> None:
        """Poll for the binary the background build links, and start the server as soon
        as it is there, so the first knowledge question after the build does not pay for
        the start (and the thread measurement) itself."""
        while self.client is None:
            await asyncio.sleep(BUILD_POLL_S)
            building = build_in_progress() is not None
            try:
                await self._ensure_llm()
                return
            except LlmUnavailable:
                if not building:  # the build ended without a binary: the next question says so
                    log.error("the llama-server build ended without a binary; see %s",
                              cache_dir() / "llama-server-build.log")
                    return
            except Exception:
                log.exception("llama-server failed to start after its build")
                return

    async def _ensure_llm(self) -> LlmClient:
        """The client; started now if the runtime began while llama-server was being built.
        Raises LlmBuilding while it still is."""
        if self.client is not None:
            return self.client
        async with self._llm_lock:
            if self.client is None:
                try:
                    self.client = await self._start_llm()
                except FileNotFoundError as exc:
                    raise LlmUnavailable(str(exc)) from exc
                if self.client is None:
                    build = build_in_progress()
                    raise LlmBuilding(build) if build else LlmUnavailable("llama-server was not built")
            return self.client

    async def generate(self, question: str, hits: list[Hit], facts: str | None, *, on_token=None,
                       on_queue=None, cancel=None) -> Generation:
        if self.client is None:  # raises LlmBuilding at once while the build still runs
            await self._ensure_llm()
        messages, max_tokens = await self.fit_prompt(question, hits, facts)
        return await self.client.generate(
            messages, max_tokens=max_tokens, timeout_s=self.settings.generation_timeout_s,
            on_token=on_token, on_queue=on_queue, cancel=cancel)

    async def choose(self, question: str, options: list, *, on_queue=None, cancel=None) -> Generation:
        """The model's choice and order among source sentences (knowledge.composed): a
        short greedy reply such as "2, 1"."""
        from knowledge.composed import CHOICE_MAX_TOKENS, choice_messages

        if self.client is None:
            await self._ensure_llm()
        return await self.client.generate(
            choice_messages(question, options), max_tokens=CHOICE_MAX_TOKENS,
            timeout_s=self.settings.generation_timeout_s, on_queue=on_queue, cancel=cancel, cache_prompt=False)

    async def count_tokens(self, text: str) -> int:
        """By the server's tokenizer where it has one (llama-server), else a cautious
        estimate (one token per 3 bytes of UTF-8: a Chinese character is 3 bytes)."""
        counted = await self.client.count_tokens(text) if self.client is not None else None
        return counted if counted is not None else len(text.encode()) // 3 + 1

    async def fit_prompt(self, question: str, hits: list[Hit], facts: str | None) -> tuple[list[dict], int]:
        """Keep prompt + answer inside the model's context: drop the weakest sections
        (then the sizing figures) until the answer has room, else shorten the answer."""
        n_ctx, wanted = self.settings.n_ctx, self.settings.max_tokens
        while True:
            messages = build_messages(question, hits, facts)
            text = "\n".join(m["content"] for m in messages)
            prompt_tokens = await self.count_tokens(text) + CHAT_TEMPLATE_TOKENS
            if prompt_tokens + wanted <= n_ctx:
                return messages, wanted
            if len(hits) > 1:
                hits = hits[:-1]
            elif facts:
                facts = None
            else:
                return messages, max(16, n_ctx - prompt_tokens)

    async def close(self) -> None:
        if self._when_built is not None:
            waiting, self._when_built = self._when_built, None
            if waiting.done():
                waiting.result().cancel()
                await asyncio.gather(waiting.result(), return_exceptions=True)
            else:
                waiting.cancel()
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.server is not None:
            await self.server.close()
            self.server = None
