"""Chunks that never cross a section boundary: a long section splits at paragraphs."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.sections import Section

MAX_CHUNK_CHARS = 900  # ~200 English words; MiniLM reads 256 word pieces


@dataclass(frozen=True)
class Chunk:
    section_id: str
    lang: str
    title: str
    page_title: str
    text: str  # what gets embedded: title + body part

    def key(self) -> tuple[str, str]:
        return (self.lang, self.section_id)


def chunk_sections(sections: list[Section]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for s in sections:
        head = f"{s.page_title} — {s.title}\n"
        part = ""
        for para in s.text.split("\n\n"):
            if part and len(part) + len(para) > MAX_CHUNK_CHARS:
                chunks.append(Chunk(s.id, s.lang, s.title, s.page_title, head + part.strip()))
                part = ""
            part += para + "\n\n"
        if part.strip():
            chunks.append(Chunk(s.id, s.lang, s.title, s.page_title, head + part.strip()))
    return chunks
