"""Answers for runtimes that are not llama.cpp and do not allocate like vLLM: ExLlama
(EXL2/EXL3, TabbyAPI), MLX, ktransformers and transformers (+ bitsandbytes). Each sizes
the model as that runtime allocates it (rules/exllama.py, rules/mlx.py,
rules/ktransformers.py, rules/hf_transformers.py), names the runtime first, gives that
runtime's command, and a speed that is the bandwidth ceiling only: RigBot's speed
calibration covers llama.cpp, and the answer says so."""

from __future__ import annotations

from rules import exllama, hf_transformers, ktransformers, mlx
from rules.catalog import Catalog, ModelSpec, QuantType
from rules.memory import read_bytes_per_token
from rules.phrases import say
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

SIZED = ("exllama", "mlx", "ktransformers", "transformers")
INTENTS = {Intent.CAN_RUN, Intent.SERVE, Intent.MAX_CONTEXT, Intent.SPEED}


def answer(query: Query, catalog: Catalog) -> SizingResult:
    from rules import engine  # engine imports this module lazily; the helpers live there

    model, _ = engine.resolve_model(query, catalog)
    runtime = query.runtime
    changes: dict = {}
    if query.quant is None:
        changes["quant"] = {"exllama": "EXL2", "mlx": "Q4_K_M", "transformers": "BF16"}.get(runtime)
    model, quant, context, notes = engine._model_setup(query.model_copy(update=changes), catalog)
    rig = rig_from_query(query, catalog)
    builder = {"exllama": _exllama, "mlx": _mlx, "ktransformers": _ktransformers, "transformers": _transformers}
    return builder[runtime](query, catalog, model, quant, context, notes, rig)


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def _ceiling(bytes_per_token: float, bandwidth_gbs: float, lang: str, named: str) -> tuple[SpeedInfo, str]:
    tps = bandwidth_gbs * 1e9 / bytes_per_token if bytes_per_token else 0.0
    info = SpeedInfo(theoretical_max_tokens_per_s=round(tps, 1), expected_tokens_per_s=round(tps, 1),
                     bottleneck="memory_bandwidth")
    line = say(lang, "rt_speed_ceiling", runtime=named, tps=f"{tps:.0f}" if tps >= 10 else f"{tps:.1f}",
               gb=bytes_per_token / GB, bw=bandwidth_gbs)
    return info, line


def _result(query: Query, model: ModelSpec, quant_name: str, bits: float, context: int, rig: Rig, verdict: Verdict,
            memory: MemoryInfo, speed: SpeedInfo | None, command: str | None, lines: list[str]) -> SizingResult:
    info = ModelInfo(name=model.name, params_b=model.params_b, quant=quant_name, bits_per_weight=round(bits, 2),
                     context=context)
    return SizingResult(intent=query.intent if query.intent in INTENTS else Intent.CAN_RUN,
                        hardware=rig.hardware_info(), model=info, verdict=verdict, memory=memory, speed=speed,
                        command=command, runtime=query.runtime, answer="\n".join(line for line in lines if line))


def _head(query: Query, named: str, what: str, rig: Rig) -> str:
    lang = query.lang
    return say(lang, "rt_first", runtime=named, what=what, where=rig.describe(lang),
               how=say(lang, f"rt_how_{query.runtime}"))


