"""The models that fit a rig, ranked by the quality evidence for one use.

Only scores from one benchmark run by one evaluator with one setup (a `group` in
data/quality.toml) are ranked against each other: the one that measured the most of the
models that fit. Models that fit but have no score there are listed as unknown; their
score is never estimated. Scores are of the 16-bit models, so the quant each model needs is
shown beside its measured loss (rules/quality.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.catalog import Catalog, ModelSpec, QuantType
from rules.quality import BENCHMARK_PRIORITY, Evidence, QuantLoss, Score, evidence_for
from rules.recommend import best_fitting_quant, recommendation
from rules.rig import Rig
from rules.schema import QualityInfo, QualityScore, QuantLossInfo, Recommendation

# the model quant losses are quoted for: llama.cpp's fullest table (every type, with and
# without an importance matrix); the Llama 2 70B table shows how much less a big model loses
LOSS_MODEL = "Llama 3 8B"
BIG_LOSS_MODEL = "Llama 2 70B"


@dataclass
class Ranking:
    use: str
    group: str | None = None
    benchmark: str | None = None
    ranked: list[tuple[Recommendation, Score]] = field(default_factory=list)
    more: int = 0  # scored models that fit beyond those shown
    unknown: list[str] = field(default_factory=list)  # fit, but no score in this benchmark
    # other tables: (benchmark, group, [(catalog name, score)]), best first
    other: list[tuple[str, str, list[tuple[str, Score]]]] = field(default_factory=list)
    losses: list[QuantLoss] = field(default_factory=list)

    @property
    def scores(self) -> list[Score]:
        return [s for _, s in self.ranked]


def _candidates(rig: Rig, catalog: Catalog, evidence: Evidence, use: str) -> list[tuple[ModelSpec, QuantType]]:
    """Models worth sizing: every model with a score for this use, and the popular ones (to
    say which of them have none); each at the best quant that fits."""
    out = []
    for model in catalog.models:
        if not (model.popular or evidence.for_model(model.name, use)):
            continue
        if found := best_fitting_quant(model, rig, catalog):
            out.append((model, found[0]))
    return out


def _pick_group(fitting: list[ModelSpec], evidence: Evidence, use: str) -> list[tuple[str, str, int]]:
    """(group, benchmark, models covered) for this use, the best first: most fitting models
    measured, then the benchmark's priority."""
    priority = BENCHMARK_PRIORITY.get(use, ())
    covered: dict[tuple[str, str], set[str]] = {}
    for model in fitting:
        for s in evidence.for_model(model.name, use):
            covered.setdefault((s.group, s.benchmark), set()).add(model.name)

    def rank(key: tuple[str, str]) -> tuple:
        group, benchmark = key
        order = priority.index(benchmark) if benchmark in priority else len(priority)
        return (-len(covered[key]), order, group)

    return [(g, b, len(covered[(g, b)])) for g, b in sorted(covered, key=rank)]


def rank_for_use(rig: Rig, catalog: Catalog, use: str, limit: int = 5, evidence: Evidence | None = None) -> Ranking:
    """`evidence`: the catalog's own (data/quality.toml) unless given."""
    evidence = evidence or evidence_for(catalog)
    candidates = _candidates(rig, catalog, evidence, use)
    fitting = [m for m, _ in candidates]
    groups = _pick_group(fitting, evidence, use)
    result = Ranking(use=use)
    if not groups:  # nothing that fits was measured for this use: every one of them is unknown
        result.unknown = [m.name for m in sorted(fitting, key=lambda m: -m.params_b)]
        return result
    group, benchmark, _ = groups[0]
    result.group, result.benchmark = group, benchmark
    scored = []
    for model, quant in candidates:
        if (s := evidence.score(model.name, group, benchmark)) is not None:
            scored.append((s.score, model.params_b, model, quant, s))
        else:
            result.unknown.append(model.name)
    scored.sort(key=lambda x: (-x[0], -x[1], x[2].name))
    for _, _, model, quant, s in scored[:limit]:
        rec = recommendation(model, quant, rig, catalog).model_copy(update={"quality_score": s.score})
        result.ranked.append((rec, s))
    result.more = max(0, len(scored) - limit)
    # the unknown, biggest first: those a reader would most expect to see ranked
    sizes = {m.name: m.params_b for m in fitting}
    result.unknown.sort(key=lambda n: -sizes[n])
    # other tables for this use, one line each, never mixed into the ranking: a benchmark the
    # chosen table also ran measured the same models, so only other tables are shown
    shown_groups = {group}
    for other_group, other_benchmark, _ in groups[1:]:
        if other_group in shown_groups:
            continue
        shown_groups.add(other_group)
        rows = [(m.name, s) for m in fitting if (s := evidence.score(m.name, other_group, other_benchmark)) is not None]
        result.other.append((other_benchmark, other_group, sorted(rows, key=lambda x: -x[1].score)))
        if len(result.other) == 3:
            break
    quants = []
    for rec, _ in result.ranked:
        if rec.quant not in quants:
            quants.append(rec.quant)
    result.losses = [loss for q in quants if (loss := evidence.loss(q, LOSS_MODEL)) is not None]
    return result


def quality_score(s: Score, model_name: str) -> QualityScore:
    return QualityScore(model=model_name, evaluated_as=s.evaluated_as, benchmark=s.benchmark, score=s.score,
                        unit=s.unit, settings=s.settings, group=s.group, evaluated_by=s.evaluated_by,
                        self_reported=s.self_reported, date=s.date, source=s.source)


def loss_info(loss: QuantLoss) -> QuantLossInfo:
    return QuantLossInfo(quant=loss.quant, measured_on=loss.model, kld=loss.kld,
                         ppl_increase_pct=round(loss.ppl_increase_pct, 2), imatrix=bool(loss.imatrix),
                         source=loss.source)


def ranking_info(r: Ranking) -> QualityInfo:
    return QualityInfo(use=r.use, benchmark=r.benchmark, group=r.group,
                       scores=[quality_score(s, rec.model) for rec, s in r.ranked], unknown=list(r.unknown),
                       quant_loss=[loss_info(x) for x in r.losses])
