"""The question as text: normalisation, and a buffer whose matched spans are blanked
out so that one phrase is read once ("3060 12GB" is a GPU, not 12 GB of RAM)."""

from __future__ import annotations

import re
import unicodedata

NUM = r"(\d+(?:\.\d+)?)"  # one captured decimal number
SEP = r"[\s\-_:]*"  # ":" for Ollama tags ("qwen3:30b-a3b")
CJK = r"[\u4e00-\u9fff]"


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters → ASCII), lower case, × → x."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("×", "x").replace("＊", "*").replace("\u00a0", " ")


def flex(key: str) -> str:
    """'rtx 3060 ti' → a pattern that also accepts 'rtx3060ti', 'RTX-3060-Ti'."""
    tokens = re.findall(r"[a-z]+|\d+|[^\sa-z\d\-_]", key.lower())
    pattern = re.escape(tokens[0]) if tokens else ""
    for before, token in zip(tokens, tokens[1:], strict=False):
        # "a100", "p40", "m1": a lone letter joins its number without a space, or
        # "a 100 tokens/s" and "a 40 GB card" would read as GPUs
        tight = len(before) == 1 and before.isalpha() and token.isdigit()
        pattern += (r"[\-_]?" if tight else SEP) + re.escape(token)
    return pattern


def anchor(key: str) -> str:
    """The longest run of letters or digits in a key: any spelling flex() accepts contains
    it, so a pattern whose anchor is absent from the text cannot match (a cheap pre-check)."""
    tokens = re.findall(r"[a-z]+|\d+|[\u4e00-\u9fff]+", key.lower())
    return max(tokens, key=len) if tokens else ""


def bounded(pattern: str) -> re.Pattern[str]:
    """A pattern that starts and ends on a word boundary (plural 's' allowed)."""
    return re.compile(bounded_source(pattern))


def bounded_source(pattern: str) -> str:
    """bounded()'s regex, not yet compiled (for patterns compiled on first use)."""
    return rf"(?<![a-z0-9.]){pattern}(?:s)?(?![a-z0-9])"


class Text:
    """The normalised question; `find` returns a match and blanks its span."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, match: re.Match[str], group: int = 0) -> None:
        start, end = match.span(group)
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.search(self.text)
        if match:
            self.take(match)
        return match

    def find_all(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = []
        while match := self.find(pattern):
            found.append(match)
        return found
