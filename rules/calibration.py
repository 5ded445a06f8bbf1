"""The speed model's calibration: public llama.cpp measurements (`data/measurements.toml`)
and the per-device-class parameters fitted on them (`data/speed_fit.toml`).

Run time only reads the fitted file (`load_fit`), so answering stays import-light and
deterministic. `fit_measurements` (numpy + scipy, imported lazily) is run by the
calibration test and by `python -m rules.calibration`, which rewrites `speed_fit.toml`.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DATA_DIR = Path(__file__).parent / "data"
MEASUREMENTS_FILE = DATA_DIR / "measurements.toml"


def measurement_files() -> list[Path]:
    """measurements.toml plus measurements_*.toml: further collections of rows kept in files
    of their own (one per gathering), read as if they were one file."""
    return [MEASUREMENTS_FILE, *sorted(DATA_DIR.glob("measurements_*.toml"))]


def _measurement_tables(path: Path | None) -> list[dict]:
    paths = [path] if path is not None else measurement_files()
    tables = [tomllib.loads(p.read_text(encoding="utf-8")) for p in paths]
    if any("device" in t for t in tables):
        raise ValueError("[[device]] FLOP/s figures belong in device_tflops.toml, not in a measurements file")
    return tables
FIT_FILE = DATA_DIR / "speed_fit.toml"

# Device classes the fit has parameters for, and where a class without enough
# measurements of its own borrows them (same memory path, different vector unit).
DEVICE_CLASSES = ("cuda", "cuda_hbm", "cuda_pascal", "cuda_unified", "metal", "metal_m3", "vulkan_rocm", "rocm_cdna", "sycl",
                  "cpu_avx2", "cpu_avx512", "cpu_neon")
FALLBACK_CLASS = {"cpu_avx512": "cpu_avx2", "cpu_neon": "cpu_avx2", "sycl": "vulkan_rocm", "cuda_pascal": "cuda",
                  "cuda_unified": "cuda", "rocm_cdna": "vulkan_rocm", "metal_m3": "metal"}
# Held-out ranges: a class needs this many rows for a band of its own (else all rows pooled),
# and the band spans these percentiles of its measured ÷ held-out-predicted ratios.
MIN_ROWS_FOR_HELD_OUT_BAND = 10
HELD_OUT_PERCENTILES = (5, 95)
# The partial-offload hand-off per token (hidden state GPU → CPU → GPU, stream and thread
# sync) is fitted freely up to this bound: the -ngl rows put it between a few and ~20 ms.
OFFLOAD_MS_MAX = 30.0
# A CPU's fixed cost per token (thread barriers per layer, sampling) is well under a
# millisecond in llama.cpp (tiny models decode at hundreds of tokens/s on a desktop); a few
# rows taken through other tools must not buy a CPU class a cost of tens of ms
CPU_FIXED_MS_MAX = 1.0
MIN_ROWS_FOR_OWN_RANGE = 5
# Pascal (and Maxwell) decode is bound by arithmetic as well as bytes: no tensor cores, and
# the P100 (sm_60) lacks even the int8 dp4a the quantized dot products use; measured
# P100/GTX 1080 rows run a 3B model at the same speed despite 2.3x the bandwidth. These
# classes get a fitted FLOPs-per-parameter term on the card's peak FP32 rate, added to the
# time the bytes take.
COMPUTE_BOUND_CLASSES = ("cuda_pascal",)
# Builds older than a backend change: "2023" (before February 2024, before the 2024 rewrites
# of the quantized kernels) and "2024H1" (February-June 2024; for CUDA, before CUDA graphs).
# Answers predict current builds; the fit learns what each era cost per backend, so old
# rows still inform the current figures.
ERAS = ("2023", "2024H1")

# Quant families: how a weight type is decoded. Legacy blocks (Q4_0, Q8_0) are the
# reference; the fit gives the others a factor on the bandwidth they reach.
QUANT_FAMILIES = ("legacy", "k-quant", "k-quant-low", "i-quant", "float")


def quant_key(quant: str, device_class: str) -> str:
    """Quant factors are fitted separately for CPUs and GPUs. Pascal GPUs share the GPUs'
    factors: what once looked like Pascal's own slow k-quants is its compute limit
    (COMPUTE_BOUND_CLASSES), which the fit now models directly."""
    domain = "cpu" if device_class.startswith("cpu") else "gpu"
    return f"{domain}:{quant_family(quant)}"


def apple_class(chip: str) -> str:
    """Apple GPUs by family: M1 and M2 (Apple GPU families 7 and 8) reach a smaller share of
    their memory bandwidth, with a larger fixed cost per token, than M3 and later (family 9:
    dynamic caching, a new shader core)."""
    m = re.search(r"\bM(\d+)\b", chip)
    return "metal_m3" if m and int(m.group(1)) >= 3 else "metal"


def moe_domain(device_class: str) -> str:
    """MoE per-layer costs are fitted per backend: CUDA cards share one, as do Apple GPUs,
    AMD/Intel GPUs (Vulkan/ROCm/SYCL) and CPUs."""
    if device_class.startswith("cpu"):
        # a Raspberry Pi's four small Arm cores say nothing about an x86 desktop's MoE cost
        return "cpu_arm" if device_class == "cpu_neon" else "cpu"
    if device_class.startswith("cuda"):
        return "cuda"
    return "metal" if device_class.startswith("metal") else "vulkan"


def quant_family(quant: str) -> str:
    q = quant.upper()
    if q.startswith(("F16", "BF16", "F32")):
        return "float"
    if q.startswith("IQ"):
        return "i-quant"
    if q.startswith(("Q2_K", "Q3_K")):
        return "k-quant-low"  # many sub-blocks per byte: dequantising costs more than reading
    if "_K" in q:
        return "k-quant"
    return "legacy"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measurement(_Strict):
    device: str
    device_class: str
    backend: str
    era: Literal["2023", "2024H1"] | None = None  # see ERAS
    gpus: int = Field(1, ge=1)
    bandwidth_gbs: float = Field(gt=0)
    model: str
    params_b: float = Field(gt=0)
    active_params_b: float | None = None
    moe_layers: int = 0  # layers with routed experts (0: a dense model)
    experts_active: int | None = None  # routed experts per token (from the catalog model when not given)
    quant: str
    size_gb: float = Field(gt=0)
    # MoE: GB of weights read per token where RigBot's tensor sizing (rules/memory.py) knows
    # the model; a file's share of active parameters misses that attention and shared tensors
    # are often stored wider than the experts (gpt-oss: BF16 attention, MXFP4 experts)
    read_gb: float | None = Field(default=None, gt=0)
    tg: float = Field(gt=0)
    pp: float | None = None
    kv_tokens: int = 0  # cached tokens each decode step reads, on average over the test
    kv_bytes_per_ctx_token: float = 0.0
    flash_attention: bool = True  # False: attention without llama.cpp's flash-attention kernels
    # partial offload (-ngl below the layer count): the first `gpu_layers` of `layers` on the
    # GPU, the rest read from system RAM at `ram_gbs` by a CPU of `cpu_class`
    gpu_layers: int | None = Field(default=None, ge=0)
    layers: int | None = Field(default=None, gt=0)
    ram_gbs: float | None = Field(default=None, gt=0)
    cpu_class: str = "cpu_avx2"
    # CPU rows on several sockets: bandwidth_gbs is one socket's; `numa` the placement
    sockets: int = Field(1, ge=1)
    numa: str | None = None
    # measured through a tool that adds its own time per token (a web UI's Python wrapper,
    # an average that includes the prompt): that cost is fitted per tool from the tool's
    # full-offload rows and left out of every answer, which predicts llama.cpp itself
    wrapper: str | None = None
    source: str = Field(min_length=10)
    # rows that share a key are one source for the held-out check (the same document, or
    # the same machine and person across several threads); default: the source's address
    source_key: str | None = None

    @property
    def origin(self) -> str:
        if self.source_key:
            return self.source_key
        if self.source.startswith("http"):
            return self.source.split()[0].rstrip(",;")
        return self.source.split("(")[0].split(",")[0].strip()

    @property
    def gpu_fraction(self) -> float | None:
        """Share of the layers on the GPU for a partial-offload row, None otherwise."""
        if self.gpu_layers is None or not self.layers or self.gpu_layers >= self.layers:
            return None
        return self.gpu_layers / self.layers

    @property
    def is_partial(self) -> bool:
        return self.gpu_fraction is not None

    @property
    def weight_bytes_per_token(self) -> float:
        if self.read_gb:
            return self.read_gb * 1e9
        share = self.active_params_b / self.params_b if self.active_params_b else 1.0
        return self.size_gb * 1e9 * share

    @property
    def kv_bytes_per_token(self) -> float:
        """The KV cache read per token at its average fill during the test."""
        return self.kv_bytes_per_ctx_token * self.kv_tokens

    @property
    def bytes_per_token(self) -> float:
        return self.weight_bytes_per_token + self.kv_bytes_per_token

    @property
    def ceiling_tokens_per_s(self) -> float:
        """Layers split over identical cards run one after another: the ceiling is one card's."""
        return self.bandwidth_gbs * 1e9 / self.bytes_per_token

    @property
    def family(self) -> str:
        return quant_key(self.quant, self.device_class)

    @property
    def flops_per_token(self) -> float:
        return 2e9 * (self.active_params_b or self.params_b)

    @property
    def moe(self) -> str | None:
        """The MoE domain whose per-layer cost this row carries, None for a dense model."""
        return moe_domain(self.device_class) if self.moe_layers else None

    @property
    def moe_units(self) -> float:
        """Expert matmuls per token: MoE layers × routed experts per token (each a separate
        small matmul llama.cpp gathers and runs)."""
        return self.moe_layers * (self.experts_active or 1)


