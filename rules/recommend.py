"""Recommendations: the best models for given hardware, the smallest GPUs for a given model,
and cheaper variants when a model does not fit."""

from __future__ import annotations

from rules.catalog import Catalog, ModelSpec, QuantType
from rules.memory import CPU_OVERHEAD_GIB, GPU_OVERHEAD_GIB, fit, kv_cache_bytes, weights_bytes
from rules.rig import ASSUMED_RAM_GIB, Rig, unified_gpu_share
from rules.schema import GIB, Recommendation, Verdict
from rules.speed import speed

# Best quality first; below Q3 quality drops fast, so we stop there.
PREFERRED_QUANTS = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M"]
# Cards people actually stack for local LLMs.
STACKABLE_GPUS = ["RTX 3060 12GB", "RTX 3090", "RTX 4090", "RTX 5090", "Tesla P40", "Radeon RX 7900 XTX"]


def default_context(model: ModelSpec) -> int:
    return min(4096, model.native_context)


def _recommendation(model, quant, context, rig, catalog, hardware=None) -> Recommendation:
    f = fit(model, quant, context, rig)
    s = speed(model, quant, f, rig, catalog)
    return Recommendation(
        model=model.name,
        params_b=model.params_b,
        quant=quant.name,
        verdict=f.verdict,
        total_gib=round(f.total_gib, 1),
        expected_tokens_per_s=round(s.expected_tokens_per_s, 1) if s else None,
        expected_range=[round(v, 1) for v in s.expected_range] if s and s.expected_range else None,
        hardware=hardware,
    )


def models_for_rig(rig: Rig, catalog: Catalog, limit: int = 5, family: str | None = None) -> list[Recommendation]:
    """The largest popular models that fit on the GPU(s) (or in RAM without one), each at
    the best quantization that fits; with `family`, the largest of that family's models
    (own and generated, "qwen" takes every Qwen family)."""
    by_size: dict[int, list[ModelSpec]] = {}
    for model in family_models(catalog, family) if family else catalog.models:
        if model.popular or family:
            by_size.setdefault(round(model.params_b), []).append(model)
    out = []
    # biggest size first, stopping at `limit` sizes: a long catalog is not sized model by model.
    # Bigger models beat more bits at equal memory (the article: 4-bit 30B ≈ 8-bit 13B).
    for size in sorted(by_size, reverse=True):
        picks = []
        for model in by_size[size]:
            if found := best_fitting_quant(model, rig, catalog):
                quant, need = found
                picks.append((model.params_b, need, model, quant))
        if picks:
            # a family's size is shown by its hand-checked model, else an instruct/chat model
            # rather than a base one
            _, _, model, quant = max(picks, key=lambda p: (p[2].origin != "generated", "base" not in p[2].name.lower(),
                                                           p[0], p[1]))
            out.append(_recommendation(model, quant, default_context(model), rig, catalog))
            if len(out) == limit:
                break
    return out


def family_models(catalog: Catalog, family: str) -> list[ModelSpec]:
    from rules.open_models import all_models

    return [m for m in all_models(catalog)
            if m.family.lower() == family or (m.family.lower().startswith(family)
                                              and not m.family.lower()[len(family)].isalpha())]


def best_fitting_quant(model: ModelSpec, rig: Rig, catalog: Catalog) -> tuple[QuantType, float] | None:
    """The best quantization of `model` (Q8_0 down to Q3_K_M) whose weights, KV cache at the
    default context and overhead fit the GPU(s) (or RAM without one), with what it needs."""
    room = rig.gpu_budget_gib if rig.gpus else rig.ram_gib
    # a model published in one format (gpt-oss: MXFP4) is offered in that format
    for qname in [model.default_quant] if model.default_quant else PREFERRED_QUANTS:
        quant = catalog.quant(qname)
        if model.params_b * 1e9 * quant.bits_per_weight / 8 / GIB > 1.1 * room:
            continue  # far too big by its nominal bits: not worth sizing tensor by tensor
        need = _need_gib(model, quant, default_context(model), rig)
        if need <= room:  # rules.memory.fit's own test for FITS_GPU / CPU_ONLY
            return quant, need
    return None


