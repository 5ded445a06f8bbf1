"""Streaming under the faithfulness gate: generated text reaches the user sentence by
sentence, each one only after it passed the same checks `faithfulness.gate` applies to
the whole text (one `SentenceGate`), so nobody sees a sentence the gate would cut (a
flipped negation, an invented number, a loop, the wrong language)."""

from __future__ import annotations

import re

from knowledge.evidence import Evidence
from knowledge.faithfulness import Cut, SentenceGate, support_for
from knowledge.llm_client import call_back
from rules.phrases import language_of

# a sentence ends at . ! ? followed by white space (not "1.5" or "llama.cpp"), at 。！？,
# or at a line break
_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")
MAX_BUFFER = 600  # characters without a sentence end: checked as one sentence anyway


class GatedStream:
    def __init__(self, question: str, evidence: Evidence, hits, facts: str | None, catalog, emit) -> None:
        self.lang = evidence.lang or language_of(question)
        self.sentences = SentenceGate(question=question, evidence=evidence, support=support_for(question, hits, facts),
                                      lang=self.lang, catalog=catalog)
        self.emit = emit
        self.buffer = ""

    @property
    def shown(self) -> list[str]:
        return self.sentences.kept

    @property
    def cuts(self) -> list[Cut]:
        return self.sentences.cuts

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
        if text and self.sentences.check(text) is None:
            await call_back(self.emit, text + ("" if self.lang == "zh" else " "))