class HostMeasurement(_Strict):
    """llama.cpp on one of RigBot's own hosts, with the host's measured bandwidth and FLOP/s."""

    cpu: str
    device_class: str
    ram_read_gbs: float = Field(gt=0)
    matmul_gflops_1thread: float = Field(gt=0)
    threads: int = Field(ge=1)
    model: str
    params_b: float = Field(gt=0)
    size_gb: float = Field(gt=0)
    tg_runs: list[float] = Field(min_length=1)
    pp: float | None = None
    source: str = Field(min_length=10)

    @property
    def tg(self) -> float:
        """The best run: on a shared host other processes only ever make a run slower."""
        return max(self.tg_runs)


class OffloadMeasurement(_Strict):
    """A MoE with the experts of `n_cpu_moe` layers in RAM (llama.cpp `--n-cpu-moe`)."""

    gpu: str
    gpu_bandwidth_gbs: float = Field(gt=0)
    gpu_class: str
    cpu: str
    ram_read_gbs: float = Field(gt=0)
    model: str
    quant: str
    layers: int = Field(gt=0)
    n_cpu_moe: int = Field(ge=1)
    experts: int = Field(ge=2)
    experts_active: int = Field(ge=1)
    dense_gb: float = Field(gt=0)
    expert_gb: float = Field(gt=0)
    tg: float = Field(gt=0)
    source: str = Field(min_length=10)

    def seconds_without_handoffs(self, fit: SpeedFit) -> float:
        """The speed model's time per token before the per-layer GPU↔CPU hand-off."""
        share = self.n_cpu_moe / self.layers
        active = self.expert_gb * 1e9 * self.experts_active / self.experts
        gpu_cf, cpu_cf = fit.for_class(self.gpu_class), fit.for_class("cpu_avx2")
        gpu = decode_seconds(self.dense_gb * 1e9 + active * (1 - share), self.gpu_bandwidth_gbs, gpu_cf,
                             fit.quant(self.quant, self.gpu_class))
        cpu = decode_seconds(active * share, self.ram_read_gbs, cpu_cf, fit.quant(self.quant, "cpu_avx2"))
        moe = (self.n_cpu_moe * fit.moe_ms("cpu_avx2") + (self.layers - self.n_cpu_moe) * fit.moe_ms(self.gpu_class))
        return gpu + cpu + moe / 1000


