"""Retrieval recall@k over the question set in tests/data/retrieval_questions*.toml.

Builds the index in memory from the knowledge content (no LLM), so it runs in a few
seconds: `python -m bench.retrieval_recall [content_dir]`.
"""

from __future__ import annotations

import statistics
import sys
import time
import tomllib
from pathlib import Path

QUESTION_FILES = sorted((Path(__file__).parent.parent / "tests" / "data").glob("retrieval_questions*.toml"))


def load_questions() -> list[dict]:
    return [q for path in QUESTION_FILES for q in tomllib.loads(path.read_text(encoding="utf-8"))["q"]]


def main(content_dir: str | None = None, k: int = 3) -> dict:
    from knowledge.embedding import default_embedding_path, load_embedder
    from knowledge.index import KnowledgeIndex
    from knowledge.sections import CONTENT_DIR, load_sections

    embedder = load_embedder(default_embedding_path())
    sections = load_sections(Path(content_dir) if content_dir else CONTENT_DIR)
    index = KnowledgeIndex.build(sections, embedder, "recall-bench")
    questions = load_questions()
    found, misses, latencies = 0, [], []
    for q in questions:
        t0 = time.perf_counter()
        vector = embedder.encode([q["text"]], normalize_embeddings=True, convert_to_numpy=True)[0]
        hits = index.search(vector, q["text"], k=k, min_score=0.28)
        latencies.append((time.perf_counter() - t0) * 1000)
        got = [h.section_id for h in hits]
        if set(got) & set(q["sections"]):
            found += 1
        else:
            misses.append(f"  [{q['lang']}] {q['text']!r}: want {q['sections']}, got {got}")
    recall = found / len(questions) if questions else 0.0
    print(f"recall@{k} = {recall:.3f} ({found}/{len(questions)}; "
          f"{sum(q['lang'] == 'zh' for q in questions)} Chinese); "
          f"retrieval p50 {statistics.median(latencies):.1f} ms")
    print("\n".join(misses))
    return {"recall_at_3": recall, "questions": len(questions)}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
