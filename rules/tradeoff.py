"""Two models weighed by quality: "Qwen3-32B Q4_K_M or Qwen3-14B Q8_0 on 24 GB?".

Each option is sized on its own (rules/engine.py `_compare_options`); this adds what the
evidence says: both models' scores in every table that measured both (the question's use
only, when it names one), what each quant costs as llama.cpp measured it, and a
recommendation with its reason. Benchmark scores are of the 16-bit models and quant losses
are perplexity/KLD on a reference model: the two are not in one unit, so the rule is stated
in words, never blended into one number.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import Catalog
from rules.phrases import say, tps
from rules.quality import BENCHMARK_PRIORITY, Evidence, Score, evidence_for
from rules.rank import BIG_LOSS_MODEL, LOSS_MODEL, loss_info, quality_score
from rules.rank_words import pct_text, score_text, setup_words, use_words
from rules.schema import QualityInfo, SizingResult, Verdict

SMALL_LOSS_KLD = 0.05  # Q4_K_S and up on Llama 3 8B; Q3 types and below lose 2-3x more
SAME_SPEED_RATIO = 1.05  # speeds closer than this are the same within the model's own ranges
SAME_QUALITY_POINTS = 1.0  # mean gap (percentage points) below which the evidence shows no winner


@dataclass
class Side:
    label: str
    model: str
    params_b: float
    quant: str
    result: SizingResult

    @property
    def tps(self) -> float | None:
        return self.result.speed.expected_tokens_per_s if self.result.speed else None

    @property
    def fits(self) -> bool:
        return self.result.verdict in (Verdict.FITS_GPU, Verdict.CPU_ONLY)


def shared_scores(a: str, b: str, evidence: Evidence, use: str | None) -> list[tuple[Score, Score]]:
    """Pairs of scores from the same table and benchmark (each model's best run there)."""
    keys = []
    for s in evidence.for_model(a, use):
        if (s.group, s.benchmark) not in keys:
            keys.append((s.group, s.benchmark))
    pairs = []
    for group, benchmark in keys:
        sa, sb = evidence.score(a, group, benchmark), evidence.score(b, group, benchmark)
        if sa is not None and sb is not None:
            pairs.append((sa, sb))
    if use is None:  # no use named: each table's headline benchmark per use, not every row
        best: dict[tuple[str, str], tuple[Score, Score]] = {}
        for pair in pairs:
            order = BENCHMARK_PRIORITY.get(pair[0].use, ())
            key = (pair[0].group, pair[0].use)
            if key not in best or _rank(pair[0], order) < _rank(best[key][0], order):
                best[key] = pair
        pairs = [p for p in pairs if best.get((p[0].group, p[0].use)) is p]
    return pairs


def _rank(s: Score, order: tuple[str, ...]) -> int:
    return order.index(s.benchmark) if s.benchmark in order else len(order)


def weigh(answers: list[tuple[str, SizingResult]], use: str | None, catalog: Catalog,
          lang: str, evidence: Evidence | None = None) -> tuple[list[str], QualityInfo] | None:
    """The quality lines and evidence for two options that are models; None when the options
    differ only in hardware (the quality question does not arise)."""
    sides = [Side(label, r.model.name, r.model.params_b, r.model.quant, r) for label, r in answers
             if r.model is not None and not r.error]
    if len(sides) != 2 or len({s.model for s in sides}) == len({s.quant for s in sides}) == 1:
        return None
    evidence = evidence or evidence_for(catalog)
    losses = [evidence.loss(s.quant, LOSS_MODEL) for s in sides]
    info = QualityInfo(use=use, quant_loss=[loss_info(x) for x in dict.fromkeys(losses) if x is not None])
    lines: list[str] = []
    a, b = sides
    if a.model == b.model:
        if len({s.quant for s in sides}) == 1:
            return None
        lines.append(say(lang, "tradeoff_same_model", model=a.model))
        pairs = []
    else:
        pairs = shared_scores(a.model, b.model, evidence, use)
        if pairs:
            lines += [say(lang, "tradeoff_head"), say(lang, "tradeoff_table_head", a=a.label, b=b.label),
                      "|---|---|---|"]
            lines += [say(lang, "tradeoff_row", benchmark=sa.benchmark, evaluator=sa.evaluated_by,
                          setup=setup_words(sa.group, lang), a=score_text(sa), b=score_text(sb)) for sa, sb in pairs]
            info.scores = [quality_score(s, side.model) for sa, sb in pairs for s, side in ((sa, a), (sb, b))]
    lines.append(_loss_line(sides, evidence, lang))
    verdict, reason, pick = _recommend(sides, pairs, losses, use, lang)
    lines.append(verdict)
    info.reason = reason
    info.recommendation = pick.label if pick else None
    return lines, info


def _loss_line(sides: list[Side], evidence: Evidence, lang: str) -> str:
    items = []
    for quant in dict.fromkeys(s.quant for s in sides):
        loss = evidence.loss(quant, LOSS_MODEL)
        if loss is None or loss.kld is None:
            continue
        big = evidence.loss(quant, BIG_LOSS_MODEL)
        items.append(say(lang, "tradeoff_quant_item", quant=quant, kld=f"{loss.kld:.4f}",
                         pct=pct_text(loss.ppl_increase_pct),
                         big=say(lang, "tradeoff_quant_big", pct=pct_text(big.ppl_increase_pct)) if big else ""))
    return say(lang, "tradeoff_quants", items=say(lang, "list_sep").join(items)) if items else ""


def _recommend(sides: list[Side], pairs: list[tuple[Score, Score]], losses, use: str | None,
               lang: str) -> tuple[str, str, Side | None]:
    a, b = sides
    if a.fits != b.fits:
        pick, other = (a, b) if a.fits else (b, a)
        return say(lang, "tradeoff_fit", pick=pick.label, other=other.label), "fit", pick
    if a.model == b.model:  # one model at two quants, both fitting: the one that loses less
        known = [(loss.kld, side) for loss, side in zip(losses, sides, strict=True) if loss and loss.kld is not None]
        if len(known) < 2:
            return "", "no_evidence", None
        pick = min(known, key=lambda x: x[0])[1]
        other = b if pick is a else a
        return say(lang, "tradeoff_better_quant", pick=pick.label, other=other.label,
                   tps_pick=_tps(pick.tps), tps_other=_tps(other.tps)), "same_model", pick
    if not pairs:
        use_text = say(lang, "tradeoff_for_use", use=use_words(use, lang)) if use else ""
        return say(lang, "tradeoff_no_shared", a=a.model, b=b.model, use=use_text), "no_evidence", None
    big, small = (a, b) if a.params_b >= b.params_b else (b, a)
    big_first = big is a
    diffs = [(sa.score - sb.score) if big_first else (sb.score - sa.score) for sa, sb in pairs]
    percent = [d for d, (sa, _) in zip(diffs, pairs, strict=True) if sa.unit == "%"]
    mean = sum(percent) / len(percent) if percent else 0.0
    wins = sum(1 for d in diffs if d > 0)
    big_loss = losses[sides.index(big)]
    faster, slower = (a, b) if (a.tps or 0) >= (b.tps or 0) else (b, a)
    if mean >= SAME_QUALITY_POINTS and wins * 2 > len(diffs):
        if big_loss is not None and big_loss.kld is not None and big_loss.kld > SMALL_LOSS_KLD:
            return say(lang, "tradeoff_low_quant", pick=small.label, big=big.label, mean=mean, quant=big.quant,
                       kld=f"{big_loss.kld:.3f}"), "quant_loss_large", small
        ratio = (small.tps / big.tps) if small.tps and big.tps else 1.0
        speeds = dict(tps_pick=_tps(big.tps), tps_other=_tps(small.tps))
        if ratio <= 1.0:  # a MoE can be bigger and faster: nothing to trade
            return say(lang, "tradeoff_bigger_faster", pick=big.label, wins=wins, shared=len(diffs), mean=mean,
                       quant=big.quant, **speeds), "bigger_model", big
        return say(lang, "tradeoff_bigger", pick=big.label, wins=wins, shared=len(diffs), mean=mean, quant=big.quant,
                   other=small.label, ratio=ratio, **speeds), "bigger_model", big
    if mean <= -SAME_QUALITY_POINTS:
        return say(lang, "tradeoff_smaller", pick=small.label, mean=-mean, shared=len(diffs)), "smaller_scores_higher", small
    if faster.tps and slower.tps and faster.tps < SAME_SPEED_RATIO * slower.tps:
        # about as fast too: the quant that loses less
        kld = {id(side): (loss.kld if loss and loss.kld is not None else 1.0) for loss, side in zip(losses, sides, strict=True)}
        pick = min(sides, key=lambda side: kld[id(side)])
        return say(lang, "tradeoff_same_speed", pick=pick.label, mean=mean, shared=len(diffs)), "same_quality", pick
    speeds = dict(tps_pick=_tps(faster.tps), tps_other=_tps(slower.tps))
    return say(lang, "tradeoff_same", pick=faster.label, mean=mean, shared=len(diffs), **speeds), "same_quality", faster


def _tps(x: float | None) -> str:
    return "?" if x is None else tps(x)
