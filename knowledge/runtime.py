"""Everything the knowledge route needs at run time, started once: the embedder, the
index (loaded from disk when the contents are unchanged), and the LLM worker."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from knowledge.embedding import default_embedding_path, embedding_id, load_embedder
from knowledge.index import Hit, KnowledgeIndex
from knowledge.llm import (
    Generation,
    LlmWorker,
    default_model_path,
    load_llama,
    measure_best_threads,
)
from knowledge.prompt import build_messages
from knowledge.sections import CONTENT_DIR, content_hash, load_sections

log = logging.getLogger(__name__)


class ReloadError(RuntimeError):
    """The new knowledge is broken; the old index keeps serving."""


def thread_candidates() -> list[int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return sorted({1, 2, max(1, cores // 2), cores} & set(range(1, cores + 1)))


class KnowledgeRuntime:
    def __init__(self, settings, store=None) -> None:
        self.settings = settings
        self.store = store
        self.content_dir = Path(settings.knowledge_dir) if settings.knowledge_dir else CONTENT_DIR
        self.embedding_path = Path(settings.embedding_model) if settings.embedding_model else default_embedding_path()
        self.model_path = Path(settings.model_path) if settings.model_path else default_model_path()
        self.index: KnowledgeIndex | None = None
        self.worker: LlmWorker | None = None
        self.embedder = None
        self.thread_measurements: dict[int, float] = {}
        self.index_loaded_from_disk = False

    async def start(self) -> None:
        if not self.model_path.exists():
            raise FileNotFoundError(f"GGUF model not found: {self.model_path} (RIGBOT_MODEL_PATH)")
        self.embedder = await asyncio.to_thread(load_embedder, self.embedding_path)
        self.index, self.index_loaded_from_disk = await asyncio.to_thread(self._load_or_build, None)
        self.worker = await self._start_llm()

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
            self.embedder.encode, [question], normalize_embeddings=True, convert_to_numpy=True)
        return self.index.search(vector[0], question, k=self.settings.top_k,
                                 min_score=self.settings.min_retrieval_score)

    # LLM ----------------------------------------------------------------------
    async def _start_llm(self) -> LlmWorker:
        threads = self.settings.n_threads
        remembered_key = f"threads:{self.model_path.name}:{self.model_path.stat().st_size}:{thread_candidates()}"
        if threads is None and self.store is not None:
            threads = await self.store.recall(remembered_key)
        llm = await asyncio.to_thread(load_llama, self.model_path, self.settings.n_ctx, threads or 1,
                                      self.settings.n_gpu_layers)
        if threads is None:
            threads, self.thread_measurements = await asyncio.to_thread(
                measure_best_threads, llm, thread_candidates())
            log.info("decode tokens/s by threads: %s; using %d", self.thread_measurements, threads)
            if self.store is not None:
                await self.store.remember(remembered_key, threads)
                await self.store.remember("thread_measurements", self.thread_measurements)
        return LlmWorker(llm, self.model_path.name, threads, self.settings.n_gpu_layers,
                         max_waiting=self.settings.queue_size)

    async def generate(self, question: str, hits: list[Hit], facts: str | None, *, on_token=None,
                       on_queue=None, cancel=None) -> Generation:
        messages, max_tokens = await asyncio.to_thread(self._fit_prompt, question, hits, facts)
        return await self.worker.generate(
            messages, max_tokens=max_tokens, timeout_s=self.settings.generation_timeout_s,
            on_token=on_token, on_queue=on_queue, cancel=cancel)

    def _fit_prompt(self, question: str, hits: list[Hit], facts: str | None) -> tuple[list[dict], int]:
        """Keep prompt + answer inside the model's context: drop the weakest sections
        (then the sizing figures) until the answer has room, else shorten the answer."""
        n_ctx, wanted = self.settings.n_ctx, self.settings.max_tokens
        while True:
            messages = build_messages(question, hits, facts)
            text = "\n".join(m["content"] for m in messages)
            # + room for the chat template's role markers
            prompt_tokens = len(self.worker.llm.tokenize(text.encode(), add_bos=False)) + 24
            if prompt_tokens + wanted <= n_ctx:
                return messages, wanted
            if len(hits) > 1:
                hits = hits[:-1]
            elif facts:
                facts = None
            else:
                return messages, max(16, n_ctx - prompt_tokens)

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()
