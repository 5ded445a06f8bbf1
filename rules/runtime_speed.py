"""Decode speed per runtime (vLLM, SGLang, TensorRT-LLM, ExLlama, MLX, transformers,
ktransformers), calibrated on public measurements (`data/runtime_measurements.toml`).

Decoding one request reads every (active) weight once per token, so memory bandwidth sets
the ceiling, the same ceiling as llama.cpp's (rules/speed.py):

    ceiling   = bandwidth ÷ weight bytes read per token
    expected  : seconds per token = bytes ÷ (efficiency × bandwidth) + fixed cost

with `efficiency` and `fixed cost` fitted per runtime and device class (the classes of
rules/speed.py) by least squares on the relative error, each source weighted alike. The
fixed cost (kernel launches, the Python loop, sampling) is fitted only where the rows span a
wide range of sizes; otherwise it is 0 and the efficiency carries it. The range around an
estimate is the spread of held-out ratios measured ÷ estimate, each row estimated by a fit
without its source (leave one source out, never one row: rows of one table share a setup).

A runtime × class with fewer than MIN_ROWS rows from MIN_SOURCES sources gets no estimate,
only the ceiling, and says so.

Serving runtimes batch concurrent requests: decode stays memory-bound while the batch is
small (one read of the weights serves every request), so total throughput grows almost in
proportion to the users and then bends as compute and the KV cache reads take over:

    aggregate(N) = single × N^alpha,   0 ≤ alpha ≤ 1

alpha fitted per runtime on public concurrency sweeps (ratios within one sweep, so a
sweep's own setup cancels). Without a fit only the physical bounds are said: at least one
request's speed, at most N times it.

Tensor parallelism splits every layer over the cards, so their bandwidths add; how much of
that a runtime reaches is not calibrated (no public single-request TP rows without
speculative decoding were found), so the low end assumes no gain and the answer says so.

Pure: reads the data file once, no HTTP, no torch; the fit is a closed-form 2×2 solve.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.catalog import Catalog, Gpu, ModelSpec, QuantType, default_catalog

DATA_FILE = Path(__file__).parent / "data" / "runtime_measurements.toml"

# runtimes answered here; llama.cpp and what wraps it (Ollama, LM Studio) stay in rules/speed.py
RUNTIMES = ("vllm", "sglang", "tensorrt_llm", "exllama", "mlx", "transformers", "ktransformers")
# runtimes whose server batches concurrent requests (continuous batching)
SERVING_RUNTIMES = frozenset({"vllm", "sglang", "tensorrt_llm"})
# runtimes that split every layer over the GPUs (tensor parallel); the others split layers
# across cards, which run one after another, so a second card adds memory, not speed
TENSOR_PARALLEL_RUNTIMES = frozenset({"vllm", "sglang", "tensorrt_llm"})
# Calibrated only with at least 3 rows from at least 2 sources: 2 sources so every row can
# be checked against a fit that never saw its setup, 3 rows so a fit of two parameters is
# not exact on its data.
MIN_ROWS = 3
MIN_SOURCES = 2
# a class is calibrated only where ranges fitted without a row's source hold at least this
# share of those rows (the acceptance figure); else only the ceiling is said
MIN_HELD_OUT_COVERAGE = 0.8
# the concurrency exponent needs sweeps from at least 2 sources, for the same reason
MIN_SERIES_SOURCES = 2
# the fixed cost per token is fitted only when the rows' sizes span this factor (else it is
# not told apart from the efficiency) and there are enough rows for two parameters
FIXED_COST_SPAN = 4.0
FIXED_COST_MIN_ROWS = 5
# a decode row may sit this far above its ceiling (rounded bandwidth figures) before the
# loader calls it batched or speculative and rejects it
CEILING_SLACK = 1.02


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightFormat(_Strict):
    name: str
    bits_per_weight: float = Field(ge=0)
    source: str = Field(min_length=10)


class Measurement(_Strict):
    """One public figure (see the data file's header for the fields)."""

    runtime: str
    source: str = Field(min_length=10)
    version: str | None = None
    device: str
    gpus: int = Field(1, ge=1)
    tp: int = Field(1, ge=1)
    bandwidth_gbs: float | None = Field(None, gt=0)
    bandwidth_source: str | None = None
    model: str
    params_b: float = Field(gt=0)
    active_params_b: float | None = Field(None, gt=0)
    format: str
    bpw: float | None = Field(None, gt=0, le=16)
    kind: str
    concurrency: int = Field(1, ge=1)
    series: str | None = None
    prompt_tokens: int | None = None
    gen_tokens: int | None = None
    tps: float = Field(gt=0)
    derived: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Measurement:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime {self.runtime!r} is not one of {RUNTIMES}")
        if self.kind not in ("decode", "throughput"):
            raise ValueError(f"kind {self.kind!r}: decode or throughput")
        if self.kind == "throughput" and not self.series:
            raise ValueError("a throughput row belongs to a `series` (one concurrency sweep)")
        if self.kind == "decode" and self.concurrency != 1:
            raise ValueError("a decode row is one request's speed (concurrency 1)")
        if self.bandwidth_gbs is not None and not self.bandwidth_source:
            raise ValueError("a bandwidth that is not the catalog's needs `bandwidth_source`")
        if self.format == "EXL2" and self.bpw is None:
            raise ValueError("an EXL2 row needs its `bpw`")
        return self


@dataclass(frozen=True)
class Row:
    """A measurement resolved against the catalog: its device class, bandwidth and bytes."""

    m: Measurement
    device_class: str
    bandwidth_gbs: float  # of one card
    bytes_per_token: float

    @property
    def ceiling_tps(self) -> float:
        return self.m.tp * self.bandwidth_gbs * 1e9 / self.bytes_per_token

    @property
    def full_bandwidth_seconds(self) -> float:
        """Seconds per token if every byte came at the full bandwidth (the ceiling's inverse)."""
        return 1 / self.ceiling_tps


def _bits_per_weight(m: Measurement, formats: dict[str, WeightFormat], catalog: Catalog) -> float:
    if m.bpw is not None:
        return m.bpw
    if m.format in formats:
        return formats[m.format].bits_per_weight
    quant = catalog.quant(m.format)  # GPTQ_4BIT, FP8, BF16, F16, F32: sized as RigBot sizes them
    return quant.bits_per_weight


# llama.cpp's fit splits Apple by GPU family and NVIDIA by generation (rules/speed.py); a
# runtime's few public rows are pooled per backend instead, or no class would hold enough
_POOLED_CLASS = {"metal_m3": "metal", "cuda_pascal": "cuda"}


def runtime_class(gpu) -> str:
    """The device class a runtime's speed is calibrated on: the backend the GPU runs."""
    from rules.speed import gpu_class

    cls = gpu_class(gpu)
    return _POOLED_CLASS.get(cls, cls)


@cache
def load_measurements(path: Path = DATA_FILE) -> tuple[tuple[Row, ...], dict[str, WeightFormat]]:
    """Every row, validated and resolved; a decode row above its ceiling is an error."""
    catalog = default_catalog()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    formats = {f["name"]: WeightFormat(**f) for f in data.get("format", [])}
    rows = []
    for group in data["group"]:
        shared = {k: v for k, v in group.items() if k not in ("rows", "runtime")}
        for raw in group["rows"]:
            m = Measurement(**({"runtime": group["runtime"]} | shared | raw))
            gpu = catalog.gpu(m.device)
            active = (m.active_params_b or m.params_b) * 1e9
            row = Row(m, runtime_class(gpu), m.bandwidth_gbs or gpu.bandwidth_gbs,
                      active * _bits_per_weight(m, formats, catalog) / 8)
            if m.kind == "decode" and m.tps > row.ceiling_tps * CEILING_SLACK:
                raise ValueError(f"{m.runtime} {m.model} on {m.device}: {m.tps} tok/s is above the "
                                 f"bandwidth ceiling {row.ceiling_tps:.1f}: batched or speculative, not one request")
            rows.append(row)
    return tuple(rows), formats


# --- single-request decode fit --------------------------------------------------------------

@dataclass(frozen=True)
class DecodeFit:
    """Seconds per token = `a` × full-bandwidth seconds + `fixed_s`; a = 1 ÷ efficiency."""

    a: float
    fixed_s: float

    @property
    def efficiency(self) -> float:
        return 1 / self.a

    def tps(self, full_bandwidth_seconds: float) -> float:
        return 1 / (self.a * full_bandwidth_seconds + self.fixed_s)


def fit_decode(rows: list[Row]) -> DecodeFit:
    """Least squares on the relative error of the time per token, each source's rows
    weighted to one source in total. With t = 1/tps and x = full-bandwidth seconds,
    minimise Σ w (a·x/t + b/t − 1)²: linear in (a, b), a 2×2 solve. The efficiency is kept
    ≤ 1 (a ≥ 1) and the fixed cost ≥ 0."""
    per_source: dict[str, int] = {}
    for r in rows:
        per_source[r.m.source] = per_source.get(r.m.source, 0) + 1
    w = [1 / per_source[r.m.source] for r in rows]
    u = [r.full_bandwidth_seconds * r.m.tps for r in rows]  # x / t
    v = [r.m.tps for r in rows]  # 1 / t
    xs = [r.full_bandwidth_seconds for r in rows]
    if len(rows) >= FIXED_COST_MIN_ROWS and max(xs) / min(xs) >= FIXED_COST_SPAN:
        suu = sum(wi * ui * ui for wi, ui in zip(w, u, strict=True))
        suv = sum(wi * ui * vi for wi, ui, vi in zip(w, u, v, strict=True))
        svv = sum(wi * vi * vi for wi, vi in zip(w, v, strict=True))
        su, sv = sum(wi * ui for wi, ui in zip(w, u, strict=True)), sum(wi * vi for wi, vi in zip(w, v, strict=True))
        det = suu * svv - suv * suv
        if det > 0:
            a = (su * svv - sv * suv) / det
            b = (suu * sv - suv * su) / det
            if a >= 1 and b >= 0:
                return DecodeFit(a, b)
    # efficiency only: minimise Σ w (a·u − 1)²
    a = sum(wi * ui for wi, ui in zip(w, u, strict=True)) / sum(wi * ui * ui for wi, ui in zip(w, u, strict=True))
    return DecodeFit(max(1.0, a), 0.0)


def held_out_ratios(rows: list[Row]) -> list[float]:
    """measured ÷ estimate of each row, the estimate fitted without the row's source."""
    ratios = []
    for source in sorted({r.m.source for r in rows}):
        train = [r for r in rows if r.m.source != source]
        fitted = fit_decode(train)
        ratios += [r.m.tps / fitted.tps(r.full_bandwidth_seconds) for r in rows if r.m.source == source]
    return ratios


@dataclass(frozen=True)
class ClassCalibration:
    """A runtime on a device class: its fit, its band and what they rest on."""

    runtime: str
    device_class: str
    rows: int
    sources: int
    fit: DecodeFit | None  # None: too few rows or sources, or the held-out check failed
    band: tuple[float, float] | None  # 80 % band of measured ÷ estimate
    held_out_coverage: float | None = None  # share of rows inside a range fitted without their source

    @property
    def calibrated(self) -> bool:
        return self.fit is not None


def calibrate(rows: list[Row], runtime: str, device_class: str) -> ClassCalibration:
    """The fit on all rows and the band from held-out ratios. With only one source left
    (inside a held-out check of a two-source class) the band is that source's own spread."""
    n_sources = len({r.m.source for r in rows})
    if len(rows) < MIN_ROWS or n_sources < MIN_SOURCES:
        return ClassCalibration(runtime, device_class, len(rows), n_sources, None, None)
    checks = held_out_check(rows)
    coverage = sum(c.inside for c in checks) / len(checks)
    if coverage < MIN_HELD_OUT_COVERAGE:
        # the sources disagree beyond what a band can say (ExLlama on A100s: CPU-bound runs);
        # a range that failed its own held-out check is not shown
        return ClassCalibration(runtime, device_class, len(rows), n_sources, None, None, coverage)
    return ClassCalibration(runtime, device_class, len(rows), n_sources, fit_decode(rows), _band(rows), coverage)


# one-sided 90th percentiles of Student's t by degrees of freedom (the 80 % central interval)
_T90 = {1: 3.078, 2: 1.886, 3: 1.638, 4: 1.533, 5: 1.476, 6: 1.440, 7: 1.415, 8: 1.397, 9: 1.383,
        10: 1.372, 15: 1.341, 20: 1.325, 30: 1.310}


def _t90(dof: int) -> float:
    return _T90[max(k for k in _T90 if k <= dof)] if dof < 30 else 1.2816


def _llama_cpp_scatter(device_class: str) -> float:
    from rules.calibration import load_fit

    cf = load_fit().for_class(device_class)
    return math.log(cf.ratio_high / cf.ratio_low) / (2 * 1.2816)


def prediction_band(log_ratios: list[float], sources: int, floor: float = 0.0) -> tuple[float, float]:
    """An 80 % prediction band for measured ÷ estimate from log ratios (held out by source
    where possible): their root-mean-square s around 0 (a bias of the fit is part of its
    error), at least `floor`; the band is exp(± t·s·√(1 + 1/k)) with k the sources and t
    Student's for k − 1 degrees of freedom (at least 1). Rows of one table share a setup,
    so sources, not rows, count, and few sources give a wide band, as they should."""
    s = max(math.sqrt(sum(x * x for x in log_ratios) / len(log_ratios)), floor)
    half = _t90(max(1, sources - 1)) * s * math.sqrt(1 + 1 / sources)
    return math.exp(-half), math.exp(half)


def _band(rows: list[Row]) -> tuple[float, float]:
    """The decode band: held-out ratios where there are two sources or more, else the
    fit's own; s at least the scatter of llama.cpp's public measurements on the same device
    class (its 10th-90th percentile band in speed_fit.toml, read as ±1.2816 s): a few rows
    that happen to agree do not make another runtime more predictable across setups."""
    sources = len({r.m.source for r in rows})
    if sources >= 2:
        ratios = held_out_ratios(rows)
    else:
        fitted = fit_decode(rows)
        ratios = [r.m.tps / fitted.tps(r.full_bandwidth_seconds) for r in rows]
    return prediction_band([math.log(x) for x in ratios], sources, _llama_cpp_scatter(rows[0].device_class))


@dataclass(frozen=True)
class HeldOut:
    """One row against the estimate and range of a fit that never saw its source."""

    row: Row
    estimate: float
    low: float
    high: float

    @property
    def inside(self) -> bool:
        return self.low <= self.row.m.tps <= self.high


def held_out_check(rows: list[Row]) -> list[HeldOut]:
    """Each source left out in turn: the fit and band from the other sources (however few:
    this is the check, not an answer) give each left-out row an estimate and a range, formed
    exactly as `estimate` forms them."""
    checks = []
    for source in sorted({r.m.source for r in rows}):
        train = [r for r in rows if r.m.source != source]
        if not train:
            continue
        fitted, (band_low, band_high) = fit_decode(train), _band(train)
        for r in rows:
            if r.m.source == source:
                expected = min(r.ceiling_tps, fitted.tps(r.full_bandwidth_seconds))
                checks.append(HeldOut(r, expected, min(expected, expected * band_low),
                                      max(expected, min(r.ceiling_tps, expected * band_high))))
    return checks


def decode_rows(runtime: str, device_class: str, rows: tuple[Row, ...] | None = None) -> list[Row]:
    rows = rows if rows is not None else load_measurements()[0]
    return [r for r in rows if r.m.kind == "decode" and r.m.runtime == runtime and r.device_class == device_class]


@cache
def calibration(runtime: str, device_class: str) -> ClassCalibration:
    return calibrate(decode_rows(runtime, device_class), runtime, device_class)


def calibrated_classes() -> list[tuple[str, str]]:
    """(runtime, device class) pairs with any decode rows, in a stable order."""
    rows = load_measurements()[0]
    return sorted({(r.m.runtime, r.device_class) for r in rows if r.m.kind == "decode"})


# --- concurrency: aggregate = single × N^alpha ----------------------------------------------

@dataclass(frozen=True)
class ConcurrencyFit:
    runtime: str
    alpha: float | None  # None: too few sweeps
    sweeps: int
    sources: int
    band: tuple[float, float] | None  # measured ÷ estimate of held-out sweep points


def _sweep_points(rows: list[Row]) -> list[tuple[str, float, float]]:
    """(source, log concurrency ratio, log throughput ratio) against each sweep's lowest
    concurrency."""
    sweeps: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        sweeps.setdefault((r.m.source, r.m.series or ""), []).append(r)
    points = []
    for (source, _), sweep in sweeps.items():
        base = min(sweep, key=lambda r: r.m.concurrency)
        points += [(source, math.log(r.m.concurrency / base.m.concurrency), math.log(r.m.tps / base.m.tps))
                   for r in sweep if r is not base]
    return points


def fit_alpha(points: list[tuple[str, float, float]]) -> float:
    """Least squares through the origin on log-log points, each source weighted alike,
    clamped to [0, 1]: more users never lower the total, nor raise it beyond N times."""
    per_source: dict[str, int] = {}
    for s, _, _ in points:
        per_source[s] = per_source.get(s, 0) + 1
    num = sum(lc * lr / per_source[s] for s, lc, lr in points)
    den = sum(lc * lc / per_source[s] for s, lc, _ in points)
    return min(1.0, max(0.0, num / den)) if den else 1.0


def _alpha_band(points: list[tuple[str, float, float]]) -> tuple[float, float]:
    sources = sorted({s for s, _, _ in points})
    logs = []
    for source in sources:
        rest = [p for p in points if p[0] != source] or points  # one source: its own fit
        alpha = fit_alpha(rest)
        logs += [lr - alpha * lc for s, lc, lr in points if s == source]
    return prediction_band(logs, len(sources))


def concurrency_fit_of(rows: list[Row], runtime: str) -> ConcurrencyFit:
    points = _sweep_points(rows)
    sources = sorted({s for s, _, _ in points})
    sweeps = len({(r.m.source, r.m.series) for r in rows})
    if len(sources) < MIN_SERIES_SOURCES:
        return ConcurrencyFit(runtime, None, sweeps, len(sources), None)
    return ConcurrencyFit(runtime, fit_alpha(points), sweeps, len(sources), _alpha_band(points))


def concurrency_held_out(points: list[tuple[str, float, float]]) -> list[tuple[float, float, float]]:
    """Each sweep source left out in turn: (estimated ÷ measured ratio over the sweep's base,
    band low, band high) for each of its points, from the other sources' alpha and band."""
    out = []
    for source in sorted({s for s, _, _ in points}):
        rest = [p for p in points if p[0] != source]
        if not rest:
            continue
        alpha, (low, high) = fit_alpha(rest), _alpha_band(rest)
        out += [(math.exp(alpha * lc - lr), low, high) for s, lc, lr in points if s == source]
    return out


@cache
def concurrency_fit(runtime: str) -> ConcurrencyFit:
    rows = [r for r in load_measurements()[0] if r.m.kind == "throughput" and r.m.runtime == runtime]
    return concurrency_fit_of(rows, runtime)


# --- estimates ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuntimeSpeed:
    runtime: str
    device_class: str
    bytes_per_token: float
    gpus: int  # cards whose bandwidth adds (tensor parallel); 1 otherwise
    ceiling_tps: float
    calibration: ClassCalibration
    expected_tps: float | None = None  # None when uncalibrated: only the ceiling is said
    range_tps: tuple[float, float] | None = None
    users: int = 1
    aggregate_tps: float | None = None
    aggregate_range: tuple[float, float] | None = None  # the bounds when alpha is not fitted
    alpha: float | None = None
    concurrency: ConcurrencyFit | None = None

    @property
    def calibrated(self) -> bool:
        return self.expected_tps is not None

    @property
    def tensor_parallel_uncalibrated(self) -> bool:
        return self.gpus > 1 and self.calibrated


def estimate(runtime: str, bytes_per_token: float, bandwidth_gbs: float, device_class: str, *,
             gpus: int = 1, users: int = 1) -> RuntimeSpeed:
    """One request's decode speed on `gpus` cards of `bandwidth_gbs` each (tensor parallel
    for the runtimes that do it), and with `users` > 1 the total over all of them."""
    tp = gpus if runtime in TENSOR_PARALLEL_RUNTIMES else 1
    cal = calibration(runtime, device_class)
    one_card = bandwidth_gbs * 1e9 / bytes_per_token
    ceiling = tp * one_card
    speed = RuntimeSpeed(runtime, device_class, bytes_per_token, tp, ceiling, cal, users=users)
    if cal.fit is None:
        low = high = None
        expected = None
    else:
        expected = min(ceiling, cal.fit.tps(1 / ceiling))
        band_low, band_high = cal.band
        # tensor parallel: the gain over one card is not calibrated, the low end assumes none
        base = cal.fit.tps(1 / one_card) if tp > 1 else expected
        # the range always holds the estimate itself; it never passes the ceiling
        low, high = min(expected, base * band_low), max(expected, min(ceiling, expected * band_high))
    speed = _replace(speed, expected_tps=expected, range_tps=(low, high) if expected else None)
    if users > 1:
        speed = _with_users(speed, users)
    return speed


def _with_users(speed: RuntimeSpeed, users: int) -> RuntimeSpeed:
    single = speed.expected_tps or speed.ceiling_tps
    conc = concurrency_fit(speed.runtime) if speed.runtime in SERVING_RUNTIMES else None
    if speed.calibrated and conc is not None and conc.alpha is not None:
        aggregate = single * users ** conc.alpha
        low_single, high_single = speed.range_tps
        low = max(low_single, low_single * users ** conc.alpha * conc.band[0])
        high = min(users * high_single, high_single * users ** conc.alpha * conc.band[1])
        return _replace(speed, aggregate_tps=min(aggregate, users * single), aggregate_range=(low, high),
                        alpha=conc.alpha, concurrency=conc)
    # no fitted curve: the physical bounds only (one request at a time … N × one request);
    # uncalibrated, not even those beyond N × the ceiling, which the answer says
    bounds = (speed.range_tps[0], users * speed.range_tps[1]) if speed.calibrated else None
    return _replace(speed, aggregate_range=bounds, concurrency=conc)


def _replace(speed: RuntimeSpeed, **changes) -> RuntimeSpeed:
    from dataclasses import replace

    return replace(speed, **changes)


# --- the weights a runtime reads -----------------------------------------------------------

MLX_OVERHEAD_BITS = 0.5  # one fp16 scale and bias per 64 weights (data file, MLX_4BIT)


def runtime_format(runtime: str, quant: QuantType) -> tuple[str, float | None]:
    """The format the runtime loads for a question's quant, and its bits per weight where
    it differs from RigBot's sizing of `quant` (None: size `quant` as RigBot does).
    GGUF files are llama.cpp's: MLX reads its own n-bit files, the CUDA runtimes the
    AWQ/GPTQ (4-bit), FP8 (8-bit) or BF16 checkpoint of the same width."""
    if not quant.is_gguf:
        return quant.name, None
    bits = quant.bits
    if runtime == "mlx":
        return (f"MLX {bits}-bit", bits + MLX_OVERHEAD_BITS) if bits < 16 else ("BF16", 16.0)
    if runtime == "exllama":
        return f"EXL2 {quant.bits_per_weight:.2f} bpw", quant.bits_per_weight
    if bits <= 4:
        return "AWQ/GPTQ 4-bit", default_catalog().quant("GPTQ_4BIT").bits_per_weight
    if bits <= 8:
        return "FP8", 8.0
    return "BF16", 16.0


def weight_bytes_per_token(runtime: str, model: ModelSpec, quant: QuantType) -> tuple[float, str]:
    """Bytes of weights one token reads in `runtime`, and the format they are counted in."""
    from rules.memory import read_bytes_per_token

    name, bits = runtime_format(runtime, quant)
    if bits is None:
        return read_bytes_per_token(model, quant), name
    active = model.active_params_b or model.params_b
    return active * 1e9 * bits / 8, name


def estimate_for(runtime: str, model: ModelSpec, quant: QuantType | None, gpus: list[tuple[Gpu, int]],
                 users: int = 1, runtime_bits: tuple[str, float] | None = None) -> tuple[RuntimeSpeed, str]:
    """The estimate for a catalog model on the rig's GPUs (the slowest card's bandwidth).
    `runtime_bits`: (format, bits per weight) where the runtime's own sizing chose a format
    that is not a catalog quant type (MLX 4-bit at group size 64: 4.5 bits)."""
    if runtime_bits is not None:
        fmt, bits = runtime_bits
        bytes_per_token = (model.active_params_b or model.params_b) * 1e9 * bits / 8
    else:
        bytes_per_token, fmt = weight_bytes_per_token(runtime, model, quant)
    slowest = min((g for g, _ in gpus), key=lambda g: g.bandwidth_gbs)
    count = sum(c for _, c in gpus)
    return estimate(runtime, bytes_per_token, slowest.bandwidth_gbs, runtime_class(slowest),
                    gpus=count, users=users), fmt
