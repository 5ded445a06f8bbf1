"""The rules engine's entry point: a parsed `Query` → a `SizingResult` with every
figure explained in its Markdown answer."""

from __future__ import annotations

from rules.catalog import Catalog, DeviceClass, ModelSpec, QuantType, default_catalog
from rules.memory import Fit, fit, weights_bytes
from rules.parser import parse
from rules.recommend import default_context, gpus_for_model, models_for_rig, smaller_variants
from rules.rig import Rig, rig_from_query
from rules.schema import (
    GB,
    Intent,
    MemoryInfo,
    ModelInfo,
    Query,
    SizingResult,
    SpeedInfo,
    Verdict,
)
from rules.speed import speed, speed_from_bandwidth

DEFAULT_QUANT = "Q4_K_M"

# A bare "13B" means the best-known model of that size; the answer says which.
DEFAULT_MODEL_FOR_SIZE = {
    1: "Llama 3.2 1B",
    3: "Llama 3.2 3B",
    7: "Llama 2 7B",
    8: "Llama 3.1 8B",
    13: "Llama 2 13B",
    30: "LLaMA 30B",
    33: "LLaMA 30B",
    65: "LLaMA 65B",
    70: "Llama 3.1 70B",
    405: "Llama 3.1 405B",
}

HEADLINE = {
    Verdict.FITS_GPU: "✅ **Yes**",
    Verdict.PARTIAL_OFFLOAD: "⚠️ **Partly**",
    Verdict.CPU_ONLY: "🖥️ **On the CPU**",
    Verdict.DOES_NOT_FIT: "❌ **No**",
}


def answer_question(question: str, catalog: Catalog | None = None) -> SizingResult:
    catalog = catalog or default_catalog()
    return answer_query(parse(question, catalog), catalog)


def resolve_model(query: Query, catalog: Catalog) -> tuple[ModelSpec, list[str]]:
    """The catalog model the question means, or a stand-in of the same size."""
    if query.model_name:
        return catalog.model(query.model_name), []
    size = query.params_b or 7.0
    names = {m.name for m in catalog.models}
    rounded = round(size)
    if abs(size - rounded) < 0.05 and DEFAULT_MODEL_FOR_SIZE.get(rounded) in names:
        model = catalog.model(DEFAULT_MODEL_FOR_SIZE[rounded])
        return model, [f"“{size:g}B” read as {model.name}"]
    dense = [m for m in catalog.models if not m.is_moe]
    nearest = min(dense, key=lambda m: abs(m.params_b - size))
    if abs(nearest.params_b - size) / size < 0.08:
        return nearest, [f"“{size:g}B” read as {nearest.name}"]
    stand_in = nearest.model_copy(update={
        "name": f"a {size:g}B model",
        "params_b": size,
        "layers": max(1, round(nearest.layers * (size / nearest.params_b) ** 0.5)),
    })
    return stand_in, [f"no {size:g}B model in my catalog: shaped like {nearest.name}, scaled to {size:g}B"]


def answer_query(query: Query, catalog: Catalog | None = None) -> SizingResult:
    catalog = catalog or default_catalog()
    if query.error:
        return SizingResult(intent=query.intent, answer=query.error_message or query.error,
                            error=query.error)
    if query.bandwidth_gbs and query.model_file_gb:
        return _pure_speed(query, catalog)
    if query.has_model and not query.model_name and not query.params_b:
        return _pure_speed(query, catalog)  # "a 13 GB model" with a rig: bandwidth question
    if query.has_hardware and not query.has_model:
        return _recommend_models(query, catalog)
    if query.has_model and not query.has_hardware:
        return _requirements(query, catalog)
    if query.has_model:
        return _can_run(query, catalog)
    return SizingResult(
        intent=query.intent,
        answer="Tell me a GPU (or 'no GPU' and your RAM) and a model size, e.g. "
        "“can an RTX 3060 12GB run 13B 4-bit?”",
        error="nothing_to_size",
    )


def _model_setup(query: Query, catalog: Catalog) -> tuple[ModelSpec, QuantType, int, list[str]]:
    model, notes = resolve_model(query, catalog)
    if query.quant:
        quant = catalog.quant(query.quant)
    else:
        quant = catalog.quant(DEFAULT_QUANT)
        notes.append(f"no quantization named: {quant.name} ({quant.bits_per_weight:g} bits/weight)")
    if query.context:
        context = query.context
        if context > model.native_context:
            notes.append(f"{context:,} tokens is beyond {model.name}'s native {model.native_context:,}")
    else:
        context = default_context(model)
        notes.append(f"context {context:,} tokens (native {model.native_context:,})")
    if query.kv_cache_type and query.kv_cache_type != "f16":
        notes.append(f"KV cache quantized to {query.kv_cache_type} (needs flash attention in llama.cpp)")
    return model, quant, context, notes


def _model_info(model: ModelSpec, quant: QuantType, context: int) -> ModelInfo:
    return ModelInfo(name=model.name, params_b=model.params_b, quant=quant.name,
                     bits_per_weight=quant.bits_per_weight, context=context)


