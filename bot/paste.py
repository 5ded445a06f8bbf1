"""Pasted tool output in a question: how long it may be, and what of it is kept.

A llama.cpp log runs to tens of kilobytes, far past `max_question_chars`. A question may
be that long when the words around the paste (a run log, a llama-bench table, nvidia-smi
and the other tool output rules.parse.pasted reads) stay within `max_question_chars` and
the whole within `max_paste_chars`; for a run log the store then keeps the words and only
the log lines the diagnosis quotes, not the raw paste."""

from __future__ import annotations

from rules.parse.pasted import cut_pasted
from rules.parse.run_log import brief_lines, cut_run_log


def within_limits(text: str, max_question_chars: int, max_paste_chars: int) -> bool:
    """Whether to answer: the words within max_question_chars, and with pasted tool output
    (a run log, a llama-bench table, nvidia-smi ...) the whole within max_paste_chars."""
    if len(text) <= max_question_chars:
        return True
    if len(text) > max_paste_chars:
        return False
    words, pasted = cut_pasted(text)
    return bool(pasted.tools) and len(words.strip()) <= max_question_chars


def question_to_keep(question: str, max_question_chars: int) -> str:
    """The question as the answers table stores it: a pasted run log is cut down to the
    lines the diagnosis used (the evidence), with a note of how long the paste was; any
    other question longer than `max_question_chars` (refused as too long) to its start."""
    words, log = cut_run_log(question or "")
    if log is None:
        if len(question or "") > max_question_chars:
            return question[:max_question_chars] + f"… [{len(question):,} characters]"
        return question
    kept = brief_lines(log)
    head = words.strip()
    lines = len(question.splitlines())
    note = f"[pasted {log.tool} log: {lines} lines, {len(question):,} characters; kept {len(kept)} lines]"
    return "\n".join(part for part in [head, note, *kept] if part)


TEXT_SUFFIXES = (".txt", ".log", ".md", ".csv", ".json", ".out")


def is_text_attachment(name: str) -> bool:
    return name.lower().endswith(TEXT_SUFFIXES)


def too_large(name: str, size: int, limit: int, lang: str = "en") -> str:
    from rules.phrases import say

    return say(lang, "paste_too_large", name=name, size=size, limit=limit)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' for text written as UTF-16 without a byte-order mark
    (every other byte zero, as ASCII text is there), else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def with_attachment(question: str | None, name: str, data: bytes, max_paste_chars: int,
                    lang: str = "en") -> tuple[str, str | None]:
    """(the question with an attached text file after it, or a sentence saying why the
    file cannot be read). Undecodable bytes and oversized files are refused, not cut:
    half a log would be diagnosed as if it were all of it."""
    if len(data) > max_paste_chars:
        return question or "", too_large(name, len(data), max_paste_chars, lang)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")  # PowerShell's `>` writes UTF-16 with a byte-order mark
        elif encoding := _utf16_without_bom(data):  # the zero bytes of ASCII in UTF-16 say which order
            text = data.decode(encoding)
        else:  # any other even-length bytes "decode" as UTF-16 garbage: not a guess to make
            text = data.decode("utf-8-sig")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL bytes in text")
    except UnicodeDecodeError:
        from rules.phrases import say

        return question or "", say(lang, "paste_not_text", name=name)
    text = text.replace("\ufeff", "").replace("\r\n", "\n").strip()
    return "\n".join(part for part in [(question or "").strip(), text] if part), None