class ClassFit(_Strict):
    """Fitted decode and prefill parameters of one device class."""

    device_class: str
    efficiency: float  # share of the bandwidth ceiling reached on big reads
    fixed_ms: float  # per-token cost that does not scale with bytes read (current builds)
    rows: int  # decode measurements in the class
    # ratio measured ÷ predicted, 10th and 90th percentile: the range around a prediction
    ratio_low: float
    ratio_high: float
    range_rows: int  # measurements the range is taken from (the class, or all when it is small)
    # the range answers show: measured ÷ predicted of rows predicted by a fit WITHOUT their
    # source (leave one source out), HELD_OUT_PERCENTILES of the class (all rows when small)
    held_out_low: float | None = None
    held_out_high: float | None = None
    held_out_rows: int = 0  # the class's own held-out rows
    held_out_within: float | None = None  # their share within ±35%
    held_out_band_rows: int = 0  # rows the held-out band is taken from
    prefill_efficiency: float | None = None  # effective ÷ peak FP32 FLOP/s in prompt processing

    @property
    def pooled_own_rows(self) -> int | None:
        """The class's own rows when its band is the spread of all rows (too few of its own)."""
        return self.held_out_rows if self.held_out_band_rows and self.held_out_rows < self.held_out_band_rows else None
    prefill_rows: int = 0
    prefill_ratio_low: float | None = None
    prefill_ratio_high: float | None = None


class SpeedFit(_Strict):
    method: str
    measurements: int
    quant_factor: dict[str, float]  # "gpu:k-quant" → factor on the bandwidth reached
    # reading the KV cache costs this many times its bytes, with llama.cpp's flash attention
    # (the default now) and without it (older builds read it far less efficiently)
    kv_read_factor: float
    kv_read_factor_no_fa: float
    classes: dict[str, ClassFit]
    # RigBot's own host: effective ÷ measured matmul FLOP/s in decode and in prefill
    cpu_compute_efficiency: float
    cpu_prefill_efficiency: float
    cpu_compute_source: str
    # per layer whose experts stay in RAM: hidden state GPU → CPU → GPU and the sync
    expert_offload_layer_ms: float = 0.0
    expert_offload_source: str = ""
    expert_offload_rows: int = 0
    # per MoE layer and token, by backend (moe_domain): routing and the many small expert
    # matmuls. A GPU backend without MoE rows borrows the largest GPU cost (the slower
    # guess); a CPU without them the largest of all.
    moe_layer_ms: dict[str, float] = {}
    moe_rows: dict[str, int] = {}
    # measured ÷ predicted of MoE rows, each predicted by a fit without its source, per
    # backend ("all": every MoE row, for backends with fewer than 3): MoE answers widen
    # their class's range to this band, because the data is thin
    moe_band: dict[str, list[float]] = {}
    # partial offload (-ngl below the layer count): one GPU↔CPU hand-off and sync per token
    partial_offload_ms: float = 0.0
    partial_offload_rows: int = 0
    partial_band: list[float] = [1.0, 1.0]  # held-out measured ÷ predicted band of those rows
    # several sockets with llama.cpp's default placement: effective ÷ ONE socket's bandwidth
    socket_factor: float = 1.0
    socket_rows: int = 0
    # older builds, per "backend:era" (moe_domain and Measurement.era): extra ms per token
    # and a factor on the bandwidth reached. Used for fitting and checking, never in answers
    era_ms: dict[str, float] = {}
    era_efficiency: dict[str, float] = {}
    # classes whose decode is bound by arithmetic as much as by bytes (COMPUTE_BOUND_CLASSES):
    # peak-FP32 FLOPs per active parameter per token (÷ the quant family's factor: a slower
    # family costs more arithmetic per weight), added to the reading time: on these cards the
    # dequantising arithmetic does not hide behind the memory reads (fitted: 85% of Pascal rows
    # held out within ±35% this way, 81% taking the longer of the two)
    flop_per_param: dict[str, float] = {}
    flop_per_param_rows: dict[str, int] = {}

    def compute_seconds(self, device_class: str, active_params_b: float, tflops: float | None,
                        quant_factor: float) -> float:
        per_param = self.flop_per_param.get(device_class)
        return active_params_b * 1e9 * per_param / (tflops * 1e12 * quant_factor) if per_param and tflops else 0.0

    def era_cost(self, device_class: str, era: str | None) -> tuple[float, float]:
        """A backend whose rows of that era were not fitted takes the median of the other
        backends' ("*:era"): older builds were slower, and by about as much elsewhere."""
        if not era:
            return 0.0, 1.0
        key = f"{moe_domain(device_class)}:{era}"
        if key not in self.era_ms:
            key = f"*:{era}"
        return self.era_ms.get(key, 0.0), self.era_efficiency.get(key, 1.0)
    held_out_sources: int = 0  # sources left out in turn for the held-out figures
    # per measuring tool (Measurement.wrapper): its own ms per token, never in answers
    wrapper_ms: dict[str, float] = {}

    def moe_ms(self, device_class: str) -> float:
        domain = moe_domain(device_class)
        if domain in self.moe_layer_ms:
            return self.moe_layer_ms[domain]
        # a backend without MoE rows borrows the largest GPU backend's cost (the slower guess;
        # the Arm CPU's is no guide to an x86 CPU)
        pool = [v for d, v in self.moe_layer_ms.items() if not d.startswith("cpu")]
        return max(pool, default=0.0)

    def moe_range(self, device_class: str | None) -> tuple[float, float, int]:
        """The MoE band for a backend (None: over all MoE rows) and how many rows it rests on."""
        domain = moe_domain(device_class) if device_class else None
        if domain in self.moe_band:
            low, high = self.moe_band[domain]
            return low, high, self.moe_rows[domain]
        low, high = self.moe_band.get("all", [1.0, 1.0])
        return low, high, sum(self.moe_rows.values())

    def quant(self, quant: str, device_class: str) -> float:
        return self.quant_factor.get(quant_key(quant, device_class), 1.0)

    def for_class(self, device_class: str) -> ClassFit:
        """The class's fit, or the fit of the class it borrows from when it has fewer than 3
        rows (a chain: cuda_unified → cuda; any unknown class → cuda)."""
        seen = device_class
        for _ in range(4):
            if seen in self.classes and self.classes[seen].rows >= 3:
                return self.classes[seen]
            seen = FALLBACK_CLASS.get(seen, "cuda")
        return max(self.classes.values(), key=lambda c: c.rows)