def recommendation(model: ModelSpec, quant: QuantType, rig: Rig, catalog: Catalog) -> Recommendation:
    """One model at one quant on the rig, at its default context: verdict, memory and speed."""
    return _recommendation(model, quant, default_context(model), rig, catalog)


def _need_gib(model: ModelSpec, quant: QuantType, context: int, rig: Rig) -> float:
    """Weights, KV cache and overhead, as rules.memory.fit adds them up on this rig."""
    overhead = GPU_OVERHEAD_GIB * rig.gpu_count if rig.gpus else CPU_OVERHEAD_GIB
    return (weights_bytes(model, quant) + kv_cache_bytes(model, context)) / GIB + overhead


def _one_per_size(recs: list[Recommendation]) -> list[Recommendation]:
    seen: set[int] = set()
    out = []
    for r in recs:
        size = round(r.params_b)
        if size not in seen:
            seen.add(size)
            out.append(r)
    return out


def gpus_for_model(model: ModelSpec, quant: QuantType, context: int, catalog: Catalog,
                   limit: int = 5) -> list[Recommendation]:
    """The smallest GPU setups that hold the whole model: single cards first, then stacks.
    Setups are tried smallest memory first and the search stops once `limit` sizes are
    found, so a catalog of thousands of cards costs about what one of a hundred does."""
    # what fits is known before any card is tried (rules.memory.fit's own test), so only the
    # few setups shown are sized
    needs_gib = (weights_bytes(model, quant) + kv_cache_bytes(model, context)) / GIB
    singles = [g for g in catalog.gpus if g.default_variant or g.vram_gib >= 24]
    known = {g.name for g in catalog.gpus}
    candidates = [(g, 1) for g in singles] + [
        (catalog.gpu(name), n) for name in STACKABLE_GPUS if name in known for n in (2, 3, 4)]
    budgets = ((_budget(g, n), n, -g.bandwidth_gbs, g.name, g) for g, n in candidates)
    ordered = sorted((o for o in budgets if o[0] >= needs_gib + GPU_OVERHEAD_GIB * o[1]), key=lambda o: o[:4])
    out, seen_budget = [], set()
    for budget, count, _, name, gpu in ordered:
        # one option per memory size keeps the list varied: 24 GB, 32 GB, 48 GB ...
        if (round(budget), count > 1) in seen_budget:
            continue
        ram = gpu.vram_gib if gpu.unified_memory else ASSUMED_RAM_GIB
        rig = Rig(gpus=[(gpu, count)], unified_memory=gpu.unified_memory, ram_gib=ram,
                  ram_bandwidth_gbs=gpu.bandwidth_gbs if gpu.unified_memory else 51.2)
        if fit(model, quant, context, rig).verdict != Verdict.FITS_GPU:
            continue
        seen_budget.add((round(budget), count > 1))
        label = f"{count}× {name}" if count > 1 else name
        out.append(_recommendation(model, quant, context, rig, catalog, hardware=label))
        if len(out) == limit:
            break
    return out


def _budget(gpu, count: int) -> float:
    """What the GPU(s) may hold, as `Rig.gpu_budget_gib` computes it."""
    return unified_gpu_share(gpu.vram_gib) if gpu.unified_memory else gpu.vram_gib * count


def smaller_variants(model: ModelSpec, quant: QuantType, context: int, rig: Rig,
                     catalog: Catalog, limit: int = 3) -> list[Recommendation]:
    """When a model misses the GPU: lower quantizations of it, or a shorter context, that fit."""
    out = []
    if model.expert_type:  # its experts stay in their shipped type: other mixes barely shrink it
        return out
    for q in catalog.quants:
        if q.kind in {"k-quant", "i-quant"} and q.bits_per_weight < quant.bits_per_weight and q.bits >= 2:
            if model.params_b * q.bits_per_weight / 8 * 1e9 / GIB > 1.2 * rig.gpu_budget_gib:
                continue  # far too big by its nominal bits: not worth sizing tensor by tensor
            rec = _recommendation(model, q, context, rig, catalog)
            if rec.verdict == Verdict.FITS_GPU:
                out.append(rec)
    out.sort(key=lambda r: catalog.quant(r.quant).bits_per_weight, reverse=True)
    return out[:limit]
