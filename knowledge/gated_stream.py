"""Streaming under the faithfulness gate: generated text reaches the user sentence by
sentence, each one only after it passed the same checks `faithfulness.gate` applies to
the whole text, so nobody sees a sentence the gate would cut (a flipped negation, an
invented number, a loop, the wrong language)."""

from __future__ import annotations

import inspect
import re

from knowledge.evidence import Evidence
from knowledge.faithfulness import (
    REPETITION,
    Cut,
    _grams,
    _normal,
    _restates,
    check_sentence,
    support_for,
)
from rules.phrases import language_of

# a sentence ends at . ! ? followed by white space (not "1.5" or "llama.cpp"), at 。！？,
# or at a line break
_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")
MAX_BUFFER = 600  # characters without a sentence end: checked as one sentence anyway


class GatedStream:
    def __init__(self, question: str, evidence: Evidence, hits, facts: str | None, catalog, emit) -> None:
        self.question = question
        self.evidence = evidence
        self.lang = evidence.lang or language_of(question)
        self.support = support_for(question, hits, facts)
        self.catalog = catalog
        self.emit = emit
        self.buffer = ""
        self.checked = 0
        self.shown: list[str] = []
        self.cuts: list[Cut] = []
        self._seen: set[str] = set()
        self._opening = _grams(evidence.direct_answer)

    async def feed(self, piece: str) -> None:
        self.buffer += piece
        while (m := _END.search(self.buffer)) or len(self.buffer) > MAX_BUFFER:
            end = m.end() if m else len(self.buffer)
            sentence, self.buffer = self.buffer[:end], self.buffer[end:]
            await self._check(sentence)

    async def close(self) -> None:
        if self.buffer.strip():
            await self._check(self.buffer)
        self.buffer = ""

    async def _check(self, sentence: str) -> None:
        text = sentence.strip()
        if not text:
            return
        cut = check_sentence(text, question=self.question, evidence=self.evidence, support=self.support,
                             lang=self.lang, catalog=self.catalog, first=self.checked == 0)
        key = _normal(text)
        if cut is None and (key in self._seen or _restates(text, self._opening)):
            cut = Cut(text, REPETITION, text[:60])
        self._seen.add(key)
        self.checked += 1
        if cut is not None:
            self.cuts.append(cut)
            return
        self.shown.append(text)
        if self.emit is None:
            return
        result = self.emit(text + ("" if self.lang == "zh" else " "))
        if inspect.isawaitable(result):
            await result
