"""What users measured (/report): decode tokens/s for a device, model and quant.

Pure: the service reads the stored reports and passes them in as data. For each
report RigBot predicts the same configuration (rules/speed.py) and takes the ratio
measured ÷ predicted. Per device class (the class whose fit made the prediction):

- a ratio outside HARD_BAND, or a speed above the bandwidth ceiling by more than
  CEILING_SLACK, is set aside (a typo, speculative decoding, a throttled laptop: not
  the class's efficiency);
- each user counts once: their ratios in the class become one value (the median of
  their log ratios), so many reports from one person weigh as one;
- a user whose value lies more than MAD_CUTOFF scaled median absolute deviations from
  the other users' median is an outlier (the scale has a floor, MAD_FLOOR, so users who
  agree closely do not turn a slightly different one into an outlier);
- with at least MIN_USERS accepted users the class's prediction moves by the median
  ratio, shrunk toward 1 like a prior worth the class's calibration rows:
  log factor = median log ratio × users ÷ (users + calibration rows);
- its range is then the 10th–90th percentile of the calibration rows' measured ÷
  predicted ratios pooled with the users' ratios, and counts both.

One user never moves a class, however many reports they send.
"""

from __future__ import annotations

import logging
import math
import statistics
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from rules.calibration import (
    MIN_ROWS_FOR_OWN_RANGE,
    load_fit,
    load_measurements,
    predict_measurement,
)
from rules.catalog import Catalog, default_catalog
from rules.memory import fit
from rules.phrases import say, tps
from rules.recommend import default_context
from rules.rig import rig_from_query
from rules.schema import Intent, Query, SpeedInfo, Verdict
from rules.speed import speed

log = logging.getLogger(__name__)

HARD_BAND = (1 / 3, 3.0)  # measured ÷ predicted outside this is not an efficiency
MAD_CUTOFF = 3.0
MAD_FLOOR = 0.1  # in log ratio: users within ~10 % of each other are never outliers
MIN_USERS = 3
ABSURD_FACTOR = 3.0  # a report above 3 × the bandwidth ceiling is refused outright
# decode cannot beat reading the weights once per token: a report above the ceiling by
# more than this (speculative decoding, a prefill figure) is kept but does not refine
CEILING_SLACK = 1.25
SOURCES = ("typed", "llama-bench")


class SpeedReport(BaseModel):
    """One stored report, as rules see it (the store's row without its bookkeeping)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    device: str  # catalog GPU name, or catalog CPU name when gpu_count is 0
    gpu_count: int = Field(ge=0)
    model: str
    quant: str
    context: int | None = None
    tokens_per_s: float = Field(gt=0)
    source: str = "typed"

    @property
    def config(self) -> tuple[str, int, str, str]:
        return (self.device, self.gpu_count, self.model, self.quant)


class Assessed(BaseModel):
    """A report with RigBot's prediction for its configuration and what became of it."""

    report: SpeedReport
    predicted: float | None = None
    ratio: float | None = None  # measured ÷ predicted
    device_class: str | None = None
    # accepted | outlier | out_of_band | not_predicted | class_not_refined | too_few_users
    status: str


class ClassShift(BaseModel):
    device_class: str
    users: int  # accepted users
    reports: int  # their reports
    rejected: int  # reports set aside (outliers and out of band)
    median_ratio: float  # over accepted users
    factor: float  # what the class's predictions are multiplied by
    range_ratio: list[float]  # [low, high] measured ÷ base prediction, calibration + users
    range_count: int  # calibration rows + accepted users the range rests on


class UserMeasurements(BaseModel):
    reports: list[SpeedReport]
    assessed: list[Assessed]
    shifts: dict[str, ClassShift]

    def for_config(self, config: tuple[str, int, str, str]) -> list[Assessed]:
        return [a for a in self.assessed if a.report.config == config]

    def rejected(self) -> list[Assessed]:
        return [a for a in self.assessed if a.status in ("outlier", "out_of_band")]

    def summary(self) -> dict:
        """For `stats`: counts, and each class that users moved."""
        counts: dict[str, int] = {}
        for a in self.assessed:
            counts[a.status] = counts.get(a.status, 0) + 1
        return {"reports": len(self.reports), "users": len({r.user_id for r in self.reports}),
                "by_status": counts,
                "classes": {c: s.model_dump() for c, s in self.shifts.items()}}


# prediction of a report's configuration ---------------------------------------------

def report_query(device: str, gpu_count: int, model: str, quant: str, context: int | None = None) -> Query:
    """The configuration as the engine would have parsed it."""
    if gpu_count:
        return Query(intent=Intent.SPEED, gpu_names=[device], gpu_counts=[gpu_count], model_name=model,
                     quant=quant, context=context)
    return Query(intent=Intent.SPEED, cpu_only=True, cpu_name=device, model_name=model, quant=quant,
                 context=context)