def _exllama(query, catalog, model, quant, context, notes, rig) -> SizingResult:
    from rules import engine

    lang, named = query.lang, say(query.lang, "runtime_exllama")
    head_bits = exllama.HEAD_BITS
    if query.bits_per_weight:
        bpw = query.bits_per_weight
    elif quant.kind == "exl":
        bpw = exllama.DEFAULT_BPW
        notes.append(say(lang, "exl_note_default_bpw", bpw=bpw))
    elif quant.kind == "float":
        bpw, head_bits = 16.0, 16.0
    else:  # GPTQ, or a GGUF word ("4-bit"): ExLlama runs GPTQ itself and EXL2 at any bpw
        bpw = quant.bits_per_weight if quant.kind == "gptq" else float(quant.bits)
        if quant.is_gguf:
            notes.append(say(lang, "exl_note_not_gguf", quant=quant.name, bpw=bpw))
    cache_bits = query.cache_bits or {"q8_0": 8, "q4_0": 4}.get(query.kv_cache_type or "", 16)
    gpus = max(1, rig.gpu_count)
    vram = rig.gpu_budget_gib
    fmt = "EXL3" if quant.name == "EXL3" else "GPTQ" if quant.kind == "gptq" else "EXL2"
    if fmt == "GPTQ":
        head_bits = 16.0  # GPTQ checkpoints keep lm_head in FP16 (exllamav2 issue #3, turboderp)
    f = exllama.size(model, bpw, context, gpus, vram, cache_bits, head_bits)
    mode = exllama.CACHE_MODE[cache_bits]
    what = say(lang, "rt_what_exl", model=model.name, fmt=fmt, bpw=bpw, context=f"{context:,}", mode=mode)
    lines = [_head(query, named, what, rig)]
    numbers = dict(weights=f.weights_gib, cache=f.cache_gib, mode=mode, overhead=f.overhead_gib, total=f.total_gib,
                   available=f.vram_gib, ram=f.embedding_ram_gib)
    if f.fits:
        lines.append(say(lang, "exl_fits", headline=say(lang, "headline_fits_gpu"), **numbers))
    else:
        lines.append(say(lang, "exl_no_fit", headline=say(lang, "headline_does_not_fit"), **numbers))
    if f.largest_bpw:
        lines.append(say(lang, "exl_largest", bpw=f.largest_bpw, context=f"{context:,}", mode=mode, asked=bpw))
        if f.largest_context:
            lines.append(say(lang, "exl_longest", mode=mode, longest=f"{f.largest_context:,}", asked=bpw))
    else:
        lines.append(say(lang, "exl_nothing_fits", context=f"{context:,}", mode=mode))
    speed, line = None, None
    if f.fits and rig.gpus:
        bw = min(g.bandwidth_gbs for g, _ in rig.gpus)
        speed, line = _ceiling(f.weights_gib * GIB, bw, lang, named)
        lines.append(line)
    lines.append(engine._assumptions(notes + rig.assumptions + [say(lang, "exl_note_overhead",
                                                                    overhead=exllama.OVERHEAD_GIB)], lang))
    command = None
    if f.fits:
        repo = f"<{model.name.replace(' ', '-')}-{bpw:g}bpw-{fmt.lower()}>"
        command = exllama.tabby_config(repo, f, gpus)
        lines.append(say(lang, "rt_command", runtime="TabbyAPI", command=command))
    memory = MemoryInfo(weights_gib=_r(f.weights_gib), kv_cache_gib=_r(f.cache_gib), overhead_gib=_r(f.overhead_gib),
                        total_gib=_r(f.total_gib), available_gib=_r(f.vram_gib), gpu_layers=model.layers if f.fits
                        else None, total_layers=model.layers)
    return _result(query, model, f"{fmt} {bpw:g}bpw", bpw, context, rig,
                   Verdict.FITS_GPU if f.fits else Verdict.DOES_NOT_FIT, memory, speed, command, lines)


