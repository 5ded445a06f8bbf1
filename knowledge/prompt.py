"""The prompt: retrieved sections and, when the question names hardware, the rule
engine's figures. Small models follow short, plain instructions best."""

from __future__ import annotations

import re

from knowledge.index import Hit
from rules.phrases import language_of

# Prompt processing dominates time to first token on a CPU (~160 tokens/s for
# SmolLM2 on one thread), and its tokenizer spends about a token per Chinese
# character, so sections are cut shorter in Chinese. The summary comes first.
MAX_SECTION_CHARS = {"en": 500, "zh": 220}


def build_messages(question: str, hits: list[Hit], facts: str | None = None) -> list[dict]:
    chinese = language_of(question) == "zh"
    context = "\n\n".join(f"[{i}] {h.title}\n{h.text[:MAX_SECTION_CHARS.get(h.lang, 500)]}" for i, h in enumerate(hits, 1))
    if facts:
        context += "\n\nSizing figures for this question:\n" + re.sub(r"\*\*", "", facts)
    system = (
        "You are RigBot, an expert on running large language models on home hardware. "
        "Answer the question in 2 to 4 sentences using only the notes. "
        + ("Answer in Chinese." if chinese else "Answer in English.")
    )
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Notes:\n{context}\n\nQuestion: {question}"},
    ]