def predict(device: str, gpu_count: int, model: str, quant: str, context: int | None = None,
            catalog: Catalog | None = None) -> SpeedInfo | None:
    """RigBot's calibrated decode prediction (no user reports) for a configuration;
    None when the model does not fit there."""
    catalog = catalog or default_catalog()
    spec, q, placed, rig = _placed(device, gpu_count, model, quant, context, catalog)
    if placed.verdict == Verdict.DOES_NOT_FIT:
        return None
    return speed(spec, q, placed, rig, catalog)


def verdict_of(device: str, gpu_count: int, model: str, quant: str, context: int | None = None,
               catalog: Catalog | None = None) -> Verdict:
    """Where RigBot places the configuration (on the GPU, partly in RAM, ...)."""
    return _placed(device, gpu_count, model, quant, context, catalog or default_catalog())[2].verdict


def _placed(device: str, gpu_count: int, model: str, quant: str, context: int | None, catalog: Catalog):
    query = report_query(device, gpu_count, model, quant, context)
    spec = catalog.model(model)
    q = catalog.quant(quant)
    rig = rig_from_query(query, catalog)
    return spec, q, fit(spec, q, context or default_context(spec), rig, "f16"), rig


def usual_ram_bandwidth(cpu: str, catalog: Catalog | None = None) -> float:
    """The RAM bandwidth a CPU report is learned against (the CPU's usual memory: reports keep no RAM)."""
    catalog = catalog or default_catalog()
    return rig_from_query(report_query(cpu, 0, "", ""), catalog).ram_bandwidth_gbs


def check_measurement(tokens_per_s: float, prediction: SpeedInfo) -> str | None:
    """Why a measured figure cannot be true for this configuration (a phrase key), or None."""
    if not math.isfinite(tokens_per_s) or tokens_per_s <= 0:
        return "report_error_not_positive"
    if tokens_per_s > ABSURD_FACTOR * prediction.theoretical_max_tokens_per_s:
        return "report_error_absurd"
    return None


# learning ----------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@cache
def calibration_ratios(device_class: str) -> tuple[float, ...]:
    """measured ÷ predicted of the calibration rows a class's range comes from (its own
    rows when it has MIN_ROWS_FOR_OWN_RANGE, else all), as the fit computed its range."""
    params = load_fit()
    rows = load_measurements()
    own = [m for m in rows if m.device_class == device_class]
    pool = own if len(own) >= MIN_ROWS_FOR_OWN_RANGE else rows
    return tuple(m.tg / predict_measurement(m, params) for m in pool)


def class_shift(device_class: str, user_ratios: dict[str, list[float]]) -> tuple[ClassShift | None, set[str]]:
    """The shift of one class from its users' ratios (already inside HARD_BAND), and
    the users rejected as outliers. None while fewer than MIN_USERS users remain."""
    values = {u: statistics.median(math.log(r) for r in rs) for u, rs in user_ratios.items()}
    outliers: set[str] = set()
    if len(values) >= MIN_USERS:
        centre = statistics.median(values.values())
        mad = statistics.median(abs(v - centre) for v in values.values())
        scale = max(1.4826 * mad, MAD_FLOOR)
        outliers = {u for u, v in values.items() if abs(v - centre) > MAD_CUTOFF * scale}
    kept = {u: v for u, v in values.items() if u not in outliers}
    params = load_fit()
    if len(kept) < MIN_USERS or device_class not in params.classes:
        return None, outliers
    prior = max(1, params.classes[device_class].rows)
    median_log = statistics.median(kept.values())
    factor = math.exp(median_log * len(kept) / (len(kept) + prior))
    pooled = list(calibration_ratios(device_class)) + [math.exp(v) for v in kept.values()]
    low, high = _percentile(pooled, 10), _percentile(pooled, 90)
    # answers state the class's held-out band (leave one source out), wider than the in-sample
    # 10th-90th percentiles these ratios give: widen the learned band by the same proportion
    cf = params.classes[device_class]
    if cf.held_out_low and cf.held_out_high:
        low, high = low * cf.held_out_low / cf.ratio_low, high * cf.held_out_high / cf.ratio_high
    shift = ClassShift(
        device_class=device_class, users=len(kept), reports=sum(len(user_ratios[u]) for u in kept),
        rejected=sum(len(user_ratios[u]) for u in outliers), median_ratio=round(math.exp(median_log), 4),
        factor=round(factor, 4), range_ratio=[round(min(low, factor), 4), round(max(high, factor), 4)],
        range_count=len(pooled))
    return shift, outliers


