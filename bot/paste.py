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


def too_large(name: str, size: int, limit: int) -> str:
    return (f"{name} is {size:,} bytes; I read attached logs up to {limit:,} bytes "
            "(attach or paste the load lines and the timing lines instead).")


def with_attachment(question: str | None, name: str, data: bytes, max_paste_chars: int) -> tuple[str, str | None]:
    """(the question with an attached text file after it, or a sentence saying why the
    file cannot be read). Undecodable bytes and oversized files are refused, not cut:
    half a log would be diagnosed as if it were all of it."""
    if len(data) > max_paste_chars:
        return question or "", too_large(name, len(data), max_paste_chars)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")  # PowerShell's `>` writes UTF-16 with a byte-order mark
        else:  # without one, any even-length bytes "decode" as UTF-16 garbage: not a guess to make
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return question or "", f"{name} is not a UTF-8 text file."
    text = text.replace("\ufeff", "").replace("\r\n", "\n").strip()
    return "\n".join(part for part in [(question or "").strip(), text] if part), None
