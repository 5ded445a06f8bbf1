"""What has been read so far from one question: the fields of the `Query`, the
assumptions made (said in the answer) and the parts that could not be read."""

from __future__ import annotations

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


def cached_per_catalog(build):
    """Decorator: build(catalog) once per catalog object."""
    cached = cache(lambda key: build(catalog_of(key)))

    def get(catalog: Catalog):
        return cached(catalog_key(catalog))

    get.__doc__ = build.__doc__
    return get