def _mlx(query, catalog, model, quant, context, notes, rig) -> SizingResult:
    from rules import engine

    lang, named = query.lang, say(query.lang, "runtime_mlx")
    bits = 16 if quant.kind == "float" else max(2, min(8, quant.bits))
    if query.quant is None:
        notes.append(say(lang, "mlx_note_default_bits"))
    group = query.group_size or mlx.DEFAULT_GROUP_SIZE
    budget = rig.gpu_budget_gib
    if query.intent == Intent.MAX_CONTEXT:
        longest = mlx.longest_context(model, bits, budget, group)
        context = longest or context
    f = mlx.size(model, bits, context, budget, group, prompt_tokens=context)
    eff = mlx.effective_bits(bits, group)
    label = f"MLX {bits}-bit" + (f" g{group}" if bits < 16 else "")
    what = say(lang, "rt_what", model=model.name, fmt=label, context=f"{context:,}")
    lines = [_head(query, named, what, rig)]
    if bits < 16:
        lines.append(say(lang, "mlx_bits", bits=bits, group=group, eff=eff))
    gib = 1e9 / GIB
    numbers = dict(weights=f.weights_gb * gib, kv=f.kv_gb * gib, act=(f.activations_gb + f.overhead_gb) * gib,
                   total=f.total_gib, available=budget)
    key = "mlx_fits" if f.fits else "mlx_no_fit"
    lines.append(say(lang, key, headline=say(lang, "headline_fits_gpu" if f.fits else "headline_does_not_fit"),
                     **numbers))
    longest = mlx.longest_context(model, bits, budget, group)
    lines.append(say(lang, "mlx_longest", tokens=f"{longest:,}") if longest else say(lang, "mlx_nothing_fits"))
    speed = None
    if f.fits and rig.gpus:
        per_token = f.weights_gb * 1e9 * (read_bytes_per_token(model, quant) / max(1.0, _wb(model, quant)))
        speed, line = _ceiling(per_token, rig.gpus[0][0].bandwidth_gbs, lang, named)
        lines.append(line)
    lines.append(engine._assumptions(notes + rig.assumptions, lang))
    command = mlx.server_command(model.name.replace(" ", "-"), bits, group) if f.fits and bits < 16 else (
        f"mlx_lm.server --model <{model.name.replace(' ', '-')}>" if f.fits else None)
    if command:
        lines.append(say(lang, "rt_command", runtime=named, command=command))
    memory = MemoryInfo(weights_gib=_r(f.weights_gb * gib), kv_cache_gib=_r(f.kv_gb * gib),
                        overhead_gib=_r((f.activations_gb + f.overhead_gb) * gib), total_gib=_r(f.total_gib),
                        available_gib=_r(budget), gpu_layers=model.layers if f.fits else None,
                        total_layers=model.layers)
    name = f"MLX_{bits}BIT" + (f"_G{group}" if bits < 16 and group != mlx.DEFAULT_GROUP_SIZE else "")
    result = _result(query, model, name if bits < 16 else "BF16", eff, context, rig,
                     Verdict.FITS_GPU if f.fits else Verdict.DOES_NOT_FIT, memory, speed, command, lines)
    return result


def _wb(model: ModelSpec, quant: QuantType) -> float:
    from rules.memory import weights_bytes

    return weights_bytes(model, quant)