def _memory_info(f: Fit, available: float | None) -> MemoryInfo:
    return MemoryInfo(
        weights_gib=round(f.weights_gib, 2),
        kv_cache_gib=round(f.kv_cache_gib, 2),
        overhead_gib=round(f.overhead_gib, 2),
        total_gib=round(f.total_gib, 2),
        available_gib=round(available, 2) if available is not None else None,
        gpu_layers=f.gpu_layers,
        total_layers=f.total_layers,
    )


def _rounded(s: SpeedInfo | None) -> SpeedInfo | None:
    if s is None:
        return None
    return SpeedInfo(
        theoretical_max_tokens_per_s=round(s.theoretical_max_tokens_per_s, 1),
        expected_tokens_per_s=round(s.expected_tokens_per_s, 1),
        bottleneck=s.bottleneck,
    )


def _sum_line(f: Fit) -> str:
    return (f"weights {f.weights_gib:.1f} + KV cache {f.kv_cache_gib:.1f} + overhead "
            f"{f.overhead_gib:.1f} = {f.total_gib:.1f} GiB")


def _speed_line(s: SpeedInfo, rig: Rig, per_token_gb: float) -> str:
    where = {"gpu_memory_bandwidth": "GPU memory bandwidth", "ram_bandwidth": "RAM bandwidth"}[s.bottleneck]
    return (f"**Speed:** about {s.expected_tokens_per_s:.1f} tokens/s expected, ceiling "
            f"{s.theoretical_max_tokens_per_s:.1f} tokens/s ({per_token_gb:.1f} GB read per token; "
            f"limited by {where}).")


def _can_run(query: Query, catalog: Catalog) -> SizingResult:
    model, quant, context, notes = _model_setup(query, catalog)
    rig = rig_from_query(query, catalog)
    if query.vram_only:
        notes.append(f"a GPU with that much VRAM sized as a typical one: {rig.gpus[0][0].name}")
    f = fit(model, quant, context, rig, query.kv_cache_type or "f16")
    s = speed(model, quant, f, rig, catalog)
    what = f"{model.name} ({quant.name}, {context:,} context)"
    lines = [_verdict_sentence(f, what, rig)]
    lines.append(f"**Memory:** {_memory_sentence(f, rig)}")
    per_token_gb = weights_bytes(model, quant) / GB * (
        (model.active_params_b / model.params_b) if model.active_params_b else 1)
    if s:
        lines.append(_speed_line(s, rig, per_token_gb))
    if model.is_moe:
        lines.append(f"Mixture of experts: all {model.params_b:g}B parameters must be in memory, "
                     f"but only {model.active_params_b:g}B are read per token.")
    if rig.gpu_count > 1 and f.verdict == Verdict.FITS_GPU:
        lines.append("Layers are split across the cards; they work one after another, so a second "
                     "card adds memory, not speed.")
    alternatives = []
    if f.verdict != Verdict.FITS_GPU and rig.gpus:
        alternatives = smaller_variants(model, quant, context, rig, catalog)
        if alternatives:
            lines.append("**Fits the GPU instead:** " + "; ".join(
                f"{a.quant} ({a.total_gib:.1f} GiB, ~{a.expected_tokens_per_s:g} tok/s)" for a in alternatives))
    lines.append(_assumptions(notes + rig.assumptions))
    return SizingResult(
        intent=query.intent if query.intent != Intent.EXPLAIN else Intent.CAN_RUN,
        hardware=rig.hardware_info(),
        model=_model_info(model, quant, context),
        verdict=f.verdict,
        memory=_memory_info(f, f.available_gib),
        speed=_rounded(s),
        recommendations=alternatives,
        answer="\n".join(lines),
    )


def _verdict_sentence(f: Fit, what: str, rig: Rig) -> str:
    where = rig.describe()
    if f.verdict == Verdict.FITS_GPU:
        return f"{HEADLINE[f.verdict]}: {what} fits in the {where}."
    if f.verdict == Verdict.PARTIAL_OFFLOAD:
        return (f"{HEADLINE[f.verdict]}: {what} does not fit in the {where}'s memory, but with "
                f"llama.cpp `--n-gpu-layers {f.gpu_layers}` {f.gpu_layers} of {f.total_layers} layers "
                f"go on the GPU and the rest runs from system RAM.")
    if f.verdict == Verdict.CPU_ONLY:
        if rig.gpus:
            return (f"{HEADLINE[f.verdict]}: not one layer of {what} fits in the {where}'s memory; "
                    f"it runs from system RAM on the CPU.")
        return f"{HEADLINE[f.verdict]}: {what} runs from system RAM with llama.cpp."
    return f"{HEADLINE[f.verdict]}: {what} does not fit on this machine ({where})."


def _memory_sentence(f: Fit, rig: Rig) -> str:
    if f.verdict == Verdict.FITS_GPU:
        return f"{_sum_line(f)} of {f.gpu_budget_gib:.0f} GiB."
    if not rig.gpus:
        return f"{_sum_line(f)} of {rig.ram_gib:g} GiB RAM."
    gpu_part = f"{f.gpu_budget_gib:.0f} GiB {'GPU share of unified memory' if rig.unified_memory else 'VRAM'}"
    return (f"{_sum_line(f)}; the GPU side holds {gpu_part}, the CPU side needs "
            f"{f.ram_needed_gib:.1f} GiB of {rig.ram_gib:g} GiB RAM.")