def load_measurements(path: Path | None = None) -> list[Measurement]:
    groups = [g for data in _measurement_tables(path) for g in data.get("group", [])]
    rows = []
    for group in groups:
        for row in group["rows"]:
            merged = {"device_class": group["device_class"], "backend": group["backend"],
                      "era": group.get("era"), "source": group["source"],
                      "flash_attention": group.get("flash_attention", True),
                      "wrapper": group.get("wrapper"), "source_key": group.get("source_key"), **row}
            if merged["device_class"] == "metal":  # the Apple GPU family from the chip's name
                merged["device_class"] = apple_class(merged["device"])
            rows.append(Measurement(**merged))
    return [_with_experts_active(r) for r in rows]


def _with_experts_active(row: Measurement) -> Measurement:
    """A MoE row's routed experts per token from RigBot's catalog model of that name."""
    if not row.moe_layers or row.experts_active:
        return row
    from rules.catalog import load_catalog

    catalog = load_catalog()
    for name in (row.model, row.model.replace(" ", "-").lower(), row.model.replace("Coder ", "")):
        try:
            spec = catalog.model(name)
        except KeyError:
            continue
        if spec.experts_active:
            return row.model_copy(update={"experts_active": spec.experts_active})
    raise ValueError(f"MoE row of {row.model!r} needs experts_active: no catalog model of that name")


def load_offload_measurements(path: Path | None = None) -> list[OffloadMeasurement]:
    return [OffloadMeasurement(**o) for data in _measurement_tables(path) for o in data.get("offload", [])]


def fit_offload(fit: SpeedFit, rows: list[OffloadMeasurement]) -> SpeedFit:
    """The per-layer hand-off cost: what each row's measured time per token leaves over the
    speed model's, per layer with its experts in RAM. Median over rows."""
    import numpy as np

    if not rows:
        return fit
    costs = [(1 / r.tg - r.seconds_without_handoffs(fit)) / r.n_cpu_moe * 1000 for r in rows]
    return fit.model_copy(update={
        "expert_offload_layer_ms": round(max(0.0, float(np.median(costs))), 4),
        "expert_offload_rows": len(rows),
        "expert_offload_source": f"median of {len(rows)} --n-cpu-moe measurement(s) in measurements.toml [[offload]]"})


def load_host_measurements(path: Path | None = None) -> list[HostMeasurement]:
    return [HostMeasurement(**h) for data in _measurement_tables(path) for h in data.get("host", [])]


DEVICE_FILE = DATA_DIR / "device_tflops.toml"


