"""A ranking for a use (rules/rank.py) in words: which benchmark ranked it, its scores with
memory and speed beside them, the models whose score is unknown, other tables, and what
the quants cost."""

from __future__ import annotations

import re

from rules.phrases import say
from rules.quality import USES, Evidence, QuantLoss, Score
from rules.rank import BIG_LOSS_MODEL, LOSS_MODEL, Ranking

UNKNOWN_SHOWN = 6  # unknown models named before "and N more"
OTHER_SHOWN = 4  # scores per other table


def score_text(s: Score) -> str:
    return f"{s.score:.1f}%" if s.unit == "%" else f"{s.score:g} {s.unit}"


def _plain(name: str) -> str:
    """A model name without spelling and the instruct suffix: "Gemma-3-27B-IT" → "gemma327b"."""
    return re.sub(r"(?:instruct|it)$", "", re.sub(r"[^a-z0-9.]", "", name.lower()))


def measured_as(model: str, s: Score, lang: str) -> str:
    """"(measured as DeepSeek-V3-0324)" when the row evaluated a version or setup the catalog
    name does not say; nothing when it is the same model spelled its own way."""
    return "" if _plain(s.evaluated_as) == _plain(model) else say(lang, "rank_evaluated_as", name=s.evaluated_as)


def sources_text(scores: list[Score], lang: str) -> str:
    """Each source once; tables of one document merged ("Tables 14, 16")."""
    tables: dict[str, list[str]] = {}
    for s in scores:
        m = re.search(r"Table (\d+)", s.source)
        key = s.source.replace(m.group(0), "Table{}") if m else s.source
        numbers = tables.setdefault(key, [])
        if m and m.group(1) not in numbers:
            numbers.append(m.group(1))
    out = []
    for key, numbers in tables.items():
        if "Table{}" in key:
            key = key.replace("Table{}", ("Tables " if len(numbers) > 1 else "Table ") + ", ".join(numbers))
        out.append(key)
    return say(lang, "list_sep").join(out)


def use_words(use: str, lang: str) -> str:
    return say(lang, f"use_{use}")


def setup_words(group: str, lang: str) -> str:
    """A table's short name ("Qwen3 report, thinking mode"); the group id where none is worded."""
    try:
        return say(lang, f"group_{group}")
    except KeyError:
        return group


def covered_words(evidence: Evidence, lang: str) -> str:
    """The uses with evidence, and those without any yet."""
    coverage = evidence.coverage()
    sep = say(lang, "list_comma")
    covered = sep.join(use_words(u, lang) for u in USES if coverage[u])
    missing = [use_words(u, lang) for u in USES if not coverage[u]]
    return say(lang, "use_none_yet", covered=covered, missing=sep.join(missing)) if missing else covered


def pct_text(x: float) -> str:
    """A perplexity increase: "2.8", and "0.04" where one decimal would say "0.0"."""
    return f"{x:.2f}" if abs(x) < 0.1 else f"{x:.1f}"


def loss_items(losses: list[QuantLoss], lang: str) -> str:
    items = []
    for loss in losses:
        if loss.kld is not None:
            items.append(say(lang, "quant_item", quant=loss.quant, kld=f"{loss.kld:.4f}", pct=pct_text(loss.ppl_increase_pct)))
        else:
            items.append(say(lang, "quant_item_no_kld", quant=loss.quant, pct=pct_text(loss.ppl_increase_pct)))
    return say(lang, "list_sep").join(items)


def ranking_lines(r: Ranking, evidence: Evidence, where: str, lang: str, rec_speed) -> list[str]:
    """`rec_speed`: the engine's formatter of a recommendation's speed and range."""
    first = r.ranked[0][1]
    lines = [say(lang, "rank_head", use=use_words(r.use, lang), where=where, benchmark=r.benchmark,
                 settings=first.settings, evaluator=first.evaluated_by, date=first.date)]
    for n, (rec, s) in enumerate(r.ranked, start=1):
        name = rec.model + measured_as(rec.model, s, lang)
        lines.append(say(lang, "rank_item", n=n, model=name, quant=rec.quant, score=score_text(s),
                         total=rec.total_gib, **rec_speed(rec)))
    if r.more:
        lines.append(say(lang, "rank_more", count=r.more))
    vendors = sorted({s.evaluated_by for s in r.scores if s.self_reported})
    if vendors and all(s.self_reported for s in r.scores):
        lines.append(say(lang, "rank_all_self_reported", vendors=say(lang, "list_comma").join(vendors)))
    elif vendors:
        lines.append(say(lang, "rank_self_reported", vendors=say(lang, "list_comma").join(vendors)))
    else:
        lines.append(say(lang, "rank_independent", evaluator=first.evaluated_by))
    if r.unknown:
        names = say(lang, "list_comma").join(r.unknown[:UNKNOWN_SHOWN])
        if len(r.unknown) > UNKNOWN_SHOWN:
            names = say(lang, "rank_unknown_more", names=names, count=len(r.unknown) - UNKNOWN_SHOWN)
        lines.append(say(lang, "rank_unknown", benchmark=r.benchmark, models=names))
    others = []
    for benchmark, group, rows in r.other:
        if not rows:
            continue
        scores = say(lang, "list_comma").join(say(lang, "rank_score", model=name, score=score_text(s))
                                               for name, s in rows[:OTHER_SHOWN])
        others.append(say(lang, "rank_other_item", benchmark=benchmark, evaluator=rows[0][1].evaluated_by,
                          setup=setup_words(group, lang), scores=scores))
    if others:
        lines.append(say(lang, "rank_other", items=say(lang, "list_sep").join(others)))
    if r.losses:
        big = evidence.loss("Q4_K_M", BIG_LOSS_MODEL)
        lines.append(say(lang, "rank_quants", measured_on=LOSS_MODEL, items=loss_items(r.losses, lang),
                         big=say(lang, "quant_big", model=BIG_LOSS_MODEL, pct=pct_text(big.ppl_increase_pct)) if big else ""))
    lines.append(say(lang, "rank_source", source=sources_text(r.scores, lang)))
    return lines



def scored_elsewhere(evidence: Evidence, use: str, lang: str, shown: int = 4) -> str:
    """", (only Llama 4 Scout, Llama 4 Maverick have one, and they do not fit)": the catalog
    models with a score for the use, when none of them fits."""
    names = sorted((name for name, rows in evidence.by_model.items() if any(s.use == use for s in rows)))
    if not names:
        return ""
    text = say(lang, "list_comma").join(names[:shown])
    if len(names) > shown:
        text = say(lang, "rank_unknown_more", names=text, count=len(names) - shown)
    return say(lang, "rank_scored_elsewhere", models=text)