def _ktransformers(query, catalog, model, quant, context, notes, rig) -> SizingResult:
    from rules import engine

    lang, named = query.lang, say(query.lang, "runtime_ktransformers")
    if not quant.is_gguf:
        notes.append(say(lang, "kt_note_gguf", quant=quant.name))
        quant = catalog.quant("Q4_K_M")
    vram = min(g.vram_gib for g, _ in rig.gpus)  # one GPU holds the dense part (multi-GPU needs its own yaml)
    f = ktransformers.size(model, quant, context, vram, rig.ram_gib)
    what = say(lang, "rt_what", model=model.name, fmt=quant.name, context=f"{context:,}")
    lines = [_head(query, named, what, rig)]
    if not model.is_moe:
        lines.append(say(lang, "kt_dense", model=model.name))
    numbers = dict(gpu_weights=f.gpu_weights_gib, kv=f.kv_gib, overhead=f.gpu_overhead_gib, gpu_total=f.gpu_total_gib,
                   vram=vram, experts=f.experts_ram_gib, cpu_other=f.cpu_other_gib, ram_total=f.ram_total_gib,
                   ram=rig.ram_gib)
    fits = f.gpu_fits and f.ram_fits is not False
    lines.append(say(lang, "kt_fits" if fits else "kt_no_fit",
                     headline=say(lang, "headline_partial_offload" if fits else "headline_does_not_fit"), **numbers))
    speed = None
    if fits and rig.gpus:
        active = f.experts_ram_gib * GIB * model.experts_active / model.experts if model.is_moe else 0.0
        cpu_s = active / (rig.ram_bandwidth_gbs * 1e9) if active else 0.0
        gpu_s = f.gpu_weights_gib * GIB / (rig.gpus[0][0].bandwidth_gbs * 1e9)
        tps = 1 / (cpu_s + gpu_s)
        speed = SpeedInfo(theoretical_max_tokens_per_s=round(tps, 1), expected_tokens_per_s=round(tps, 1),
                          bottleneck="ram_bandwidth" if cpu_s > gpu_s else "memory_bandwidth")
        lines.append(say(lang, "kt_speed", runtime=named, tps=f"{tps:.1f}", experts=active / GB,
                         ram_bw=rig.ram_bandwidth_gbs))
    lines.append(engine._assumptions(notes + rig.assumptions + [say(lang, "kt_note_overhead",
                                                                    overhead=ktransformers.OVERHEAD_GIB)], lang))
    command = None
    if fits:
        command = ktransformers.command(f"<{model.name.replace(' ', '-')}>", f"<{quant.name}-gguf-dir>", context)
        lines.append(say(lang, "rt_command", runtime=named, command=command))
    memory = MemoryInfo(weights_gib=_r(f.gpu_weights_gib + f.experts_ram_gib), kv_cache_gib=_r(f.kv_gib),
                        overhead_gib=_r(f.gpu_overhead_gib), total_gib=_r(f.gpu_total_gib), available_gib=_r(vram),
                        gpu_layers=None, total_layers=model.layers)
    return _result(query, model, quant.name, quant.bits_per_weight, context, rig,
                   Verdict.PARTIAL_OFFLOAD if fits else Verdict.DOES_NOT_FIT, memory, speed, command, lines)


def _transformers(query, catalog, model, quant, context, notes, rig) -> SizingResult:
    from rules import engine

    lang, named = query.lang, say(query.lang, "runtime_transformers")
    if quant.kind not in ("bnb", "int8", "float"):
        target = {4: "NF4", 8: "W8A8"}.get(quant.bits, "BF16")
        notes.append(say(lang, "hf_note_format", quant=quant.name, target=target))
        quant = catalog.quant(target)
    gpus = max(1, rig.gpu_count)
    f = hf_transformers.size(model, quant, context, rig.gpu_budget_gib, gpus)
    what = say(lang, "rt_what", model=model.name, fmt=quant.name, context=f"{context:,}")
    lines = [_head(query, named, what, rig)]
    if quant.kind in ("bnb", "int8"):
        lines.append(say(lang, "hf_bnb", bits=hf_transformers.BITS[quant.kind]))
    lines.append(say(lang, "hf_fits" if f.fits else "hf_no_fit",
                     headline=say(lang, "headline_fits_gpu" if f.fits else "headline_does_not_fit"),
                     weights=f.weights_gib, kv=f.kv_gib, overhead=f.overhead_gib, total=f.total_gib,
                     available=f.vram_gib))
    speed = None
    if f.fits and rig.gpus:
        speed, line = _ceiling(f.weights_gib * GIB, min(g.bandwidth_gbs for g, _ in rig.gpus), lang, named)
        lines.append(line)
    lines.append(engine._assumptions(notes + rig.assumptions, lang))
    command = hf_transformers.command(f"<{model.name.replace(' ', '-')}>", quant) if f.fits else None
    if command:
        lines.append(say(lang, "rt_command", runtime=named, command=command))
    memory = MemoryInfo(weights_gib=_r(f.weights_gib), kv_cache_gib=_r(f.kv_gib), overhead_gib=_r(f.overhead_gib),
                        total_gib=_r(f.total_gib), available_gib=_r(f.vram_gib),
                        gpu_layers=model.layers if f.fits else None, total_layers=model.layers)
    bits = f.weights_gib * GIB * 8 / (model.params_b * 1e9)
    return _result(query, model, quant.name, bits, context, rig, Verdict.FITS_GPU if f.fits else Verdict.DOES_NOT_FIT,
                   memory, speed, command, lines)