@cache
def device_tflops(path: Path = DEVICE_FILE) -> dict[str, float]:
    """Peak FP32 TFLOPS by device name (prefill; the compute term of compute-bound classes)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: d["fp32_tflops"] for d in data.get("device", []) for name in d["names"]}


@cache
def load_fit(path: Path = FIT_FILE) -> SpeedFit:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    classes = {c["device_class"]: ClassFit(**c) for c in data.pop("class")}
    return SpeedFit(classes=classes, **data)


# --- prediction shared by the fit and by rules.speed --------------------------------------

def decode_seconds(bytes_per_token: float, bandwidth_gbs: float, cf: ClassFit, quant_factor: float,
                   *, flops: float | None = None,
                   gflops: float | None = None, kv_bytes: float = 0.0, kv_factor: float = 1.0,
                   moe_ms: float = 0.0) -> float:
    """Seconds per generated token on one device: the slower of reading the weights (and
    the KV cache) and computing with them, plus the fixed cost per token (and, for a MoE,
    `moe_ms`: its MoE layers times the backend's cost per MoE layer)."""
    read = (bytes_per_token + kv_factor * kv_bytes) / (min(1.0, cf.efficiency * quant_factor) * bandwidth_gbs * 1e9)
    compute = flops / (gflops * 1e9) if flops and gflops else 0.0
    fixed = cf.fixed_ms + moe_ms
    return max(read, compute) + fixed / 1000


def row_seconds(m: Measurement, eff, fixed, quant_factor, moe, *, kv_factor: float, old_ms: float = 0.0,
                old_eff: float = 1.0, offload_ms: float = 0.0, socket_factor: float = 1.0,
                compute_s: float = 0.0) -> float:
    """The speed model's seconds per token for one measurement, given the fitted figures as
    functions of a class (`eff`, `fixed`, `moe`: ms per MoE layer) and of (quant, class)
    (`quant_factor`). One formula for the fit and for predictions:

      one device:      bytes ÷ (efficiency × quant factor × bandwidth) + fixed ms
                       (several sockets: one socket's bandwidth × the fitted socket factor)
      partial offload: the GPU's layers at VRAM bandwidth + the CPU's layers at RAM bandwidth,
                       one after another, + the GPU's fixed ms + one hand-off and sync
                       (offload_ms; the CPU layers' thread sync is inside it)
    and the KV cache read where its layers live."""
    kv = kv_factor * m.kv_bytes_per_token
    weights = m.weight_bytes_per_token
    cls = m.device_class
    share = m.gpu_fraction
    if share is None:
        bandwidth = m.bandwidth_gbs * (socket_factor if m.sockets > 1 else 1.0)
        read = (weights + kv) / (min(1.0, eff(cls) * old_eff * quant_factor(m.quant, cls)) * bandwidth * 1e9)
        ms = fixed(cls) + old_ms + (m.moe_units * moe(cls) if m.moe_layers else 0.0)
        return read + compute_s + ms / 1000
    cpu = m.cpu_class
    gpu_read = share * (weights + kv) / (min(1.0, eff(cls) * old_eff * quant_factor(m.quant, cls))
                                         * m.bandwidth_gbs * 1e9) + share * compute_s
    cpu_read = (1 - share) * (weights + kv) / (min(1.0, eff(cpu) * quant_factor(m.quant, cpu)) * m.ram_gbs * 1e9)
    ms = fixed(cls) + old_ms + offload_ms  # the CPU layers sync inside the hand-off
    if m.moe_layers:
        ms += m.moe_units * (share * moe(cls) + (1 - share) * moe(cpu))
    return gpu_read + cpu_read + ms / 1000


def predict_measurement(m: Measurement, fit: SpeedFit) -> float:
    old, old_eff = fit.era_cost(fit.for_class(m.device_class).device_class, m.era)
    compute_s = fit.compute_seconds(m.device_class, m.active_params_b or m.params_b, device_tflops().get(m.device),
                                    fit.quant(m.quant, m.device_class))
    seconds = row_seconds(
        m, lambda c: fit.for_class(c).efficiency, lambda c: fit.for_class(c).fixed_ms, fit.quant, fit.moe_ms,
        kv_factor=fit.kv_read_factor if m.flash_attention else fit.kv_read_factor_no_fa, old_ms=old, old_eff=old_eff,
        offload_ms=fit.partial_offload_ms, socket_factor=fit.socket_factor, compute_s=compute_s)
    return 1.0 / (seconds + fit.wrapper_ms.get(m.wrapper, 0.0) / 1000 if m.wrapper else seconds)


def predict_prefill(m: Measurement, fit: SpeedFit) -> float | None:
    tflops = device_tflops().get(m.device)
    cf = fit.for_class(m.device_class)
    if tflops is None or cf.prefill_efficiency is None:
        return None
    return cf.prefill_efficiency * tflops * 1e12 / m.flops_per_token


# --- fitting (build / test time) ---------------------------------------------------------

def _row_families(m: Measurement) -> set[str]:
    keys = {m.family}
    if m.is_partial:
        keys.add(quant_key(m.quant, m.cpu_class))
    return keys


def fit_measurements(rows: list[Measurement], hosts: list[HostMeasurement], *, held_out: bool = True,
                     moe_band: bool | None = None) -> SpeedFit:
    """Least squares on log(predicted ÷ measured) over every decode row: per class an
    efficiency (≤ 1) and a fixed cost (and an old-build extra cost where rows carry an
    era), one bandwidth factor per quant family (legacy = 1), per backend with MoE rows a
    fixed cost per MoE layer, the partial-offload hand-off cost and the several-sockets
    bandwidth factor. `held_out`: also refit without each source in turn and take every
    range from those held-out predictions (off inside the refits)."""
    import numpy as np
    from scipy.optimize import least_squares

    if moe_band is not None:  # the older name of the same switch
        held_out = moe_band
    # a class with fewer than 3 rows is fitted as the class it borrows from, exactly as
    # SpeedFit.for_class predicts it, so in-sample ratios and predictions agree
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.device_class] = counts.get(r.device_class, 0) + 1

    def own(c: str) -> str:
        for _ in range(4):
            if counts.get(c, 0) >= 3:
                return c
            c = FALLBACK_CLASS.get(c, "cuda")
        return c

    raw_classes = sorted({r.device_class for r in rows} | {r.cpu_class for r in rows if r.is_partial})
    classes = sorted({own(c) for c in raw_classes})
    # a family without measurements keeps factor 1 rather than an unconstrained guess
    families = sorted({k for r in rows for k in _row_families(r) if not k.endswith(":legacy")})
    # what an older build cost (extra ms per token, a factor on the bandwidth reached) is a
    # property of the backend's code, shared by its device classes: fitted per backend and
    # era where the backend also has current rows; elsewhere old rows are taken as they are
    # (a class measured only on old builds keeps their speed: conservative)
    def era_key(r: Measurement) -> str | None:
        return f"{moe_domain(own(r.device_class))}:{r.era}" if r.era else None

    current = {moe_domain(own(r.device_class)) for r in rows if not r.era}
    old_classes = sorted({k for r in rows if (k := era_key(r)) and k.split(":")[0] in current})
    domains = sorted({moe_domain(c) for r in rows if r.moe_layers
                      for c in ([r.device_class, r.cpu_class] if r.is_partial else [r.device_class])})
    has_partial = any(r.is_partial for r in rows)
    has_sockets = any(r.sockets > 1 for r in rows)
    wrappers = sorted({r.wrapper for r in rows if r.wrapper})
    n_c, n_f, n_o, n_d, n_w = len(classes), len(families), len(old_classes), len(domains), len(wrappers)

    def unpack(x):
        eff = dict(zip(classes, x[:n_c], strict=True))
        fixed = dict(zip(classes, x[n_c:2 * n_c], strict=True))
        qf = dict(zip(families, x[2 * n_c:2 * n_c + n_f], strict=True))
        old = dict(zip(old_classes, x[2 * n_c + n_f:2 * n_c + n_f + n_o], strict=True))
        moe = dict(zip(domains, x[2 * n_c + n_f + n_o:2 * n_c + n_f + n_o + n_d], strict=True))
        wrap = dict(zip(wrappers, x[2 * n_c + n_f + n_o + n_d:2 * n_c + n_f + n_o + n_d + n_w], strict=True))
        old_eff = dict(zip(old_classes, x[len(x) - 4 - n_o:-4], strict=True))
        per_param = dict(zip(compute_classes, x[len(x) - 4 - n_o - n_k:len(x) - 4 - n_o], strict=True))
        offload, sockets, kv_fa, kv_no_fa = x[-4:]
        return eff, fixed, qf, old, old_eff, per_param, moe, wrap, offload, sockets, kv_fa, kv_no_fa

    # the same formula as row_seconds, on arrays (one element per row): the fit evaluates it
    # thousands of times, the leave-one-source-out check once per source
    ci = {c: i for i, c in enumerate(classes)}
    fi = {f: i for i, f in enumerate(families)}  # index n_f: a legacy family, factor 1
    oi = {c: i for i, c in enumerate(old_classes)}  # index n_o: a current build (or an era not fitted)
    di = {d: i for i, d in enumerate(domains)}  # index n_d: no MoE cost
    share = np.array([r.gpu_fraction if r.is_partial else 1.0 for r in rows])
    partial = np.array([r.is_partial for r in rows])
    weights = np.array([r.weight_bytes_per_token for r in rows])
    kv_bytes = np.array([r.kv_bytes_per_token for r in rows])
    fa = np.array([r.flash_attention for r in rows])
    multi = np.array([r.sockets > 1 for r in rows])
    bandwidth = np.array([r.bandwidth_gbs for r in rows]) * 1e9
    ram = np.array([r.ram_gbs or 1.0 for r in rows]) * 1e9
    g_cls = np.array([ci[own(r.device_class)] for r in rows])
    c_cls = np.array([ci[own(r.cpu_class)] if r.is_partial else 0 for r in rows])
    g_fam = np.array([fi.get(quant_key(r.quant, r.device_class), n_f) for r in rows])
    c_fam = np.array([fi.get(quant_key(r.quant, r.cpu_class), n_f) for r in rows])
    old_idx = np.array([oi.get(era_key(r), n_o) for r in rows])
    moe_layers = np.array([r.moe_units for r in rows], dtype=float)
    g_dom = np.array([di.get(moe_domain(r.device_class), n_d) for r in rows])
    c_dom = np.array([di.get(moe_domain(r.cpu_class), n_d) for r in rows])
    wi = {w: i for i, w in enumerate(wrappers)}  # index n_w: no wrapper
    w_idx = np.array([wi.get(r.wrapper, n_w) for r in rows])
    log_tg = np.log([r.tg for r in rows])
    # a compute-bound class's rows with a known peak FP32 rate: active parameters ÷ FLOP/s
    tflops = device_tflops()
    compute_classes = sorted({r.device_class for r in rows if r.device_class in COMPUTE_BOUND_CLASSES
                              and r.device in tflops})
    n_k = len(compute_classes)
    ki = {c: i for i, c in enumerate(compute_classes)}  # index n_k: no compute term
    k_idx = np.array([ki.get(r.device_class, n_k) if r.device in tflops else n_k for r in rows])
    params_per_flops = np.array([(r.active_params_b or r.params_b) * 1e9 / (tflops[r.device] * 1e12)
                                 if r.device in tflops else 0.0 for r in rows])

    def residuals(x):
        eff, fixed = x[:n_c], x[n_c:2 * n_c]
        qf = np.append(x[2 * n_c:2 * n_c + n_f], 1.0)
        old = np.append(x[2 * n_c + n_f:2 * n_c + n_f + n_o], 0.0)
        moe = np.append(x[2 * n_c + n_f + n_o:2 * n_c + n_f + n_o + n_d], 0.0)
        wrap = np.append(x[2 * n_c + n_f + n_o + n_d:2 * n_c + n_f + n_o + n_d + n_w], 0.0)
        old_eff = np.append(x[len(x) - 4 - n_o:-4], 1.0)
        per_param = np.append(x[len(x) - 4 - n_o - n_k:len(x) - 4 - n_o], 0.0)
        offload, sockets, kv_fa, kv_no_fa = x[-4:]
        read = weights + np.where(fa, kv_fa, kv_no_fa) * kv_bytes
        gpu_bw = bandwidth * np.where(multi & ~partial, sockets, 1.0)
        seconds = share * (read / (np.minimum(1.0, eff[g_cls] * old_eff[old_idx] * qf[g_fam]) * gpu_bw)
                           + per_param[k_idx] * params_per_flops / qf[g_fam])
        seconds += np.where(partial, (1 - share) * read / (np.minimum(1.0, eff[c_cls] * qf[c_fam]) * ram), 0.0)
        ms = fixed[g_cls] + old[old_idx] + np.where(partial, offload, 0.0) + wrap[w_idx]
        ms += moe_layers * (share * moe[g_dom] + (1 - share) * moe[c_dom])
        return -np.log(seconds + ms / 1000) - log_tg

    x0 = ([0.8] * n_c + [0.5 if c.startswith("cpu") else 2.0 for c in classes] + [1.0] * n_f + [2.0] * n_o
          + [0.05] * n_d + [1.0] * n_w + [20.0] * n_k
          + [0.9] * n_o + [1.0, 0.6, 1.0, 1.5])
    lo = ([0.2] * n_c + [0.0] * n_c + [0.3] * n_f + [0.0] * n_o + [0.0] * n_d + [0.0] * n_w + [0.0] * n_k
          + [0.3] * n_o + [0.0, 0.1, 0.3, 0.3])
    hi = ([1.0] * n_c + [CPU_FIXED_MS_MAX if c.startswith("cpu") else 60.0 for c in classes] + [1.3] * n_f + [30.0] * n_o + [2.0] * n_d + [30.0] * n_w + [200.0] * n_k
          + [1.0] * n_o + [OFFLOAD_MS_MAX, 2.0, 8.0, 8.0])
    if not has_partial:  # nothing to identify it: pin the hand-off cost at zero
        x0[-4], hi[-4] = 0.0, 1e-9
    if not has_sockets:
        x0[-3], lo[-3], hi[-3] = 1.0, 1.0 - 1e-9, 1.0 + 1e-9
    # soft_l1 keeps a single odd row (a slow driver, a mislabelled size) from dragging a class.
    # One BLAS thread: the problem is small, and on a shared machine threaded SVDs of a few
    # hundred rows run several times slower than one thread
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        result = least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.15)
    eff, fixed, qf, old, old_eff, per_param, moe, wrap, offload, sockets, kv_fa, kv_no_fa = unpack(result.x)
    res = residuals(result.x)
    all_low, all_high = _ratio_band(res)

    prefill = _fit_prefill(rows)
    fits = {}
    for c in raw_classes:
        idx = [i for i, r in enumerate(rows) if r.device_class == c]
        big = len(idx) >= MIN_ROWS_FOR_OWN_RANGE
        low, high = _ratio_band(res[idx]) if big else (all_low, all_high)
        p_eff, p_n, p_low, p_high = prefill.get(c, (None, 0, None, None))
        fits[c] = ClassFit(
            device_class=c, efficiency=round(float(eff[own(c)]), 4), fixed_ms=round(float(fixed[own(c)]), 3),
            rows=len(idx),
            ratio_low=low, ratio_high=high, range_rows=len(idx) if big else len(rows),
            prefill_efficiency=p_eff, prefill_rows=p_n, prefill_ratio_low=p_low, prefill_ratio_high=p_high,
        )
    cpu_compute_efficiency, cpu_prefill_efficiency, cpu_compute_source = _fit_host_compute(hosts, fits)
    fit = SpeedFit(
        method=("scipy.optimize.least_squares (soft_l1, f_scale 0.15) on log(predicted/measured) tg, "
                "per device class: efficiency in [0.2, 1], fixed ms/token, old-build extra ms; "
                "per quant family: bandwidth factor (legacy = 1); a factor on KV cache bytes read with and one without flash attention; "
                "per backend with MoE rows: ms per MoE layer and token in [0, 2]; partial offload (GPU and CPU layers in series): "
                "ms per token for the hand-off; several sockets: effective / one socket's bandwidth; per measuring tool "
                "(rows taken through a wrapper): its own ms per token, never added to answers. "
                "Ranges shown in answers: 5th-95th percentile of measured/predicted where each row is predicted by a fit "
                "WITHOUT its source (leave one source out), per class with >= 10 rows, all rows pooled otherwise; "
                "ratio_low/high: in-sample 10th-90th percentile (kept for user reports). "
                "Prefill: median of measured/(peak FP32 FLOP/s / 2·params) per class."),
        measurements=len(rows),
        quant_factor={k: round(float(v), 4) for k, v in qf.items()},
        kv_read_factor=round(float(kv_fa), 3),
        kv_read_factor_no_fa=round(float(kv_no_fa), 3),
        classes=fits,
        cpu_compute_efficiency=cpu_compute_efficiency,
        cpu_prefill_efficiency=cpu_prefill_efficiency,
        cpu_compute_source=cpu_compute_source,
        moe_layer_ms={d: round(float(v), 6) for d, v in moe.items()},
        moe_rows={d: sum(r.moe == d for r in rows) for d in domains},
        partial_offload_ms=round(float(offload), 3) if has_partial else 0.0,
        partial_offload_rows=sum(r.is_partial for r in rows),
        socket_factor=round(float(sockets), 4) if has_sockets else 1.0,
        socket_rows=sum(r.sockets > 1 for r in rows),
        wrapper_ms={w: round(float(v), 3) for w, v in wrap.items()},
        era_ms=_with_pooled_eras({k: round(float(v), 3) for k, v in old.items()}),
        era_efficiency=_with_pooled_eras({k: round(float(v), 4) for k, v in old_eff.items()}),
        flop_per_param={c: round(float(v), 5) for c, v in per_param.items()},
        flop_per_param_rows={c: int(sum(k_idx == ki[c])) for c in compute_classes},
    )
    if held_out:
        fit = with_held_out_bands(fit, held_out_ratios(rows, hosts))
    return fit


