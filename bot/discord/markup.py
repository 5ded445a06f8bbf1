"""Nothing a user typed becomes RigBot's markup.

Every text RigBot posts may carry what a user typed: a name echoed in an answer
("I don't know a model called '…'"), a pasted hardware line, a report, an attachment's
file name, generated text quoting the question. The sentences RigBot writes itself use
bold, italics, bullets and inline code, and never links, mentions, headings or code
fences; so at the rendering boundary every text that may carry a user's words (answer
text, names in titles and fields, replies to /myrig and /report, an attachment's name)
is passed through `defuse`, which neutralises exactly those four, and a command shown
in inline code through `code`. Emphasis is left alone: at worst it makes a word italic,
and escaping it would show backslashes in catalog names such as Q4_K_M. `defuse` is
idempotent: text that went through it once comes out the same (no double escaping).
`allowed_mentions` stays none on every message besides (no ping even if one slipped)."""

from __future__ import annotations

import re

ZWSP = "\u200b"

# An escape is a backslash before the character; `\\[` is an escaped backslash and a
# live bracket, so "escaped" means an odd run of backslashes before it.
_UNESCAPED = r"(?<!\\)((?:\\\\)*)"
# [text](url) — a masked link: its brackets
_MASKED_LINK = re.compile(_UNESCAPED + r"\[(?=[^\]\n]*\]\s*\()")
_CLOSE_BRACKET = re.compile(_UNESCAPED + r"\](?=\s*\()")
# <@123> <@!123> <@&123> <#123> </cmd:123> <id:customize> — and @everyone / @here
_ENTITY = re.compile(r"<(?=[@#]|/[\w -]+:\d|id:)")
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# headings (#, ##, ###) and subtext (-#) at the start of a line, or after a quote marker
_HEADING = re.compile(r"^([ \t]*(?:>+[ \t]*)?)(-?#{1,3}[ \t])", re.MULTILINE)
_FENCE = re.compile(_UNESCAPED + r"```")


def defuse(text: str | None) -> str:
    """Bot text that may carry a user's words: links, mentions, headings and code
    fences neutralised; bold, italics, bullets and inline code left alone."""
    if not text:
        return text or ""
    text = _MASKED_LINK.sub(r"\1\\[", text)
    text = _CLOSE_BRACKET.sub(r"\1\\]", text)
    text = _ENTITY.sub("<" + ZWSP, text)
    text = _EVERYONE.sub("@" + ZWSP, text)
    text = _HEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _FENCE.sub(r"\1\\`\\`\\`", text)


def code(text: str | None) -> str:
    """Text for inside an inline code span (a command line): a backtick would close the
    span and let what follows render, so backticks become ˋ; mentions are defused."""
    text = (text or "").replace("`", "ˋ")
    return _EVERYONE.sub("@" + ZWSP, _ENTITY.sub("<" + ZWSP, text))