def _assumptions(notes: list[str]) -> str:
    return "**Assumptions:** " + "; ".join(notes) + "." if notes else ""


def _requirements(query: Query, catalog: Catalog) -> SizingResult:
    model, quant, context, notes = _model_setup(query, catalog)
    cpu_rig = Rig(gpus=[], ram_gib=1e9, ram_bandwidth_gbs=51.2)
    cpu_fit = fit(model, quant, context, cpu_rig, query.kv_cache_type or "f16")
    from rules.memory import CPU_OVERHEAD_GIB, GPU_OVERHEAD_GIB  # figures quoted in the text

    vram_needed = cpu_fit.weights_gib + cpu_fit.kv_cache_gib + GPU_OVERHEAD_GIB
    options = gpus_for_model(model, quant, context, catalog)
    lines = [
        f"**{model.name}** ({quant.name}, {context:,} context) needs about **{vram_needed:.1f} GiB** "
        f"on one GPU (weights {cpu_fit.weights_gib:.1f} + KV cache {cpu_fit.kv_cache_gib:.1f} + "
        f"overhead {GPU_OVERHEAD_GIB:g}) or **{cpu_fit.total_gib:.1f} GiB of RAM** on the CPU "
        f"(overhead {CPU_OVERHEAD_GIB:g}).",
    ]
    if options:
        lines.append("**Smallest GPU setups that hold it:** " + "; ".join(
            f"{o.hardware} (~{o.expected_tokens_per_s:g} tok/s)" for o in options))
    else:
        lines.append("No single machine in my catalog holds it on GPUs; it needs a server or CPU RAM.")
    lines.append(_assumptions(notes))
    memory = _memory_info(cpu_fit, None).model_copy(update={
        "overhead_gib": GPU_OVERHEAD_GIB, "total_gib": round(vram_needed, 2), "gpu_layers": None})
    best = options[0] if options else None
    speed_info = None
    if best:
        gpu_name = best.hardware.split("× ")[-1]
        gpu = catalog.gpu(gpu_name)
        speed_info = SpeedInfo(theoretical_max_tokens_per_s=round(best.expected_tokens_per_s / catalog.efficiency(gpu.device_class), 1),
                               expected_tokens_per_s=best.expected_tokens_per_s,
                               bottleneck="gpu_memory_bandwidth")
    return SizingResult(
        intent=query.intent if query.intent != Intent.EXPLAIN else Intent.REQUIREMENTS,
        model=_model_info(model, quant, context),
        memory=memory,
        speed=speed_info,
        recommendations=options,
        answer="\n".join(lines),
    )


def _recommend_models(query: Query, catalog: Catalog) -> SizingResult:
    rig = rig_from_query(query, catalog)
    recs = models_for_rig(rig, catalog)
    where = rig.describe()
    if recs:
        lines = [f"**Best models for the {where}** (largest first, each at the best quantization that fits):"]
        lines += [f"• {r.model} {r.quant}: {r.total_gib:.1f} GiB, ~{r.expected_tokens_per_s:g} tokens/s"
                  for r in recs]
    else:
        lines = [f"Nothing in my catalog fits entirely in the {where}; small models can still run "
                 "with partial offload."]
    lines.append(_assumptions(rig.assumptions + ["context min(4096, native) for each model"]))
    return SizingResult(
        intent=Intent.RECOMMEND,
        hardware=rig.hardware_info(),
        recommendations=recs,
        answer="\n".join(lines),
    )


def _pure_speed(query: Query, catalog: Catalog) -> SizingResult:
    notes = []
    if query.bandwidth_gbs:
        bandwidth = query.bandwidth_gbs
        device = DeviceClass.CPU
    else:
        rig = rig_from_query(query, catalog)
        if rig.gpus:
            gpu = rig.gpus[0][0]
            bandwidth, device = gpu.bandwidth_gbs, gpu.device_class
        else:
            bandwidth, device = rig.ram_bandwidth_gbs, DeviceClass.CPU
        notes += rig.assumptions
    if query.model_file_gb:
        size_gb = query.model_file_gb
    else:
        model, quant, _, model_notes = _model_setup(query, catalog)
        size_gb = weights_bytes(model, quant) / GB
        notes += model_notes
    s = speed_from_bandwidth(bandwidth, size_gb, device, catalog)
    lines = [
        f"**Ceiling: {bandwidth:g} GB/s ÷ {size_gb:g} GB = {s.theoretical_max_tokens_per_s:.1f} tokens/s.** "
        "Each generated token reads every weight once, so memory bandwidth sets the limit.",
        f"**Expected:** about {s.expected_tokens_per_s:.1f} tokens/s "
        f"(measured efficiency {catalog.efficiency(device):.0%} for {device.value.replace('_', ' ')}).",
    ]
    lines.append(_assumptions(notes))
    return SizingResult(intent=Intent.SPEED, speed=_rounded(s), answer="\n".join(lines),
                        hardware=None)