def _with_pooled_eras(values: dict[str, float]) -> dict[str, float]:
    """Adds "*:era", the median over backends, for backends without rows of that era."""
    import numpy as np

    pooled = {}
    for era in ERAS:
        own = [v for k, v in values.items() if k.endswith(f":{era}")]
        if own:
            pooled[f"*:{era}"] = round(float(np.median(own)), 4)
    return values | pooled


def held_out_ratios(rows: list[Measurement], hosts: list[HostMeasurement]) -> list[tuple[Measurement, float]]:
    """measured ÷ predicted of every row, predicted by a fit of all OTHER sources' rows
    (leave one source out; a source is a document or one machine's results, `origin`). A row whose class no other source measures is predicted the way
    an answer would predict it: with the class it borrows from."""
    out = []
    for origin in sorted({r.origin for r in rows}):
        train = [r for r in rows if r.origin != origin]
        fitted = fit_measurements(train, hosts, held_out=False)
        out += [(r, r.tg / predict_measurement(r, fitted)) for r in rows if r.origin == origin]
    return out


def within_35(ratio: float) -> bool:
    return 0.65 <= ratio <= 1.35


def _held_band(ratios: list[float]) -> list[float]:
    import numpy as np

    low, high = np.percentile(ratios, HELD_OUT_PERCENTILES)
    return [round(float(low), 3), round(float(high), 3)]


