"""Plain-text rendering of an Answer for the terminal. No logic: only layout."""

from __future__ import annotations

import re

from bot.answer import Answer


def to_text(answer: Answer) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", answer.answer)
    parts = [text]
    if answer.sources:
        parts.append("Sources: " + "; ".join(f"{s.title} › {s.section} ({s.score:.2f})" for s in answer.sources))
    if answer.llm and answer.llm.tokens_per_s:
        parts.append(f"[{answer.llm.model}: {answer.llm.completion_tokens} tokens at "
                     f"{answer.llm.tokens_per_s:.1f} tokens/s]")
    return "\n".join(parts)


def after_stream(answer: Answer, streamed: str) -> str:
    """What remains to print once the generated text was streamed to the terminal."""
    text = to_text(answer)
    body = streamed.strip()
    return text[text.find(body) + len(body):].lstrip("\n") if body and body in text else text
