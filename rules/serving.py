"""Several users on one llama.cpp server: `llama-server -np N -c N×CTX` gives each of
N slots CTX tokens of KV cache. Memory is weights + N × KV per slot + overhead. Decoding
all slots together reads the weights once per step, plus each slot's KV cache."""

from __future__ import annotations

from rules.calibration import device_tflops, load_fit
from rules.catalog import Catalog, ModelSpec, QuantType
from rules.context import memory_for_model_gib
from rules.memory import kv_cache_bytes, weights_bytes
from rules.rig import Rig
from rules.schema import GIB, Recommendation, ServingInfo, SpeedInfo, Verdict
from rules.speed import gpu_class

MAX_USERS = 4096


def users_that_fit(model: ModelSpec, quant: QuantType, rig: Rig, context: int, kv_type: str) -> int:
    budget, overhead = memory_for_model_gib(rig)
    room = (budget - overhead) * GIB - weights_bytes(model, quant)
    per_slot = kv_cache_bytes(model, context, kv_type)
    return max(0, min(MAX_USERS, int(room // per_slot))) if per_slot > 0 else 0


def extra_expert_bytes(model: ModelSpec, quant: QuantType, users: int) -> float:
    """Expert bytes a decoding step over `users` slots reads beyond one token's: with k of E
    experts chosen per token and layer (routing taken as independent), the step touches
    E·(1 − (1 − k/E)^users) distinct experts per layer instead of k."""
    if not model.is_moe or users <= 1:
        return 0.0
    from rules.speed import expert_weight_bytes

    e, k = model.experts, model.experts_active
    distinct = e * (1 - (1 - k / e) ** users)
    return (distinct - k) * expert_weight_bytes(model, quant) / e


def serving(model: ModelSpec, quant: QuantType, rig: Rig, users: int, context: int, kv_type: str,
            single: SpeedInfo | None, offloaded: bool = False) -> ServingInfo:
    """`offloaded`: part of the model and its slots stay in system RAM (partial or expert
    offload), so the extra reads of each step come from RAM, at its bandwidth."""
    per_slot = kv_cache_bytes(model, context, kv_type)
    aggregate = per_user = None
    if single and users > 0:
        step = 1 / single.expected_tokens_per_s
        # each slot's KV cache, half full on average, is read once per step
        bandwidth = rig.gpus[0][0].bandwidth_gbs if rig.gpus and not offloaded else rig.ram_bandwidth_gbs
        cf = load_fit().for_class(gpu_class(rig.gpus[0][0]) if rig.gpus else "cpu_avx2")
        kv_read = load_fit().kv_read_factor * kv_cache_bytes(model, context // 2, kv_type)
        step += users * kv_read / (min(1.0, cf.efficiency) * bandwidth * 1e9)
        # a MoE's slots route to different experts: a step reads every expert any slot chose
        step += extra_expert_bytes(model, quant, users) / (min(1.0, cf.efficiency) * bandwidth * 1e9)
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


def models_for_serving(rig: Rig, catalog: Catalog, users: int, context: int, kv_type: str = "f16",
                       limit: int = 5) -> list[Recommendation]:
    """The largest popular models that hold `users` slots of `context` tokens each on the
    GPU(s) (in RAM without one), each at the best quantization that does; the speed is
    per user with all of them generating, its range the single-user range scaled alike."""
    from rules.memory import fit
    from rules.recommend import PREFERRED_QUANTS, _one_per_size
    from rules.speed import speed

    budget, overhead = memory_for_model_gib(rig)
    picks = []
    for model in catalog.models:
        if not model.popular or model.native_context < context:
            continue
        for qname in [model.default_quant] if model.default_quant else PREFERRED_QUANTS:
            quant = catalog.quant(qname)
            total = (weights_bytes(model, quant) + users * kv_cache_bytes(model, context, kv_type)) / GIB + overhead
            if total > budget:
                continue
            single_fit = fit(model, quant, context, rig, kv_type)
            single = speed(model, quant, single_fit, rig, catalog) if single_fit.verdict != Verdict.DOES_NOT_FIT else None
            info = serving(model, quant, rig, users, context, kv_type, single)
            per_user = info.per_user_tokens_per_s
            scale = per_user / single.expected_tokens_per_s if per_user and single else None
            picks.append(Recommendation(
                model=model.name, params_b=model.params_b, quant=quant.name,
                verdict=Verdict.FITS_GPU if rig.gpus else Verdict.CPU_ONLY, total_gib=round(total, 1),
                expected_tokens_per_s=round(per_user, 1) if per_user else None,
                expected_range=[round(v * scale, 1) for v in single.expected_range] if scale else None,
                users=users, aggregate_tokens_per_s=round(info.aggregate_tokens_per_s, 1) if per_user else None))
            break
    picks.sort(key=lambda r: (r.params_b, r.total_gib), reverse=True)
    return _one_per_size(picks)[:limit]
