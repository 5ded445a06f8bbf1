"""Several users on one llama.cpp server: `llama-server -np N -c N×CTX` gives each of
N slots CTX tokens of KV cache. Memory is weights + N × KV per slot + overhead. Decoding
all slots together reads the weights once per step, plus each slot's KV cache."""

from __future__ import annotations

from rules.calibration import device_tflops, load_fit
from rules.catalog import ModelSpec, QuantType
from rules.context import memory_for_model_gib
from rules.memory import kv_cache_bytes, weights_bytes
from rules.rig import Rig
from rules.schema import GIB, ServingInfo, SpeedInfo
from rules.speed import gpu_class

MAX_USERS = 4096


def users_that_fit(model: ModelSpec, quant: QuantType, rig: Rig, context: int, kv_type: str) -> int:
    budget, overhead = memory_for_model_gib(rig)
    room = (budget - overhead) * GIB - weights_bytes(model, quant)
    per_slot = kv_cache_bytes(model, context, kv_type)
    return max(0, min(MAX_USERS, int(room // per_slot))) if per_slot > 0 else 0


def serving(model: ModelSpec, quant: QuantType, rig: Rig, users: int, context: int, kv_type: str,
            single: SpeedInfo | None) -> ServingInfo:
    per_slot = kv_cache_bytes(model, context, kv_type)
    aggregate = per_user = None
    if single and users > 0:
        step = 1 / single.expected_tokens_per_s
        # each slot's KV cache, half full on average, is read once per step
        bandwidth = rig.gpus[0][0].bandwidth_gbs if rig.gpus else rig.ram_bandwidth_gbs
        cf = load_fit().for_class(gpu_class(rig.gpus[0][0]) if rig.gpus else "cpu_avx2")
        kv_read = load_fit().kv_read_factor * kv_cache_bytes(model, context // 2, kv_type)
        step += users * kv_read / (min(1.0, cf.efficiency) * bandwidth * 1e9)
        # and the batch's matmuls must be computed: compute-bound once N is large
        tflops = device_tflops().get(rig.gpus[0][0].name) if rig.gpus else None
        if tflops and cf.prefill_efficiency:
            flops = 2e9 * (model.active_params_b or model.params_b) * users
            step = max(step, flops / (cf.prefill_efficiency * tflops * 1e12))
        per_user = 1 / step
        aggregate = users / step
    return ServingInfo(
        users=users,
        context_per_user=context,
        kv_cache_gib=users * per_slot / GIB,
        kv_cache_per_user_gib=per_slot / GIB,
        aggregate_tokens_per_s=aggregate,
        per_user_tokens_per_s=per_user,
        max_users=users_that_fit(model, quant, rig, context, kv_type),
    )
