"""Memory math: weights, KV cache, overhead, and where a model fits (the verdict)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from rules.catalog import ModelSpec, QuantType
from rules.rig import Rig
from rules.schema import GIB, Verdict

# A CUDA/Metal context plus llama.cpp's compute buffers, per GPU. Chosen so that
# the article's GPTQ 4-bit table (30B in 20 GB at 2048 context) holds.
GPU_OVERHEAD_GIB = 0.8
# llama.cpp's process, compute buffers and the OS working set on a CPU-only run.
# The article's RAM-per-quantization ranges need 1.5 GiB (13B 5-bit, 65B 8-bit).
CPU_OVERHEAD_GIB = 1.5

# bytes per cached element for llama.cpp's --cache-type-k/-v
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

VERDICT_RANK = {
    Verdict.DOES_NOT_FIT: 0,
    Verdict.CPU_ONLY: 1,
    Verdict.PARTIAL_OFFLOAD: 2,
    Verdict.FITS_GPU: 3,
}


def weights_bytes(model: ModelSpec, quant: QuantType) -> float:
    """File size of the model's weights at this quantization."""
    if model.expert_params_b and quant.bits_per_weight_experts:
        dense_b = model.params_b - model.expert_params_b
        return (
            model.expert_params_b * 1e9 * quant.bits_per_weight_experts
            + dense_b * 1e9 * quant.bits_per_weight
        ) / 8
    return model.params_b * 1e9 * quant.bits_per_weight / 8


def kv_cache_bytes(model: ModelSpec, context: int, kv_type: str = "f16") -> float:
    """K and V for every layer, KV head and position (grouped-query attention
    shares KV heads, which is why Llama 3 8B's cache is 4x smaller than Llama 2 7B's)."""
    return (
        2 * model.layers * model.kv_heads * model.kv_head_dim * context
        * KV_BYTES_PER_ELEMENT[kv_type]
    )


def read_bytes_per_token(model: ModelSpec, quant: QuantType) -> float:
    """Weights read to generate one token: all of them for a dense model,
    only the active experts' share for a mixture of experts."""
    weights = weights_bytes(model, quant)
    if model.active_params_b:
        return weights * model.active_params_b / model.params_b
    return weights


class Fit(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    weights_gib: float
    kv_cache_gib: float
    overhead_gib: float
    total_gib: float
    available_gib: float | None
    gpu_layers: int | None
    total_layers: int
    gpu_budget_gib: float  # memory the GPU(s) may use for the model
    ram_needed_gib: float  # for the part that stays in system RAM


def fit(model: ModelSpec, quant: QuantType, context: int, rig: Rig, kv_type: str = "f16") -> Fit:
    """Where does this model go on this rig? GPU first, then GPU + RAM, then RAM."""
    weights = weights_bytes(model, quant) / GIB
    kv = kv_cache_bytes(model, context, kv_type) / GIB
    layers = model.layers
    per_layer = (weights + kv) / layers

    def result(verdict, overhead, available, gpu_layers, ram_needed):
        return Fit(
            verdict=verdict,
            weights_gib=weights,
            kv_cache_gib=kv,
            overhead_gib=overhead,
            total_gib=weights + kv + overhead,
            available_gib=available,
            gpu_layers=gpu_layers,
            total_layers=layers,
            gpu_budget_gib=rig.gpu_budget_gib,
            ram_needed_gib=ram_needed,
        )

    if not rig.gpus:
        need = weights + kv + CPU_OVERHEAD_GIB
        verdict = Verdict.CPU_ONLY if need <= rig.ram_gib else Verdict.DOES_NOT_FIT
        return result(verdict, CPU_OVERHEAD_GIB, rig.ram_gib, None, need)

    gpu_overhead = GPU_OVERHEAD_GIB * rig.gpu_count
    if weights + kv + gpu_overhead <= rig.gpu_budget_gib:
        return result(Verdict.FITS_GPU, gpu_overhead, rig.gpu_budget_gib, layers, 0.0)

    gpu_layers = max(0, min(layers - 1, math.floor((rig.gpu_budget_gib - gpu_overhead) / per_layer)))
    on_gpu = gpu_layers * per_layer + (gpu_overhead if gpu_layers else 0.0)
    ram_needed = (layers - gpu_layers) * per_layer + CPU_OVERHEAD_GIB
    # On unified memory the GPU's share comes out of the same pool as "RAM".
    ram_free = rig.ram_gib - on_gpu if rig.unified_memory else rig.ram_gib
    overhead = (gpu_overhead if gpu_layers else 0.0) + CPU_OVERHEAD_GIB
    available = rig.ram_gib if rig.unified_memory else rig.gpu_budget_gib + rig.ram_gib
    if ram_needed > ram_free:
        return result(Verdict.DOES_NOT_FIT, overhead, available, gpu_layers, ram_needed)
    verdict = Verdict.PARTIAL_OFFLOAD if gpu_layers else Verdict.CPU_ONLY
    return result(verdict, overhead, available, gpu_layers, ram_needed)