def learn(reports: list[SpeedReport], catalog: Catalog | None = None) -> UserMeasurements:
    """Assess every report against RigBot's prediction and derive each class's shift."""
    catalog = catalog or default_catalog()
    assessed: list[Assessed] = []
    by_class: dict[str, dict[str, list[float]]] = {}
    for r in reports:
        try:
            p = predict(r.device, r.gpu_count, r.model, r.quant, r.context, catalog)
        except KeyError:  # a catalog entry renamed or removed since the report
            p = None
        if p is None:
            assessed.append(Assessed(report=r, status="not_predicted"))
            continue
        ratio = r.tokens_per_s / p.expected_tokens_per_s
        a = Assessed(report=r, predicted=p.expected_tokens_per_s, ratio=ratio, device_class=p.device_class,
                     status="accepted")
        if not HARD_BAND[0] <= ratio <= HARD_BAND[1] or r.tokens_per_s > CEILING_SLACK * p.theoretical_max_tokens_per_s:
            a.status = "out_of_band"
        elif p.device_class not in load_fit().classes:
            a.status = "class_not_refined"  # MoE and expert-offload bands: too few rows to move
        else:
            by_class.setdefault(p.device_class, {}).setdefault(r.user_id, []).append(ratio)
        assessed.append(a)
    shifts: dict[str, ClassShift] = {}
    for cls, users in by_class.items():
        shift, outliers = class_shift(cls, users)
        for a in assessed:
            if a.device_class == cls and a.status == "accepted":
                if a.report.user_id in outliers:
                    a.status = "outlier"
                elif shift is None:
                    a.status = "too_few_users"
        if shift:
            shifts[cls] = shift
    rejected = [a for a in assessed if a.status in ("outlier", "out_of_band")]
    if rejected:
        log.info("user reports set aside: %s", ", ".join(
            f"{a.report.device}/{a.report.model}/{a.report.quant} ratio {a.ratio:.2f} ({a.status})" for a in rejected))
    return UserMeasurements(reports=list(reports), assessed=assessed, shifts=shifts)


# answers -----------------------------------------------------------------------------


def refine(s: SpeedInfo, measured: UserMeasurements | None) -> tuple[SpeedInfo, ClassShift | None]:
    """The prediction moved by its class's user reports (the range recomputed), and the
    shift applied; unchanged when the class has none."""
    shift = measured.shifts.get(s.device_class or "") if measured else None
    if shift is None:
        return s, None
    ceiling = s.theoretical_max_tokens_per_s
    expected = min(ceiling, s.expected_tokens_per_s * shift.factor)
    low, high = (s.expected_tokens_per_s * r for r in shift.range_ratio)
    update = {"expected_tokens_per_s": expected, "expected_range": [min(low, expected), min(ceiling, max(high, expected))],
              "measurements": (s.measurements or 0) + shift.users}
    if s.full_context_tokens_per_s:
        update["full_context_tokens_per_s"] = min(expected, s.full_context_tokens_per_s * shift.factor)
    return s.model_copy(update=update), shift


def answer_lines(base: SpeedInfo, refined: SpeedInfo, shift: ClassShift | None,
                 config: tuple[str, int, str, str], measured: UserMeasurements | None, lang: str) -> list[str]:
    """What the answer says about users' measurements: the class shift beside the
    calibrated figure, and this configuration's own reports beside the prediction."""
    lines = []
    if shift:
        lines.append(say(lang, "report_class_shift", users=shift.users, ratio=f"{shift.median_ratio:.2f}",
                         device_class=say(lang, f"class_{shift.device_class}"), factor=f"{shift.factor:.3f}",
                         base=tps(base.expected_tokens_per_s), base_low=tps(base.expected_range[0]),
                         base_high=tps(base.expected_range[1]), rejected=shift.rejected))
    mine = measured.for_config(config) if measured else []
    # reports set aside (a typo, an outlier) stay out of the figure shown, said beside it:
    # a median of 1.2 and 140 tokens/s is no one's speed
    kept = [a.report.tokens_per_s for a in mine if a.status not in ("outlier", "out_of_band")]
    set_aside = [a.report.tokens_per_s for a in mine if a.status in ("outlier", "out_of_band")]
    device, count = config[0], config[1]
    where = f"{count}× {device}" if count > 1 else device
    if kept:
        key = "report_config_one" if len(kept) == 1 else "report_config"
        median = statistics.median(kept)
        lines.append(say(lang, key, count=len(kept), device=where, median=tps(median),
                         low=tps(min(kept)), high=tps(max(kept))))
        low, high = refined.expected_range or (refined.expected_tokens_per_s,) * 2
        if median > high or median < low:  # disagreement: both figures stay in the answer
            lines.append(say(lang, "report_disagree_above" if median > high else "report_disagree_below",
                             expected=tps(refined.expected_tokens_per_s), low=tps(low), high=tps(high)))
    if set_aside:
        lines.append(say(lang, "report_config_set_aside" if kept else "report_config_all_set_aside",
                         rejected=len(set_aside), device=where, values=", ".join(tps(v) for v in sorted(set_aside))))
    return lines
