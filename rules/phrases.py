"""The engine's sentences in the language of the question (`rules/data/phrases.toml`).

Pure data lookup: the engine computes, this only words it. Both languages must carry
the same keys and the same placeholders, or loading fails with the key named."""

from __future__ import annotations

import re
import string
import tomllib
from functools import cache
from pathlib import Path

from rules.catalog import DATA_DIR, CatalogError

LANGUAGES = ("en", "zh")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def language_of(text: str) -> str:
    """Chinese when the question has any Chinese characters, else English."""
    return "zh" if _CJK.search(text or "") else "en"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_phrases(path: Path = DATA_DIR / "phrases.toml") -> dict[str, dict[str, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    tables = {lang: data.get(lang) for lang in LANGUAGES}
    if not all(isinstance(t, dict) and t for t in tables.values()):
        raise CatalogError(f"{path}: needs non-empty [en] and [zh] tables")
    en = tables["en"]
    for lang, table in tables.items():
        if set(table) != set(en):
            raise CatalogError(f"{path}: [{lang}] keys differ from [en]: {sorted(set(table) ^ set(en))}")
        for key, template in table.items():
            try:
                fields = _fields(template)
            except ValueError as exc:
                raise CatalogError(f"{path}: [{lang}] {key}: {exc}") from exc
            if fields != _fields(en[key]):
                raise CatalogError(f"{path}: [{lang}] {key} has fields {sorted(fields)}, "
                                   f"[en] has {sorted(_fields(en[key]))}")
    return tables


@cache
def _default() -> dict[str, dict[str, str]]:
    return load_phrases()


def say(lang: str, key: str, **fields) -> str:
    table = _default()
    return table.get(lang, table["en"])[key].format(**fields)


def template(lang: str, key: str) -> str:
    """A phrase unfilled, e.g. to find the line an earlier answer began with it."""
    table = _default()
    return table.get(lang, table["en"])[key]


def tps(x: float) -> str:
    """Tokens/s as people read them: 42, 8.8, 0.92."""
    return f"{x:.0f}" if x >= 20 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"
