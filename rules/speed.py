"""Speed math: generating a token reads every (active) weight once, so memory
bandwidth sets the ceiling; a measured efficiency per device class gives the
expected figure. With partial offload the GPU and CPU times per token add up."""

from __future__ import annotations

from rules.catalog import Catalog, DeviceClass, ModelSpec, QuantType
from rules.memory import Fit, read_bytes_per_token
from rules.rig import Rig
from rules.schema import SpeedInfo, Verdict


def ceiling_tokens_per_s(bandwidth_gbs: float, bytes_per_token: float) -> float:
    """The article's rule: 115 GB/s ÷ 13 GB ≈ 8.8 tokens/s."""
    return bandwidth_gbs * 1e9 / bytes_per_token


def speed(model: ModelSpec, quant: QuantType, fit: Fit, rig: Rig, catalog: Catalog) -> SpeedInfo | None:
    if fit.verdict == Verdict.DOES_NOT_FIT:
        return None
    per_token = read_bytes_per_token(model, quant)
    gpu_fraction = (fit.gpu_layers or 0) / fit.total_layers if rig.gpus else 0.0
    cpu_eff = catalog.efficiency(DeviceClass.CPU)

    # seconds per token, ideal and expected, for each part
    gpu_ideal = gpu_expected = 0.0
    if gpu_fraction:
        # llama.cpp splits layers across GPUs by memory; they run one after another.
        total_vram = sum(g.vram_gib * c for g, c in rig.gpus)
        for gpu, count in rig.gpus:
            share = gpu_fraction * gpu.vram_gib * count / total_vram
            seconds = share * per_token / (gpu.bandwidth_gbs * 1e9)
            gpu_ideal += seconds
            gpu_expected += seconds / catalog.efficiency(gpu.device_class)
    cpu_fraction = 1.0 - gpu_fraction
    cpu_ideal = cpu_fraction * per_token / (rig.ram_bandwidth_gbs * 1e9)
    cpu_expected = cpu_ideal / cpu_eff

    if cpu_fraction == 0:
        bottleneck = "gpu_memory_bandwidth"
    elif gpu_fraction == 0:
        bottleneck = "ram_bandwidth"
    else:
        bottleneck = "ram_bandwidth" if cpu_expected >= gpu_expected else "gpu_memory_bandwidth"
    return SpeedInfo(
        theoretical_max_tokens_per_s=1.0 / (gpu_ideal + cpu_ideal),
        expected_tokens_per_s=1.0 / (gpu_expected + cpu_expected),
        bottleneck=bottleneck,
    )


def speed_from_bandwidth(
    bandwidth_gbs: float, model_gb: float, device_class: DeviceClass, catalog: Catalog
) -> SpeedInfo:
    """A pure speed question: 'how fast is a 13 GB model at 115 GB/s?'"""
    ceiling = ceiling_tokens_per_s(bandwidth_gbs, model_gb * 1e9)
    return SpeedInfo(
        theoretical_max_tokens_per_s=ceiling,
        expected_tokens_per_s=ceiling * catalog.efficiency(device_class),
        bottleneck="gpu_memory_bandwidth" if device_class != DeviceClass.CPU else "ram_bandwidth",
    )
