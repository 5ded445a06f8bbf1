"""The prompt: the evidence that answers the question and, when the question names
hardware, the rule engine's figures. Small models follow short, plain instructions best.

Time to first token on a CPU is prompt processing, so the prompt carries only the
sentences of the retrieved sections that share words with the question (each
section's summary sentence first), within a character budget, and the system prompt
is one fixed text placed first: llama-server then reuses its cached prefix
(`cache_prompt`) and processes only the question-specific part."""

from __future__ import annotations

import re

from knowledge.index import Hit, tokenize
from rules.phrases import language_of

SYSTEM_PROMPT = ("You are RigBot, an expert on running large language models on home hardware. "
                 "Answer the question in 2 to 4 sentences using only the notes.")

# Characters of evidence per prompt. SmolLM2's tokenizer spends about 3.3 characters per
# English token and about 1.5 tokens per Chinese character, and one CPU core prefills
# about 110-160 tokens/s: these budgets keep the uncached part of the prompt near 100
# tokens, for a first token within about a second (bench/knowledge_speed.py).
EVIDENCE_CHARS = {"en": 300, "zh": 80}

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？；])|\n+")


def sentences(text: str) -> list[str]:
    """A section's sentences and bullet items, markup stripped, tables dropped."""
    out = []
    for piece in _SENTENCE_END.split(text):
        piece = re.sub(r"^\s*[-*]\s+", "", piece).strip()
        if not piece or piece.startswith("|"):
            continue
        out.append(piece)
    return out


def select_evidence(question: str, hits: list[Hit], budget: int | None = None) -> list[tuple[Hit, list[str]]]:
    """Per hit (in rank order), the sentences that answer the question, in their
    original order. The best hit's summary always goes in; then sentences by how many
    of the question's words they contain (earlier hits win ties) until the budget is
    spent. Hits left with no sentence are dropped."""
    lang = language_of(question)
    budget = budget or EVIDENCE_CHARS.get(lang, EVIDENCE_CHARS["en"])
    wanted = set(tokenize(question))
    candidates = []  # (score, rank, position, sentence)
    for rank, hit in enumerate(hits):
        for pos, sentence in enumerate(sentences(hit.text)):
            overlap = len(wanted & set(tokenize(sentence)))
            # the summary sentence states the section's point: worth a match of its own
            score = overlap + (1 if pos == 0 else 0)
            if score > 0:
                candidates.append((score, rank, pos, sentence))
    chosen: set[tuple[int, int]] = set()
    used = 0
    first_hit = [c for c in candidates if c[1] == 0 and c[2] == 0]
    ordered = first_hit + sorted(candidates, key=lambda c: (-c[0], c[1], c[2]))
    for _, rank, pos, sentence in ordered:
        if (rank, pos) in chosen:
            continue
        if chosen and used + len(sentence) > budget:
            continue
        chosen.add((rank, pos))
        used += len(sentence) + 1
    result = []
    for rank, hit in enumerate(hits):
        picked = [s for pos, s in enumerate(sentences(hit.text)) if (rank, pos) in chosen]
        if picked:
            result.append((hit, picked))
    return result


def build_messages(question: str, hits: list[Hit], facts: str | None = None,
                   budget: int | None = None) -> list[dict]:
    chinese = language_of(question) == "zh"
    evidence = select_evidence(question, hits, budget)
    # section titles are left out: the summary sentence says the same in the tokens it costs
    context = "\n".join(f"[{i}] {' '.join(picked)}" for i, (_, picked) in enumerate(evidence, 1))
    if facts:
        context += "\n\nSizing figures for this question:\n" + re.sub(r"\*\*", "", facts)
    language = "Answer in Chinese." if chinese else "Answer in English."
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Notes:\n{context}\n\nQuestion: {question}\n{language}"},
    ]
