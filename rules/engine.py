"""The rules engine's entry point: a parsed `Query` → a `SizingResult` with every
figure explained in its Markdown answer."""

from __future__ import annotations

from rules.catalog import Catalog, DeviceClass, ModelSpec, QuantType, default_catalog
from rules.gguf_file import GgufError, GgufInfo, read_gguf
from rules.memory import Fit, effective_bits_per_weight, fit, read_bytes_per_token, weights_bytes
from rules.parser import parse
from rules.phrases import say
from rules.recommend import default_context, gpus_for_model, models_for_rig, smaller_variants
from rules.rig import Rig, rig_from_query
from rules.schema import (
    GB,
    GIB,
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

def answer_question(question: str, catalog: Catalog | None = None) -> SizingResult:
    catalog = catalog or default_catalog()
    return answer_query(parse(question, catalog), catalog)


def resolve_model(query: Query, catalog: Catalog) -> tuple[ModelSpec, list[str]]:
    """The catalog model the question means, or a stand-in of the same size."""
    lang = query.lang
    if query.model_name:
        return catalog.model(query.model_name), []
    size = query.params_b or 7.0
    names = {m.name for m in catalog.models}
    rounded = round(size)
    if abs(size - rounded) < 0.05 and DEFAULT_MODEL_FOR_SIZE.get(rounded) in names:
        model = catalog.model(DEFAULT_MODEL_FOR_SIZE[rounded])
        return model, [say(lang, "note_size_read_as", size=size, model=model.name)]
    dense = [m for m in catalog.models if not m.is_moe]
    nearest = min(dense, key=lambda m: abs(m.params_b - size))
    if abs(nearest.params_b - size) / size < 0.08:
        return nearest, [say(lang, "note_size_read_as", size=size, model=nearest.name)]
    stand_in = nearest.model_copy(update={
        "name": say(lang, "stand_in_name", size=size),
        "params_b": size,
        "layers": max(1, round(nearest.layers * (size / nearest.params_b) ** 0.5)),
    })
    return stand_in, [say(lang, "note_stand_in", size=size, model=nearest.name)]


def answer_query(query: Query, catalog: Catalog | None = None, *,
                 allow_local_files: bool = True) -> SizingResult:
    """`allow_local_files=False` (chat adapters): a question naming a local GGUF gets one
    sentence whatever the path, so a chat user cannot probe the bot host's disk."""
    catalog = catalog or default_catalog()
    if query.error:
        return SizingResult(intent=query.intent, answer=query.error_message or query.error,
                            error=query.error)
    if getattr(query, "gguf_path", None):
        if not allow_local_files:
            return SizingResult(intent=query.intent, error="gguf_local_only",
                                answer=say(query.lang, "error_gguf_local_only"))
        return _from_file(query, catalog)
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
    return SizingResult(intent=query.intent, answer=say(query.lang, "nothing_to_size"), error="nothing_to_size")


def _model_setup(query: Query, catalog: Catalog) -> tuple[ModelSpec, QuantType, int, list[str]]:
    lang = query.lang
    if getattr(query, "gguf_path", None):  # the file's own weights and quantization
        model, quant, notes = _file_model(read_gguf(query.gguf_path), lang)
    else:
        model, notes = resolve_model(query, catalog)
        quant = None
    if quant is not None:
        pass
    elif query.quant:
        quant = catalog.quant(query.quant)
    elif model.default_quant:  # gpt-oss: published in MXFP4, not re-quantized
        quant = catalog.quant(model.default_quant)
        notes.append(say(lang, "note_native_quant", quant=quant.name, model=model.name,
                         bits=round(effective_bits_per_weight(model, quant, catalog), 2)))
    else:
        quant = catalog.quant(DEFAULT_QUANT)
        notes.append(say(lang, "note_default_quant", quant=quant.name,
                         bits=round(effective_bits_per_weight(model, quant, catalog), 2)))
    if query.context:
        context = query.context
        if context > model.native_context:
            notes.append(say(lang, "note_beyond_context", context=context, model=model.name,
                             native=model.native_context))
    else:
        context = default_context(model)
        notes.append(say(lang, "note_context", context=context, native=model.native_context))
    if query.kv_cache_type and query.kv_cache_type != "f16":
        notes.append(say(lang, "note_kv_quant", kv=query.kv_cache_type))
    return model, quant, context, notes


def _model_info(model: ModelSpec, quant: QuantType, context: int) -> ModelInfo:
    return ModelInfo(name=model.name, params_b=model.params_b, quant=quant.name,
                     bits_per_weight=round(effective_bits_per_weight(model, quant), 2), context=context)


def _file_model(info: GgufInfo, lang: str) -> tuple[ModelSpec, QuantType, list[str]]:
    """A GGUF file as a model and a quant whose bits per weight are the file's own, so the
    weights come out as the file's exact tensor bytes."""
    model = info.model_spec()
    bits = info.weights_bytes * 8 / info.params
    quant = QuantType(name=info.quant, bits_per_weight=bits, bits=max(1, round(bits)), kind="file",
                      source=f"tensor infos of {info.path}")
    mix = say(lang, "list_sep").join(f"{n}× {t}" for t, n in sorted(info.tensor_types.items(), key=lambda x: -x[1]))
    notes = [say(lang, "note_gguf_file", name=info.name, arch=info.architecture, tensors=sum(info.tensor_types.values()),
                 weights=info.weights_bytes / GIB, mix=mix)]
    if info.parts_read < info.parts_total:
        notes.append(say(lang, "note_gguf_parts", read=info.parts_read, total=info.parts_total))
    if not info.kv_exact:
        notes.append(say(lang, "note_gguf_kv_estimate", arch=info.architecture))
    if not info.quant_from_file_type:
        notes.append(say(lang, "note_gguf_quant_guess", quant=info.quant))
    return model, quant, notes


def _from_file(query: Query, catalog: Catalog) -> SizingResult:
    """A question naming a local GGUF: sized from the file, or a sentence saying why not
    (never another model in its place)."""
    try:
        read_gguf(query.gguf_path)
    except GgufError as exc:
        return SizingResult(intent=query.intent, error=exc.reason,
                            answer=say(query.lang, f"error_{exc.reason}", path=exc.path, detail=exc.detail))
    if query.has_hardware:
        return _can_run(query, catalog)
    return _requirements(query, catalog)


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


def _sum_line(f: Fit, lang: str) -> str:
    # the figures of MemoryInfo (2 decimals), so text and JSON round alike
    return say(lang, "memory_sum", weights=round(f.weights_gib, 2), kv=round(f.kv_cache_gib, 2),
               overhead=round(f.overhead_gib, 2), total=round(f.total_gib, 2))


def _speed_line(s: SpeedInfo, per_token_gb: float, lang: str) -> str:
    return say(lang, "speed", expected=s.expected_tokens_per_s, ceiling=s.theoretical_max_tokens_per_s,
               per_token=per_token_gb, limit=say(lang, f"limit_{s.bottleneck}"))


def _can_run(query: Query, catalog: Catalog) -> SizingResult:
    model, quant, context, notes = _model_setup(query, catalog)
    rig = rig_from_query(query, catalog)
    lang = query.lang
    if query.vram_only:
        notes.append(say(lang, "note_vram_only", gpu=rig.gpus[0][0].name))
    f = fit(model, quant, context, rig, query.kv_cache_type or "f16")
    s = speed(model, quant, f, rig, catalog)
    what = say(lang, "what", model=model.name, quant=quant.name, context=context)
    lines = [_verdict_sentence(f, what, rig, lang), _memory_sentence(f, rig, lang)]
    per_token_gb = read_bytes_per_token(model, quant) / GB
    if s:
        lines.append(_speed_line(s, per_token_gb, lang))
    if model.is_moe:
        lines.append(say(lang, "moe", total=model.params_b, active=model.active_params_b))
    if rig.gpu_count > 1 and f.verdict == Verdict.FITS_GPU:
        lines.append(say(lang, "multi_gpu"))
    alternatives = []
    if f.verdict != Verdict.FITS_GPU and rig.gpus:
        alternatives = smaller_variants(model, quant, context, rig, catalog)
        if alternatives:
            lines.append(say(lang, "alternatives", items=say(lang, "list_sep").join(
                say(lang, "alternative_item", quant=a.quant, total=a.total_gib, tps=a.expected_tokens_per_s)
                for a in alternatives)))
    lines.append(_assumptions(notes + rig.assumptions, lang))
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


def _verdict_sentence(f: Fit, what: str, rig: Rig, lang: str) -> str:
    key = f"verdict_{f.verdict.value}"
    if f.verdict == Verdict.CPU_ONLY and rig.gpus:
        key = "verdict_cpu_only_with_gpu"
    return say(lang, key, headline=say(lang, f"headline_{f.verdict.value}"), what=what,
               where=rig.describe(lang), layers=f.gpu_layers, total=f.total_layers)


def _memory_sentence(f: Fit, rig: Rig, lang: str) -> str:
    total = _sum_line(f, lang)
    if f.verdict == Verdict.FITS_GPU:
        return say(lang, "memory_gpu", sum=total, budget=f.gpu_budget_gib)
    if not rig.gpus:
        return say(lang, "memory_cpu", sum=total, ram=rig.ram_gib)
    return say(lang, "memory_split", sum=total, budget=f.gpu_budget_gib, ram_needed=f.ram_needed_gib,
               ram=rig.ram_gib, gpu_kind=say(lang, "gpu_kind_unified" if rig.unified_memory else "gpu_kind_vram"))


def _assumptions(notes: list[str], lang: str) -> str:
    return say(lang, "assumptions", notes=say(lang, "list_sep").join(notes)) if notes else ""


def _requirements(query: Query, catalog: Catalog) -> SizingResult:
    model, quant, context, notes = _model_setup(query, catalog)
    cpu_rig = Rig(gpus=[], ram_gib=1e9, ram_bandwidth_gbs=51.2)
    cpu_fit = fit(model, quant, context, cpu_rig, query.kv_cache_type or "f16")
    from rules.memory import CPU_OVERHEAD_GIB, GPU_OVERHEAD_GIB  # figures quoted in the text

    vram_needed = cpu_fit.weights_gib + cpu_fit.kv_cache_gib + GPU_OVERHEAD_GIB
    options = gpus_for_model(model, quant, context, catalog)
    lang = query.lang
    lines = [say(lang, "requirements", model=model.name, quant=quant.name, context=context, vram=vram_needed,
                 weights=cpu_fit.weights_gib, kv=cpu_fit.kv_cache_gib, gpu_overhead=GPU_OVERHEAD_GIB,
                 ram=cpu_fit.total_gib, cpu_overhead=CPU_OVERHEAD_GIB)]
    if options:
        lines.append(say(lang, "smallest_setups", items=say(lang, "list_sep").join(
            say(lang, "setup_item", hardware=o.hardware, tps=o.expected_tokens_per_s) for o in options)))
    else:
        lines.append(say(lang, "no_gpu_setup"))
    lines.append(_assumptions(notes, lang))
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
    lang = query.lang
    where = rig.describe(lang)
    if recs:
        lines = [say(lang, "best_models", where=where)]
        lines += [say(lang, "best_model_item", model=r.model, quant=r.quant, total=r.total_gib,
                      tps=r.expected_tokens_per_s) for r in recs]
    else:
        lines = [say(lang, "nothing_fits", where=where)]
    lines.append(_assumptions(rig.assumptions + [say(lang, "note_recommend_context")], lang))
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
    lang = query.lang
    lines = [
        say(lang, "pure_ceiling", bandwidth=bandwidth, size=size_gb, ceiling=s.theoretical_max_tokens_per_s),
        say(lang, "pure_expected", expected=s.expected_tokens_per_s, efficiency=catalog.efficiency(device),
            device=say(lang, f"device_{device.value}")),
        _assumptions(notes, lang),
    ]
    return SizingResult(intent=Intent.SPEED, speed=_rounded(s), answer="\n".join(lines),
                        hardware=None)