MIN_MOE_ROWS_FOR_OWN_BAND = 3


def with_held_out_bands(fit: SpeedFit, held: list[tuple[Measurement, float]]) -> SpeedFit:
    """The ranges answers show, from held-out ratios: per class (pooled when it has fewer
    than MIN_ROWS_FOR_HELD_OUT_BAND), for partial offload, and per MoE backend (min-max,
    as few rows as MoE has)."""
    every = [x for _, x in held]
    pooled = _held_band(every)
    classes = {}
    for name, cf in fit.classes.items():
        own = [x for r, x in held if r.device_class == name and not r.is_partial]
        band = _held_band(own) if len(own) >= MIN_ROWS_FOR_HELD_OUT_BAND else pooled
        classes[name] = cf.model_copy(update={
            "held_out_low": band[0], "held_out_high": band[1], "held_out_rows": len(own),
            "held_out_within": round(sum(map(within_35, own)) / len(own), 3) if own else None,
            "held_out_band_rows": len(own) if len(own) >= MIN_ROWS_FOR_HELD_OUT_BAND else len(every)})
    partial = [x for r, x in held if r.is_partial]
    moe: dict[str, list[float]] = {}
    for r, x in held:
        if r.moe:
            moe.setdefault(r.moe, []).append(x)
    moe_every = [x for v in moe.values() for x in v]
    bands = {"all": [round(min(moe_every), 3), round(max(moe_every), 3)]} if moe_every else {}
    bands |= {d: [round(min(v), 3), round(max(v), 3)] for d, v in moe.items() if len(v) >= MIN_MOE_ROWS_FOR_OWN_BAND}
    return fit.model_copy(update={
        "classes": classes, "moe_band": bands, "held_out_sources": len({r.origin for r, _ in held}),
        "partial_band": _held_band(partial) if len(partial) >= MIN_ROWS_FOR_HELD_OUT_BAND else pooled})


