"""Faithfulness of knowledge answers over tests/data/faithfulness.toml.

Each question says what the first paragraph must and must not say. Scored per
question: the extractive direct answer (knowledge.evidence), and, when a model is
plugged in, the first paragraph of the model's raw text and of what the faithfulness
gate lets through. Plug a model in with any `generate(question, hits) -> str`:

    from bench import faithfulness
    faithfulness.main(generate=my_client_generate, label="SmolLM2-135M")

`python -m bench faithfulness` runs the extractive-only mode (no LLM).
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CASES = Path(__file__).parent.parent / "tests" / "data" / "faithfulness.toml"
Generate = Callable[[str, list], str]


@dataclass(frozen=True)
class Case:
    text: str
    lang: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    why: str | None = None  # one of the failures, when it is


def load_cases(path: Path = CASES) -> list[Case]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))["q"]
    return [Case(q["text"], q["lang"], tuple(q["must"]), tuple(q.get("must_not", ())), q.get("why")) for q in data]


def first_paragraph(text: str) -> str:
    return (text or "").strip().split("\n\n", 1)[0].strip()


def failures(case: Case, paragraph: str) -> list[str]:
    """Why a first paragraph fails its case (empty: it passes)."""
    from knowledge.faithfulness import is_looping
    from rules.phrases import language_of

    if not paragraph:
        return ["empty"]
    found = []
    if language_of(paragraph) != case.lang:
        found.append(f"language {language_of(paragraph)}")
    if is_looping(paragraph):
        found.append("loop")
    found += [f"missing /{p}/" for p in case.must if not re.search(p, paragraph, re.I)]
    found += [f"says /{p}/" for p in case.must_not if re.search(p, paragraph, re.I)]
    return found


@dataclass
class CaseResult:
    case: Case
    direct_answer: str
    citation: str | None
    extractive_failures: list[str]
    raw: str | None = None  # the model's first paragraph
    raw_failures: list[str] = field(default_factory=list)
    gated: str | None = None  # what a reader sees first: the direct answer, then what the gate let through
    gated_failures: list[str] = field(default_factory=list)
    cuts: Counter = field(default_factory=Counter)
    fell_back: bool = False


def evaluate(cases: list[Case], retrieve: Callable[[str], list], embedder, generate: Generate | None = None,
             catalog=None) -> list[CaseResult]:
    from knowledge.evidence import select_evidence
    from knowledge.faithfulness import gate

    results = []
    for case in cases:
        hits = retrieve(case.text)
        evidence = select_evidence(case.text, hits, embedder)
        result = CaseResult(case, evidence.direct_answer, evidence.citation,
                            failures(case, evidence.direct_answer))
        if generate is not None:
            text = generate(case.text, hits)
            result.raw = first_paragraph(text)
            result.raw_failures = failures(case, result.raw)
            report = gate(text, question=case.text, evidence=evidence, hits=hits, catalog=catalog)
            joiner = "" if case.lang == "zh" else " "
            result.gated = joiner.join(p for p in (evidence.direct_answer, first_paragraph(report.kept)) if p)
            result.gated_failures = failures(case, result.gated)
            result.cuts = Counter(report.counts())
            result.fell_back = report.fell_back
        results.append(result)
    return results


def summary(results: list[CaseResult]) -> dict:
    n = len(results)
    out = {"questions": n, "chinese": sum(r.case.lang == "zh" for r in results),
           "extractive_pass": sum(not r.extractive_failures for r in results) / n if n else 0.0}
    if results and results[0].raw is not None:
        out["model_raw_pass"] = sum(not r.raw_failures for r in results) / n
        out["model_gated_pass"] = sum(not r.gated_failures for r in results) / n
        out["model_raw_loops"] = sum("loop" in r.raw_failures for r in results)
        out["model_raw_wrong_language"] = sum(any(f.startswith("language") for f in r.raw_failures) for r in results)
        out["gate_fell_back"] = sum(r.fell_back for r in results)
        out["gate_cuts"] = dict(sum((r.cuts for r in results), Counter()))
    return out


def in_memory_retriever(embedder, k: int | None = None, min_score: float | None = None):
    """The service's retrieval (k and threshold: bot.settings defaults) over an index
    built in memory from knowledge/content."""
    from bot.settings import Settings
    from knowledge.index import KnowledgeIndex
    from knowledge.sections import load_sections

    k = k or Settings.model_fields["top_k"].default
    min_score = min_score if min_score is not None else Settings.model_fields["min_retrieval_score"].default

    index = KnowledgeIndex.build(load_sections(), embedder, "faithfulness-bench")

    def retrieve(question: str) -> list:
        vector = embedder.encode([question], normalize_embeddings=True, convert_to_numpy=True)[0]
        return index.search(vector, question, k=k, min_score=min_score)

    return retrieve


def main(generate: Generate | None = None, label: str = "extractive only") -> dict:
    from knowledge.embedding import default_embedding_path, load_embedder
    from rules.catalog import default_catalog

    embedder = load_embedder(default_embedding_path())
    retrieve = in_memory_retriever(embedder)
    t0 = time.perf_counter()
    results = evaluate(load_cases(), retrieve, embedder, generate, default_catalog())
    figures = summary(results)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"faithfulness ({label}): {figures}")
    for r in results:
        for name, fails, text in (("extractive", r.extractive_failures, r.direct_answer),
                                  ("model", r.raw_failures, r.raw), ("gated", r.gated_failures, r.gated)):
            if fails:
                print(f"  [{r.case.lang}] {r.case.text!r} {name}: {fails}\n      {(text or '')[:160]!r}")
    return figures


if __name__ == "__main__":
    main(label=sys.argv[1] if len(sys.argv) > 1 else "extractive only")
