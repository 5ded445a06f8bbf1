"""Autocomplete over the catalogs: substring matches first, then fuzzy ones
(rapidfuzz), at most 25 as Discord allows. Only names; no sizing."""

from __future__ import annotations

import logging
import re

from rapidfuzz import fuzz

log = logging.getLogger(__name__)

MAX_CHOICES = 25
MIN_FUZZY_SCORE = 60


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_.·]+", "", text.lower())


def rank(items: list[tuple[str, list[str]]], current: str, limit: int = MAX_CHOICES) -> list[str]:
    """Names from `(name, extra keys)` pairs that match what the user typed so far."""
    query = _norm(current or "")
    if not query:
        return [name for name, _ in items][:limit]
    scored: list[tuple[float, int, str]] = []
    for order, (name, keys) in enumerate(items):
        haystack = [_norm(name)] + [_norm(k) for k in keys]
        if haystack[0].startswith(query):
            score = 300.0
        elif any(query in h for h in haystack):
            score = 200.0
        else:
            score = max(fuzz.WRatio(query, h) for h in haystack if h) if any(haystack) else 0.0
            if score < MIN_FUZZY_SCORE:
                continue
        scored.append((-score, order, name))
    scored.sort()
    return [name[:100] for _, _, name in scored[:limit]]


def _ranked(items_of, current: str) -> list[str]:
    """`rank` over what `items_of(catalog)` lists; no choices while the catalog is broken."""
    from rules.catalog import default_catalog

    try:
        items = items_of(default_catalog())
    except Exception:
        log.warning("catalog unavailable for autocomplete", exc_info=True)
        return []
    return rank(items, current)


def gpu_names(current: str) -> list[str]:
    return _ranked(lambda c: [(g.name, list(g.keys)) for g in c.gpus], current)


def model_names(current: str) -> list[str]:
    # popular ones first when nothing is typed
    return _ranked(lambda c: [(m.name, list(m.aliases)) for m in sorted(c.models, key=lambda m: not m.popular)],
                   current)


def quant_names(current: str) -> list[str]:
    return _ranked(lambda c: [(q.name, list(q.words)) for q in c.quants], current)



def use_choices(current: str, lang: str) -> list[tuple[str, str]]:
    """(shown name, value) for the uses RigBot ranks by: the name in the user's language,
    the value the use's id; matched on both languages' words."""
    from rules.phrases import say
    from rules.quality import USES

    items = [(say(lang, f"use_{u}"), [u, say("en", f"use_{u}"), say("zh", f"use_{u}")]) for u in USES]
    value = {say(lang, f"use_{u}")[:100]: u for u in USES}
    return [(name, value[name]) for name in rank(items, current)]
