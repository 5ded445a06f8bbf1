"""The longest context that fits: weights and overhead first, the rest of the memory
for the KV cache, for each KV cache type llama.cpp offers, capped at the native context."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from rules.catalog import ModelSpec, QuantType
from rules.memory import CPU_OVERHEAD_GIB, GPU_OVERHEAD_GIB, kv_cache_bytes, weights_bytes
from rules.rig import Rig
from rules.schema import GIB

KV_TYPES = ("f16", "q8_0", "q4_0")
CONTEXT_STEP = 256  # answers are rounded down to a multiple of this


class ContextLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    kv_type: str
    context: int  # 0 when even a minimal context does not fit
    kv_cache_gib: float
    capped_at_native: bool


def memory_for_model_gib(rig: Rig) -> tuple[float, float]:
    """(memory the model may use, overhead inside it): the GPU(s), or RAM without one."""
    if rig.gpus:
        return rig.gpu_budget_gib, GPU_OVERHEAD_GIB * rig.gpu_count
    return rig.ram_gib, CPU_OVERHEAD_GIB


def largest_context(model: ModelSpec, quant: QuantType, rig: Rig, kv_type: str) -> ContextLimit:
    budget, overhead = memory_for_model_gib(rig)
    room = (budget - overhead) * GIB - weights_bytes(model, quant)
    native = model.native_context

    def fits(ctx: int) -> bool:
        return kv_cache_bytes(model, ctx, kv_type) <= room

    if room <= 0 or not fits(CONTEXT_STEP):
        return ContextLimit(kv_type=kv_type, context=0, kv_cache_gib=0.0, capped_at_native=False)
    if fits(native):
        return ContextLimit(kv_type=kv_type, context=native, capped_at_native=True,
                            kv_cache_gib=kv_cache_bytes(model, native, kv_type) / GIB)
    # binary search in steps: the KV cache need not be linear (sliding-window layers cap it)
    lo, hi = 1, native // CONTEXT_STEP
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid * CONTEXT_STEP) else (lo, mid - 1)
    ctx = lo * CONTEXT_STEP
    return ContextLimit(kv_type=kv_type, context=ctx, capped_at_native=False,
                        kv_cache_gib=kv_cache_bytes(model, ctx, kv_type) / GIB)


def context_limits(model: ModelSpec, quant: QuantType, rig: Rig) -> list[ContextLimit]:
    return [largest_context(model, quant, rig, kv) for kv in KV_TYPES]