def held_out_table(held: list[tuple[Measurement, float]], fit: SpeedFit) -> list[dict]:
    """Per class and per cross-cutting kind (partial offload, MoE, several sockets): rows,
    sources, share within ±35% and share inside the range an answer would show."""
    def band_of(r: Measurement) -> tuple[float, float]:
        if r.is_partial:
            return tuple(fit.partial_band)
        cf = fit.classes.get(r.device_class) or fit.for_class(r.device_class)
        return cf.held_out_low or cf.ratio_low, cf.held_out_high or cf.ratio_high

    groups: dict[str, list[tuple[Measurement, float]]] = {}
    for r, x in held:
        groups.setdefault(r.device_class if not r.is_partial else "partial_offload", []).append((r, x))
        if r.moe_layers:
            groups.setdefault("moe (all backends)", []).append((r, x))
        if r.sockets > 1:
            groups.setdefault("several_sockets", []).append((r, x))
    groups["all"] = held
    table = []
    for name, items in groups.items():
        covered = sum(band_of(r)[0] <= x <= band_of(r)[1] for r, x in items)
        current = [x for r, x in items if not r.era]  # what answers predict: today's builds
        table.append({"group": name, "rows": len(items), "sources": len({r.origin for r, _ in items}),
                      "within_35": sum(within_35(x) for _, x in items) / len(items),
                      "in_range": covered / len(items), "current_rows": len(current),
                      "current_within_35": sum(map(within_35, current)) / len(current) if current else None})
    return table



def _fit_host_compute(hosts: list[HostMeasurement], fits: dict[str, ClassFit]) -> tuple[float, float, str]:
    """The share of the measured one-thread matmul FLOP/s that llama.cpp reaches: in decode,
    what is left of each host's time per token after the fixed cost, spent on
    2 × parameters FLOPs; in prefill, prompt tokens/s × 2 × parameters. Medians over hosts."""
    import numpy as np

    decode, prefill = [], []
    for h in hosts:
        cf = fits.get(h.device_class) or fits[FALLBACK_CLASS[h.device_class]]
        rate = h.matmul_gflops_1thread * 1e9 * h.threads
        decode.append(2e9 * h.params_b / ((1 / h.tg - cf.fixed_ms / 1000) * rate))
        if h.pp:
            prefill.append(h.pp * 2e9 * h.params_b / rate)
    if not decode:
        raise ValueError("measurements.toml needs at least one [[host]] row")
    return (round(float(np.median(decode)), 4), round(float(np.median(prefill)), 4) if prefill else 0.0,
            f"medians of {len(decode)} RigBot host measurement(s) in measurements.toml [[host]]")


def _ratio_band(log_pred_over_meas) -> tuple[float, float]:
    import numpy as np

    ratios = np.exp(-np.asarray(log_pred_over_meas))  # measured ÷ predicted
    return round(float(np.percentile(ratios, 10)), 3), round(float(np.percentile(ratios, 90)), 3)


def _fit_prefill(rows: list[Measurement]) -> dict[str, tuple]:
    import numpy as np

    tflops = device_tflops()
    out = {}
    for c in sorted({r.device_class for r in rows}):
        ratios = [r.pp * r.flops_per_token / (tflops[r.device] * 1e12)
                  for r in rows if r.device_class == c and r.pp and r.device in tflops and r.gpus == 1]
        if len(ratios) < 3:
            continue
        eff = float(np.median(ratios))
        rel = np.array(ratios) / eff
        out[c] = (round(eff, 4), len(ratios), round(float(np.percentile(rel, 10)), 3),
                  round(float(np.percentile(rel, 90)), 3))
    return out


def write_fit(fit: SpeedFit, path: Path = FIT_FILE) -> None:
    lines = [
        "# Fitted by rules/calibration.py from measurements.toml; do not edit by hand.",
        "# Regenerate: python -m rules.calibration",
        f"method = {_toml_str(fit.method)}",
        f"measurements = {fit.measurements}",
        f"kv_read_factor = {fit.kv_read_factor}",
        f"kv_read_factor_no_fa = {fit.kv_read_factor_no_fa}",
        f"cpu_compute_efficiency = {fit.cpu_compute_efficiency}",
        f"cpu_prefill_efficiency = {fit.cpu_prefill_efficiency}",
        f"cpu_compute_source = {_toml_str(fit.cpu_compute_source)}",
        f"expert_offload_layer_ms = {fit.expert_offload_layer_ms}",
        f"expert_offload_source = {_toml_str(fit.expert_offload_source)}",
        f"expert_offload_rows = {fit.expert_offload_rows}",
        f"partial_offload_ms = {fit.partial_offload_ms}",
        f"partial_offload_rows = {fit.partial_offload_rows}",
        f"partial_band = {fit.partial_band}",
        f"socket_factor = {fit.socket_factor}",
        f"socket_rows = {fit.socket_rows}",
        f"held_out_sources = {fit.held_out_sources}",
        "",
        "[moe_layer_ms]",
        *[f'{k} = {v}' for k, v in fit.moe_layer_ms.items()],
        "",
        "[wrapper_ms]",
        *[f'"{k}" = {v}' for k, v in fit.wrapper_ms.items()],
        "",
        "[flop_per_param]",
        *[f'{k} = {v}' for k, v in fit.flop_per_param.items()],
        "",
        "[flop_per_param_rows]",
        *[f'{k} = {v}' for k, v in fit.flop_per_param_rows.items()],
        "",
        "[era_ms]",
        *[f'"{k}" = {v}' for k, v in fit.era_ms.items()],
        "",
        "[era_efficiency]",
        *[f'"{k}" = {v}' for k, v in fit.era_efficiency.items()],
        "",
        "[moe_rows]",
        *[f'{k} = {v}' for k, v in fit.moe_rows.items()],
        "",
        "[moe_band]",
        *[f'{k} = {v}' for k, v in fit.moe_band.items()],
        "",
        "[quant_factor]",
        *[f'"{k}" = {v}' for k, v in fit.quant_factor.items()],
    ]
    for cf in fit.classes.values():
        lines += ["", "[[class]]"]
        for key, value in cf.model_dump().items():
            if value is None:
                continue
            lines.append(f"{key} = {_toml_str(value) if isinstance(value, str) else value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_fit.cache_clear()


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    rows = load_measurements()
    fitted = fit_offload(fit_measurements(rows, load_host_measurements()), load_offload_measurements())
    write_fit(fitted)
    print(f"fitted {len(rows)} rows -> {FIT_FILE}")
