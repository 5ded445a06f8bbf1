"""Hybrid retrieval: a FAISS inner-product index over normalised embeddings, plus BM25
over English words and Chinese character bigrams (MiniLM barely understands Chinese).
Persisted under data/index/<hash of contents and embedding model>/."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.chunking import Chunk, chunk_sections
from knowledge.sections import Section
from rules.phrases import language_of

DENSE_WEIGHT = 0.6  # the rest goes to BM25 (normalised to the best lexical match)
STRONG_DENSE = 0.40  # this close in meaning is on topic whatever the words
MIN_COVERAGE = 0.30  # share of the question's tokens a weaker match must contain
_WORD = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP = set("a an the is are do does did i my me to of in on for and or it be can with how what why "
            "which that this at as by from your you we".split())


def tokenize(text: str) -> list[str]:
    text = text.lower()
    words = [w.rstrip("s") if len(w) > 3 else w for w in _WORD.findall(text) if w not in _STOP]
    grams: list[str] = []
    for run in _CJK.findall(text):
        grams += [run[i:i + 2] for i in range(len(run) - 1)] or [run]
    return words + grams


@dataclass(frozen=True)
class Hit:
    section_id: str
    lang: str
    title: str
    page_title: str
    text: str
    summary: str
    score: float
    dense: float
    lexical: float


class KnowledgeIndex:
    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, sections: dict[tuple[str, str], Section],
                 key: str) -> None:
        import faiss
        from rank_bm25 import BM25Okapi

        self.chunks = chunks
        self.sections = sections
        self.key = key
        self.faiss = faiss.IndexFlatIP(vectors.shape[1])
        self.faiss.add(vectors.astype(np.float32))
        self.bm25 = BM25Okapi([tokenize(c.text) for c in chunks])

    # persistence --------------------------------------------------------------
    @classmethod
    def build(cls, sections: list[Section], embedder, key: str, progress=None) -> KnowledgeIndex:
        chunks = chunk_sections(sections)
        vectors = []
        batch = 16
        for start in range(0, len(chunks), batch):
            texts = [c.text for c in chunks[start:start + batch]]
            vectors.append(embedder.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False))
            if progress:
                progress(min(start + batch, len(chunks)), len(chunks))
        by_key = {(s.lang, s.id): s for s in sections}
        return cls(chunks, np.vstack(vectors), by_key, key)

    def save(self, root: Path) -> Path:
        """Write to a temporary directory, then rename: a crash never leaves half an index."""
        import faiss

        final = root / self.key
        tmp = root / f".{self.key}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        faiss.write_index(self.faiss, str(tmp / "index.faiss"))
        (tmp / "chunks.json").write_text(json.dumps({
            "chunks": [asdict(c) for c in self.chunks],
            "sections": [asdict(s) for s in self.sections.values()],
        }, ensure_ascii=False))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    @classmethod
    def load(cls, root: Path, key: str) -> KnowledgeIndex | None:
        import faiss

        folder = root / key
        if not (folder / "index.faiss").exists() or not (folder / "chunks.json").exists():
            return None
        data = json.loads((folder / "chunks.json").read_text())
        stored = faiss.read_index(str(folder / "index.faiss"))
        vectors = stored.reconstruct_n(0, stored.ntotal)
        chunks = [Chunk(**c) for c in data["chunks"]]
        sections = {(s["lang"], s["id"]): Section(**s) for s in data["sections"]}
        return cls(chunks, vectors, sections, key)

    # search -------------------------------------------------------------------
    def search(self, query_vector: np.ndarray, question: str, k: int = 3, min_score: float = 0.25) -> list[Hit]:
        n = len(self.chunks)
        dense = np.zeros(n, dtype=np.float32)
        scores, ids = self.faiss.search(query_vector.reshape(1, -1).astype(np.float32), n)
        dense[ids[0]] = scores[0]
        tokens = tokenize(question)
        lexical = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32) if tokens else np.zeros(n)
        top_lex = float(lexical.max()) if n else 0.0
        lexical_norm = lexical / top_lex if top_lex > 0 else lexical
        combined = DENSE_WEIGHT * np.clip(dense, 0, 1) + (1 - DENSE_WEIGHT) * lexical_norm

        if not self._on_topic(dense, tokens, min_score):
            return []
        lang = language_of(question)  # cite the sections in the question's language
        best: dict[str, tuple[float, int]] = {}
        for i in np.argsort(-combined):
            sid = self.chunks[i].section_id
            if sid not in best:
                best[sid] = (float(combined[i]), int(i))
            if len(best) >= k:
                break
        hits = []
        for sid, (score, i) in best.items():
            section = self.sections.get((lang, sid)) or self.sections[(self.chunks[i].lang, sid)]
            hits.append(Hit(sid, section.lang, section.title, section.page_title, section.text,
                            section.summary, score, float(dense[i]), float(lexical[i])))
        return hits

    def _on_topic(self, dense: np.ndarray, tokens: list[str], min_score: float) -> bool:
        """Close in meaning to some chunk, or fairly close and sharing at least 30% of
        the question's words/bigrams with one. Off-topic text ("tell me a joke",
        "今天天气怎么样") stays under 0.27 dense; the test questions' lowest is 0.30."""
        best_dense = float(dense.max()) if len(dense) else 0.0
        if best_dense >= STRONG_DENSE:
            return True
        distinct = set(tokens)
        if best_dense < min_score or not distinct:
            return False
        coverage = max(len(distinct & freqs.keys()) for freqs in self.bm25.doc_freqs) / len(distinct)
        return coverage >= MIN_COVERAGE
