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


def _catalog():
    from rules.catalog import default_catalog

    return default_catalog()


def gpu_names(current: str) -> list[str]:
    try:
        gpus = _catalog().gpus
    except Exception:
        log.warning("catalog unavailable for autocomplete", exc_info=True)
        return []
    return rank([(g.name, list(g.keys)) for g in gpus], current)


def model_names(current: str) -> list[str]:
    try:
        models = _catalog().models
    except Exception:
        log.warning("catalog unavailable for autocomplete", exc_info=True)
        return []
    ordered = sorted(models, key=lambda m: not m.popular)  # popular ones first when nothing is typed
    return rank([(m.name, list(m.aliases)) for m in ordered], current)


def quant_names(current: str) -> list[str]:
    try:
        quants = _catalog().quants
    except Exception:
        log.warning("catalog unavailable for autocomplete", exc_info=True)
        return []
    return rank([(q.name, list(q.words)) for q in quants], current)
