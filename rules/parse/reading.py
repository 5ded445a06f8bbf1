"""What has been read so far from one question: the fields of the `Query`, the
assumptions made (said in the answer) and the parts that could not be read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from rules.phrases import say

if TYPE_CHECKING:
    from rules.catalog import Catalog


@dataclass
class Reading:
    lang: str
    fields: dict = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    vram_gib: float | None = None  # "显存8G", "12GB VRAM": a card's memory, read before RAM sizes
    vram_count: int = 1  # "2x 24GB": how many cards of that memory
    vram_at: int | None = None  # where that size was said: it belongs to the nearest card
    apple_span: tuple[int, int] | None = None  # where an Apple chip or Mac was named
    quant_at: list[tuple[int, str]] = field(default_factory=list)  # (position, quant) of each quant named

    def note(self, key: str, **values) -> None:
        """An assumption, worded in the question's language."""
        text = say(self.lang, key, **values)
        if text not in self.assumptions:
            self.assumptions.append(text)

    def could_not_read(self, key: str, **values) -> None:
        text = say(self.lang, key, **values)
        if text not in self.unread:
            self.unread.append(text)

    def fail(self, error: str, key: str, **values) -> None:
        """The first hard error wins; the question is answered with its sentence."""
        if not self.fields.get("error"):
            self.fields["error"] = error
            self.fields["error_message"] = say(self.lang, key, **values)

    @property
    def failed(self) -> bool:
        return bool(self.fields.get("error"))


# Compiled patterns are cached per catalog object (a reload makes a new one).
_catalogs: dict[int, Catalog] = {}


def catalog_key(catalog: Catalog) -> int:
    _catalogs[id(catalog)] = catalog
    return id(catalog)


def catalog_of(key: int) -> Catalog:
    return _catalogs[key]


class LazyPattern:
    """A regex compiled on first use: catalogs have thousands of keys, and a question only
    ever tries the few whose words it contains (compiling them all cost a cold start ~1 s)."""

    __slots__ = ("_source", "_compiled")

    def __init__(self, source: str) -> None:
        self._source, self._compiled = source, None

    def _re(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return self._compiled

    def search(self, text: str, *args) -> re.Match[str] | None:
        return self._re().search(text, *args)

    def match(self, text: str, *args) -> re.Match[str] | None:
        return self._re().match(text, *args)

    def finditer(self, text: str, *args):
        return self._re().finditer(text, *args)


class Patterns(list):
    """(pattern, name, anchor) triples in matching order (longest first), indexed by
    anchor: a question is tried only against the patterns whose every word and number it
    contains, so parsing costs about the same with 170 GPUs or 2,800."""

    def __init__(self, triples, keys: list[str] | None = None, glued: bool = True) -> None:
        """`keys`: the text each pattern was made from (its words and numbers must all be in a
        question); `glued`: also find words inside longer runs of letters ("titanrtx"); off
        for the open catalog, whose thousands of words would make that the parse's main cost."""
        super().__init__(triples)
        self._by_anchor: dict[str, list[int]] = {}
        self._needs: list[frozenset[str]] = []  # the words and numbers each pattern's key is made of
        self._cjk: list[int] = []  # CJK anchors: Chinese has no spaces, so matched as substrings
        for i, (_, _, anchor) in enumerate(self):
            self._needs.append(frozenset(_TOKENS.findall(keys[i] if keys else anchor)))
            if _CJK.search(anchor):
                self._cjk.append(i)
            else:
                self._by_anchor.setdefault(anchor, []).append(i)
        self._words = {w for needs in self._needs for w in needs if w.isalpha()} if glued else set()

    def candidates(self, text: str) -> list:
        """The triples that can match `text`, in matching order."""
        tokens = set(_TOKENS.findall(text))
        # a word may sit inside a longer run of letters: "titanrtx", "mistralsmall", a plural
        # ("xts", "tis") or a count's x ("2xa2000", "8xl40s")
        tokens |= {w for token in tokens if token.isalpha() and len(token) > 1
                   for w in self._words if w in token and w != token}
        found = {i for token in tokens for i in self._by_anchor.get(token, ()) if self._needs[i] <= tokens}
        found.update(i for i in self._cjk if self[i][2] in text)
        return [self[i] for i in sorted(found)]


_TOKENS = re.compile(r"[a-z]+|\d+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def cached_per_catalog(build):
    """Decorator: build(catalog) once per catalog object."""
    cached = cache(lambda key: build(catalog_of(key)))

    def get(catalog: Catalog):
        return cached(catalog_key(catalog))

    get.__doc__ = build.__doc__
    return get
