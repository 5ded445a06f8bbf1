"""The rules engine's entry point: a parsed `Query` → a `SizingResult` with every
figure explained in its Markdown answer."""

from __future__ import annotations

import math
import re

from rules.catalog import Catalog, DeviceClass, ModelSpec, QuantType, default_catalog
from rules.command import llama_server, ollama
from rules.context import context_limits
from rules.gguf_file import GgufError, GgufInfo, read_gguf
from rules.memory import (
    CPU_OVERHEAD_GIB,
    GPU_OVERHEAD_GIB,
    Fit,
    effective_bits_per_weight,
    fit,
    kv_cache_bytes,
    read_bytes_per_token,
    weights_bytes,
)
from rules.parse import parse
from rules.phrases import say, tps
from rules.recommend import (
    default_context,
    family_models,
    gpus_for_model,
    models_for_rig,
    smaller_variants,
)
from rules.rig import Rig, rig_from_query
from rules.runtime_speed_answer import with_runtime_speed
from rules.schema import (
    GB,
    GIB,
    Intent,
    MemoryInfo,
    ModelInfo,
    Query,
    Recommendation,
    SizingResult,
    SpeedInfo,
    Verdict,
)
from rules.serving import serving
from rules.speed import expert_weight_bytes, gpu_class, speed, speed_from_bandwidth
from rules.training import DEFAULT_BATCH, DEFAULT_SEQUENCE, LORA_RANK, METHODS, training_memory
from rules.user_measurements import UserMeasurements, answer_lines, refine
from rules.vllm import default_batched_tokens as vllm_batched_tokens
from rules.vllm import is_gguf_only as vllm_gguf_only
from rules.vllm import quantization_flag as vllm_quant_flag
from rules.vllm import sglang_command, trtllm_command, vllm_command
from rules.vllm import size as vllm_size

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
                 allow_local_files: bool = True, measured: UserMeasurements | None = None) -> SizingResult:
    """The answer from the `Query` alone: the question's text is never read again.
    `allow_local_files=False`
    (chat adapters): a question naming a local GGUF gets one sentence whatever the path,
    so a chat user cannot probe the bot host's disk. `measured`: users' speed reports
    (rules/user_measurements.py), shown beside and folded into speed answers."""
    catalog = catalog or default_catalog()
    if len(query.options) > 1 and not query.error:
        return _compare_options(query, catalog, allow_local_files, measured)
    result = _answer(query, catalog, allow_local_files, measured)
    result = _for_runtime(query, result, catalog)
    if (line := _read_as(query, result)) is not None:
        result = result.model_copy(update={"answer": f"{line}\n{result.answer}"})
    # the parser's assumptions and what it could not read are always said
    missing = [a for a in query.assumptions if a not in result.answer]
    extra = [_assumptions(missing, query.lang)] if missing else []
    if query.unread:
        extra.append(say(query.lang, "not_understood", items=say(query.lang, "list_sep").join(query.unread)))
    if extra:
        result = result.model_copy(update={"answer": "\n".join([result.answer, *extra])})
    if query.model_name and not result.error and (line := _vision_line(query, catalog)):
        result = result.model_copy(update={"answer": f"{result.answer}\n{line}"})
    if query.also_named and query.model_name and not result.error and not query.options:
        # first, not among the assumptions: a reader of "compare A and B" must see that only A is answered
        second = say(query.lang, "note_second_model", first=query.model_name, second=query.also_named)
        result = result.model_copy(update={"answer": f"{second}\n{result.answer}"})
    return result


def _vision_line(query: Query, catalog: Catalog) -> str | None:
    """A vision model's encoder (the mmproj file llama.cpp loads beside the text weights, F16):
    said with its size, since a question about images needs that memory too."""
    try:
        model = catalog.model(query.model_name)
    except KeyError:
        return None
    if not model.vision_params_b:
        return None
    gib = model.vision_params_b * 1e9 * 2 / GIB
    return say(query.lang, "note_vision_encoder", model=model.name, params=model.vision_params_b, gib=gib)


# runtimes that run llama.cpp underneath: the figures are theirs too
_LLAMA_CPP_RUNTIMES = {"llama.cpp", "ollama", "lm_studio"}
# what each other runtime needs to run at all
_NEEDS_APPLE = {"mlx"}
_NEEDS_GPU = {"vllm", "sglang", "tensorrt_llm", "exllama", "ktransformers"}
_NEEDS_NVIDIA = {"tensorrt_llm"}
# runtimes sized by their own allocation rules (rules/runtime_answers.py)
_OWN_SIZING = ("exllama", "mlx", "ktransformers", "transformers")


def _for_runtime(query: Query, result: SizingResult, catalog: Catalog) -> SizingResult:
    """The runtime a question names is echoed first. vLLM/SGLang/TensorRT-LLM, ExLlama, MLX,
    ktransformers and transformers are sized as each allocates memory, with its own command;
    the speed is that runtime's calibrated one (or its ceiling, said to be uncalibrated). A
    combination that cannot run (MLX off Apple, vLLM with no GPU, AWQ in llama.cpp) is said
    with what would; no llama.cpp command for a file that would not exist."""
    if result.error or result.intent == Intent.DIAGNOSE:
        return result
    if result.intent == Intent.FINE_TUNE and not query.runtime:
        return result  # training is sized as transformers + peft trains (NF4/BF16), not as a GGUF to serve
    runtime = query.runtime or "llama.cpp"
    lang = query.lang
    lines: list[str] = []
    quant = catalog.quant(result.model.quant) if result.model and result.model.quant in {
        q.name for q in catalog.quants} else None
    gpus = [catalog.gpu(g.name) for g in result.hardware.gpus] if result.hardware else []
    apple = any(g.vendor == "apple" for g in gpus)
    nvidia = any(g.vendor == "nvidia" for g in gpus)
    named = say(lang, f"runtime_{runtime.replace('.', '_')}")
    exl_file = quant is not None and quant.kind == "exl"
    if exl_file and runtime not in ("exllama", "llama.cpp") and query.runtime:
        # "EXL2 in vLLM": the file cannot be loaded there (llama.cpp's own message below)
        lines.append(say(lang, "combo_exl_elsewhere", runtime=named))
    elif exl_file and result.hardware is not None and (not gpus or apple) and runtime in ("exllama", "llama.cpp"):
        lines.append(say(lang, "combo_exl_no_gpu"))
    sized_here = (result.intent in _VLLM_INTENTS and result.model is not None and gpus and not query.gguf_path
                  and not lines)
    if runtime in _VLLM_RUNTIMES and sized_here and not apple and not (runtime == "tensorrt_llm" and not nvidia):
        return with_runtime_speed(_vllm_answer(query, catalog), query, catalog)
    if runtime in _OWN_SIZING and sized_here and (apple if runtime == "mlx" else not apple):
        from rules import runtime_answers  # loaded only when a question names such a runtime

        return with_runtime_speed(runtime_answers.answer(query, catalog), query, catalog)
    if lines:
        pass  # the EXL2 line above already says what cannot run and what would
    elif runtime in _NEEDS_APPLE and result.hardware is not None and not apple:
        lines.append(say(lang, "runtime_needs_apple", runtime=named))
    elif runtime in _NEEDS_GPU and result.hardware is not None and (not gpus or apple):
        lines.append(say(lang, "runtime_needs_gpu", runtime=named))
    elif runtime in _NEEDS_NVIDIA and gpus and not nvidia:
        lines.append(say(lang, "runtime_needs_nvidia", runtime=named))
    if quant is not None and not quant.is_gguf and runtime in _LLAMA_CPP_RUNTIMES:
        lines.append(say(lang, "runtime_not_gguf", quant=quant.name, runtime=named))
    elif runtime not in _LLAMA_CPP_RUNTIMES and not lines:
        note = say(lang, "runtime_reserves_gpu", runtime=named) if runtime in ("vllm", "sglang") else ""
        lines.append(say(lang, "runtime_figures_are_llama_cpp", runtime=named, note=note))
    elif query.runtime and runtime in _LLAMA_CPP_RUNTIMES and runtime != "llama.cpp":
        lines.append(say(lang, "runtime_runs_llama_cpp", runtime=named))
    command = result.command
    if runtime not in _LLAMA_CPP_RUNTIMES or (quant is not None and not quant.is_gguf):
        command = None  # a llama-server command for a runtime or file that is not llama.cpp's would mislead
    elif runtime == "ollama" and command and result.model and result.model.name in {m.name for m in catalog.models}:
        # the JSON `command` is the named runtime's own: `ollama run <tag>` where Ollama publishes one
        tag = ollama(catalog.model(result.model.name), quant) if quant is not None else None
        if tag:
            return result.model_copy(update={"runtime": runtime, "command": tag,
                                             "answer": "\n".join([*lines, result.answer])})
    answer = result.answer
    if result.command and command is None:
        answer = "\n".join(line for line in answer.splitlines() if result.command not in line)
    if lines:
        answer = "\n".join([*lines, answer])
    # speed for the runtime named, from its own public measurements (rules/runtime_speed.py)
    return with_runtime_speed(result.model_copy(update={"runtime": runtime, "command": command, "answer": answer}),
                              query, catalog)


# runtimes sized as vLLM allocates (SGLang reserves a static fraction and pages its KV the same way)
_VLLM_RUNTIMES = ("vllm", "sglang", "tensorrt_llm")
_VLLM_INTENTS = {Intent.CAN_RUN, Intent.SERVE, Intent.MAX_CONTEXT, Intent.SPEED}


def _vllm_answer(query: Query, catalog: Catalog) -> SizingResult:
    """vLLM / SGLang on NVIDIA or AMD GPUs: 0.9 of each GPU, weights split over the
    tensor-parallel ranks, the rest in 16-token KV blocks (rules/vllm.py). No partial
    offload: it fits or it does not. Speed stays llama.cpp's bandwidth estimate, said so."""
    lang = query.lang
    runtime = query.runtime
    named = say(lang, f"runtime_{runtime}")
    model, _ = resolve_model(query, catalog)
    changes: dict = {"kv_cache_type": None}
    if not query.quant and not model.default_quant:
        changes["quant"] = "BF16"  # vLLM serves the published checkpoint, not a GGUF
    model, quant, context, notes = _model_setup(query.model_copy(update=changes), catalog)
    if "quant" in changes:
        notes.append(say(lang, "vllm_note_bf16", runtime=named))
    kv_asked = query.kv_cache_type or "f16"
    kv_dtype = "auto" if kv_asked == "f16" else "fp8"
    if kv_asked == "q4_0":
        notes.append(say(lang, "vllm_note_kv4"))
    rig = rig_from_query(query, catalog)
    vram = min(g.vram_gib for g, _ in rig.gpus)
    trt = runtime == "tensorrt_llm"  # its KV pool is 0.9 of what is free after the weights
    gpu_name = rig.gpus[0][0].name
    batched = vllm_batched_tokens(vram, gpu_name)
    f = vllm_size(model, quant, rig.gpu_count, vram, context, kv_dtype, batched_tokens=batched, of_free=trt)
    if query.intent == Intent.MAX_CONTEXT and f.weights_fit and f.max_model_len:
        # the answer is the largest context: sequences are counted at it, and the default is not assumed
        default_note = say(lang, "note_context", context=context, native=model.native_context)
        notes = [n for n in notes if n != default_note]
        context = f.max_model_len
        f = vllm_size(model, quant, rig.gpu_count, vram, context, kv_dtype, batched_tokens=batched, of_free=trt)
    what = say(lang, "what", model=model.name, quant=quant.name, context=context)
    where = rig.describe(lang)
    lines = [say(lang, "trt_first" if trt else "vllm_first", runtime=named, what=what, where=where)]
    if vllm_gguf_only(quant):
        lines.append(say(lang, "vllm_gguf", runtime=named, quant=quant.name))
    if not f.tp_ok:
        lines.append(say(lang, "vllm_tp_fails", gpus=f.gpus, heads=model.heads, kv_heads=model.kv_heads,
                         options=", ".join(str(t) for t in f.tp_options), tp=f.tp, pp=f.pp))
    if len(rig.gpus) > 1:
        lines.append(say(lang, "vllm_mixed", vram=vram))
    numbers = dict(weights=f.weights_gib, per_gpu=f.weights_per_gpu_gib, tp=f.tp, pp=f.pp, gpus=f.gpus,
                   budget=f.budget_gib, vram=f.vram_gib, overhead=f.overhead_gib, pool=f.kv_pool_gib,
                   blocks=f"{f.blocks:,}", tokens=f"{f.tokens:,}", context=f"{context:,}",
                   max_len=f"{f.max_model_len:,}", native=f"{model.native_context:,}", seqs=f.max_num_seqs,
                   kib=f.kv_bytes_per_token / 1024, dtype=quant.name if kv_dtype == "auto" else "FP8")
    if not f.weights_fit:
        lines.append(say(lang, "vllm_no_fit_weights", headline=say(lang, "headline_does_not_fit"), **numbers))
    elif not f.fits:
        lines.append(say(lang, "vllm_no_fit_context", headline=say(lang, "headline_does_not_fit"), **numbers))
        lines.append(say(lang, "vllm_numbers", **numbers))
    else:
        lines.append(say(lang, "trt_fits" if trt else "vllm_fits", headline=say(lang, "headline_fits_gpu"),
                         **numbers))
        lines.append(say(lang, "vllm_numbers", **numbers))
    users = query.users or 1
    if f.fits and users > f.max_num_seqs:
        lines.append(say(lang, "vllm_users_queue", users=users, seqs=f.max_num_seqs, context=f"{context:,}"))
    s = None
    if f.fits:
        lf = fit(model, quant, context, rig).model_copy(update={"verdict": Verdict.FITS_GPU,
                                                                   "gpu_layers": model.layers})
        s = speed(model, quant, lf, rig, catalog)
        if s:
            lines.append(_speed_line(s, read_bytes_per_token(model, quant) / GB, lang, context) + " "
                         + say(lang, "vllm_speed", runtime=named))
    lines.append(_assumptions(notes + rig.assumptions + [say(lang, "vllm_note_overhead", overhead=f.overhead_gib)],
                              lang))
    command = None
    if f.weights_fit:
        repo = "<" + model.name.replace(" ", "-") + ">"
        flag = vllm_quant_flag(quant, query.quant_written)
        command = {"vllm": vllm_command, "sglang": sglang_command, "tensorrt_llm": trtllm_command}[runtime](
            repo, f, flag)
        lines.append(say(lang, "vllm_command", runtime=named, command=command))
    verdict = Verdict.FITS_GPU if f.fits else Verdict.DOES_NOT_FIT
    kv_total = f.kv_pool_gib * f.gpus
    return SizingResult(
        intent=query.intent if query.intent in _VLLM_INTENTS else Intent.CAN_RUN,
        hardware=rig.hardware_info(),
        model=_model_info(model, quant, context),
        verdict=verdict,
        memory=MemoryInfo(weights_gib=_r(f.weights_gib, 2), kv_cache_gib=_r(kv_total, 2),
                          overhead_gib=_r(f.overhead_gib * f.gpus, 2),
                          total_gib=_r(f.weights_gib + kv_total + f.overhead_gib * f.gpus, 2),
                          available_gib=_r(f.vram_gib * f.gpus, 2),
                          gpu_layers=model.layers if f.weights_fit else None, total_layers=model.layers),
        speed=_rounded(s),
        command=command,
        runtime=runtime,
        answer="\n".join(line for line in lines if line),
    )


def _read_as(query: Query, result: SizingResult) -> str | None:
    """One short line with the reading, first, when any part of it was inferred (a card's
    variant, a size tied to a device, a default quant or context): "Read as: RTX 4060 Ti
    16GB, Qwen3 14B Q8_0, 4,096 context". A reader sees at once what was answered."""
    if result.error or result.intent in (Intent.FINE_TUNE, Intent.DIAGNOSE):
        return None
    inferred = bool(query.assumptions) or query.vram_only or (
        result.model is not None and not (query.quant and (query.context or query.full_context)))
    if not inferred:
        return None
    lang = query.lang
    parts = []
    if result.hardware is not None:
        hw = result.hardware
        if hw.gpus:
            parts.append(" + ".join(f"{g.count}× {g.name}" if g.count > 1 else g.name for g in hw.gpus))
        elif hw.cpu:
            parts.append(hw.cpu)
        if hw.ram_gib and not hw.unified_memory and (query.ram_gib or not hw.gpus):
            parts.append(say(lang, "read_as_ram", ram=hw.ram_gib))
    if result.model is not None:
        parts.append(f"{result.model.name} {result.model.quant}")
        parts.append(say(lang, "read_as_context", context=result.model.context))
    if query.runtime:
        parts.append(say(lang, f"runtime_{query.runtime.replace('.', '_')}"))
    return say(lang, "read_as", reading=say(lang, "list_comma").join(parts)) if parts else None


def _compare_options(query: Query, catalog: Catalog, allow_local_files: bool,
                     measured: UserMeasurements | None) -> SizingResult:
    """"4090 vs 5090 for Llama 3.3 70B", "Q4_K_M or Q8_0?": each option answered on its own
    (never one pooled rig), a table of them first, then the first option's full answer."""
    answers = []
    notes = []
    runtimes = [o.runtime for o in query.options if o.runtime]
    shared: dict = {}
    if runtimes and not (query.model_name or query.params_b):
        # "MLX or llama.cpp on my M3 Max?": one model for both sides, the largest llama.cpp
        # fits at 4 bits or more, each runtime at its own 4-bit format
        base = answer_query(query.model_copy(update={"runtime": None, "options": []}), catalog,
                            allow_local_files=allow_local_files, measured=measured)
        pick = next((r for r in base.recommendations if catalog.quant(r.quant).bits >= 4), None)
        if pick is not None:
            shared = {"model_name": pick.model, "params_b": None, "quant": "Q4_K_M"}
            if query.intent not in _VLLM_INTENTS:
                shared["intent"] = Intent.CAN_RUN
            notes.append(say(query.lang, "compare_runtime_model", model=pick.model))
    for option in query.options:
        changes = option.model_dump(exclude={"label"}, exclude_none=True)
        if shared:
            changes = {**shared, **changes}
            if changes.get("runtime") in _VLLM_RUNTIMES:
                changes.update(quant="GPTQ_4BIT", quant_written="awq")
            elif changes.get("runtime") == "exllama":
                changes.update(quant="EXL2")
            elif changes.get("runtime") == "transformers":
                changes.update(quant="NF4")
        if "model_name" in changes:
            changes.setdefault("params_b", None)
        one = query.model_copy(update={**changes, "options": [], "also_named": None})
        answers.append((option.label, answer_query(one, catalog, allow_local_files=allow_local_files,
                                                   measured=measured)))
    lang = query.lang
    rows, lines = [], [say(lang, "compare_head", count=len(answers)), say(lang, "compare_table_head"), "|---|---|---|---|"]
    for label, result in answers:
        s, m = result.speed, result.memory
        verdict = say(lang, f"headline_{result.verdict.value}") if result.verdict else "—"
        if result.error:
            verdict = result.answer.splitlines()[0]
        speed_text = (say(lang, "compare_speed", tps=tps(s.expected_tokens_per_s), low=tps(s.expected_range[0]),
                   high=tps(s.expected_range[1])) if s and s.expected_range
               else say(lang, "compare_ceiling", tps=tps(s.theoretical_max_tokens_per_s)) if s else "—")
        memory = f"{m.total_gib:.1f} GiB" if m else "—"
        lines.append(f"| {label} | {verdict} | {memory} | {speed_text} |")
        if result.model and result.verdict and m:
            rows.append(Recommendation(
                model=result.model.name, params_b=result.model.params_b, quant=result.model.quant,
                verdict=result.verdict, total_gib=m.total_gib,
                expected_tokens_per_s=s.expected_tokens_per_s if s else None,
                expected_range=s.expected_range if s else None,
                hardware=" + ".join(f"{g.count}x {g.name}" if g.count > 1 else g.name for g in result.hardware.gpus)
                if result.hardware and result.hardware.gpus else None))
    if runtimes:  # each runtime's own command under the table
        lines += [say(lang, "compare_command", label=label, command=r.command) for label, r in answers if r.command]
    quality = None
    if any(o.model_name for o in query.options) or len({o.quant for o in query.options}) > 1:
        from rules.tradeoff import weigh  # quality evidence loads on the first comparison of models

        if weighed := weigh(answers, query.use, catalog, lang):
            quality_lines, quality = weighed
            lines += [line for line in quality_lines if line]
    lines = notes + lines
    first_label, first = answers[0]
    lines.append(say(lang, "compare_first", label=first_label))
    lines.append(first.answer)
    return first.model_copy(update={"answer": "\n".join(lines), "recommendations": rows, "quality": quality})


def _answer(query: Query, catalog: Catalog, allow_local_files: bool = True,
            measured: UserMeasurements | None = None) -> SizingResult:
    if query.error:
        return SizingResult(intent=query.intent, answer=query.error_message or query.error,
                            error=query.error)
    if query.intent == Intent.DIAGNOSE and query.run_log is not None:
        from rules.diagnose import diagnose  # imports this module: loaded on first use

        return diagnose(query, catalog)  # a GGUF named in a pasted log is matched by name, never opened
    if getattr(query, "gguf_path", None):
        if not allow_local_files:
            return SizingResult(intent=query.intent, error="gguf_local_only",
                                answer=say(query.lang, "error_gguf_local_only"))
        return _from_file(query, catalog)
    intent = query.intent
    if intent == Intent.FINE_TUNE and query.has_model and (query.model_name or query.params_b):
        return _fine_tune(query, catalog)
    if intent == Intent.MAX_CONTEXT and query.has_model and query.has_hardware and (query.model_name or query.params_b):
        return _max_context(query, catalog)
    if intent == Intent.SERVE and query.has_model and query.has_hardware and (query.model_name or query.params_b):
        return _serve(query, catalog)
    if intent == Intent.SERVE and query.has_hardware and not query.has_model and query.users:
        return _serve_recommend(query, catalog)
    if query.bandwidth_gbs and query.model_file_gb:
        return _pure_speed(query, catalog)
    if query.has_model and not query.model_name and not query.params_b:
        return _pure_speed(query, catalog)  # "a 13 GB model" with a rig: bandwidth question
    if query.has_hardware and not query.has_model:
        return _recommend_models(query, catalog)
    if query.has_model and not query.has_hardware:
        return _requirements(query, catalog)
    if query.has_model:
        return _can_run(query, catalog, measured)
    return SizingResult(intent=query.intent, answer=say(query.lang, "nothing_to_size"), error="nothing_to_size")


def _model_setup(query: Query, catalog: Catalog) -> tuple[ModelSpec, QuantType, int, list[str]]:
    lang = query.lang
    if getattr(query, "gguf_path", None):  # the file's own weights and quantization
        model, quant, notes = _file_model(read_gguf(query.gguf_path), lang)
    else:
        model, notes = resolve_model(query, catalog)
        quant = None
    notes = list(query.assumptions) + notes
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
    if query.full_context and not query.context:
        context = model.native_context
        notes.append(say(lang, "note_full_context", context=context, model=model.name))
    elif query.context:
        context = query.context
        if context > model.native_context:
            notes.append(say(lang, "note_beyond_context", context=context, model=model.name,
                             native=model.native_context))
    else:
        context = default_context(model)
        if query.prompt_tokens and query.prompt_tokens + 512 > context:
            # a long prompt needs the context to hold it and an answer
            context = -(-(query.prompt_tokens + 512) // 1024) * 1024
            notes.append(say(lang, "note_context_for_prompt", context=context, prompt=query.prompt_tokens))
        else:
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


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


def _rounded(s: SpeedInfo | None) -> SpeedInfo | None:
    if s is None:
        return None
    return s.model_copy(update={
        "theoretical_max_tokens_per_s": round(s.theoretical_max_tokens_per_s, 1),
        "expected_tokens_per_s": round(s.expected_tokens_per_s, 1),
        "full_context_tokens_per_s": _r(s.full_context_tokens_per_s),
        "expected_range": [round(v, 1) for v in s.expected_range] if s.expected_range else None,
        "prompt_tokens_per_s": _r(s.prompt_tokens_per_s, 0),
        "prompt_tokens_per_s_range": [round(v) for v in s.prompt_tokens_per_s_range]
        if s.prompt_tokens_per_s_range else None,
        "time_to_first_token_s": _r(s.time_to_first_token_s, 2),
    })


def _rec_speed(r) -> dict[str, str]:
    """A recommendation's speed and its range, as the phrases print them."""
    low, high = r.expected_range or (r.expected_tokens_per_s, r.expected_tokens_per_s)
    return {"tps": tps(r.expected_tokens_per_s), "low": tps(low), "high": tps(high)}



def _sum_line(f: Fit, lang: str) -> str:
    # the figures of MemoryInfo (2 decimals), so text and JSON round alike
    return say(lang, "memory_sum", weights=round(f.weights_gib, 2), kv=round(f.kv_cache_gib, 2),
               overhead=round(f.overhead_gib, 2), total=round(f.total_gib, 2))


def _range_key(s: SpeedInfo) -> str:
    """English counts: "1 measurement", "3 measurements"; a band borrowed from all rows says so."""
    if (s.device_class or "").startswith("uncalibrated_"):
        return "speed_range_uncalibrated"
    if s.class_measurements is not None:
        return "speed_range_pooled"
    return "speed_range_one" if s.measurements == 1 else "speed_range"


def _class_words(device_class: str, lang: str) -> str:
    """"uncalibrated_sycl": the nearest class's words, said as widened for a GPU kind not measured."""
    if device_class.startswith("uncalibrated_"):
        return say(lang, "class_uncalibrated", base=say(lang, f"class_{device_class[len('uncalibrated_'):]}"))
    return say(lang, f"class_{device_class}")


def _speed_line(s: SpeedInfo, per_token_gb: float, lang: str, context: int | None = None) -> str:
    lines = [say(lang, "speed", expected=s.expected_tokens_per_s, ceiling=s.theoretical_max_tokens_per_s,
                 per_token=per_token_gb, limit=say(lang, f"limit_{s.bottleneck}"))]
    if s.expected_range:
        key = _range_key(s)
        words = say(lang, f"class_{s.device_class[len('uncalibrated_'):]}") if key == "speed_range_uncalibrated" \
            else _class_words(s.device_class, lang)
        lines.append(say(lang, key, low=tps(s.expected_range[0]), high=tps(s.expected_range[1]),
                         count=s.measurements, own=s.class_measurements, device_class=words))
    # say it when a full context costs noticeably: a long context is read for every token
    if context and s.full_context_tokens_per_s and s.full_context_tokens_per_s < 0.9 * s.expected_tokens_per_s:
        lines.append(say(lang, "speed_full_context", context=context, tps=tps(s.full_context_tokens_per_s)))
    if s.prompt_tokens_per_s:
        if s.prompt_tokens_per_s_range:
            lines.append(say(lang, "prefill", rate=f"{s.prompt_tokens_per_s:,.0f}",
                             low=f"{s.prompt_tokens_per_s_range[0]:,.0f}", high=f"{s.prompt_tokens_per_s_range[1]:,.0f}"))
        else:
            lines.append(say(lang, "prefill_no_range", rate=f"{s.prompt_tokens_per_s:,.0f}"))
    if s.time_to_first_token_s is not None:
        lines.append(say(lang, "ttft", prompt=s.prompt_tokens, seconds=f"{s.time_to_first_token_s:.1f}"))
    return " ".join(lines)


DEFAULT_PROMPT_TOKENS = 1000  # "time to first token" without a prompt length


def _prompt_tokens(query: Query, notes: list[str], lang: str) -> int | None:
    if query.prompt_tokens:
        return query.prompt_tokens
    if query.wants_first_token:
        notes.append(say(lang, "note_prompt_assumed", prompt=DEFAULT_PROMPT_TOKENS))
        return DEFAULT_PROMPT_TOKENS
    return None


def expert_offload(model: ModelSpec, quant: QuantType, context: int, rig: Rig, kv_type: str) -> int | None:
    """MoE that misses the GPU: how many layers' experts llama.cpp's `--n-cpu-moe` must
    keep in RAM so that attention, shared tensors and the other experts fit the GPU.
    None when that placement does not fit either."""
    if not (model.is_moe and rig.gpus) or rig.unified_memory:
        return None
    experts = expert_weight_bytes(model, quant) / GIB
    dense = weights_bytes(model, quant) / GIB - experts
    kv = kv_cache_bytes(model, context, kv_type) / GIB
    spare = rig.gpu_budget_gib - GPU_OVERHEAD_GIB * rig.gpu_count - dense - kv
    if spare <= 0:
        return None
    cpu_layers = min(model.layers, math.ceil(model.layers * (1 - spare / experts)))
    if cpu_layers <= 0 or experts * cpu_layers / model.layers + CPU_OVERHEAD_GIB > rig.ram_gib:
        return None
    return cpu_layers


def _can_run(query: Query, catalog: Catalog, measured: UserMeasurements | None = None) -> SizingResult:
    model, quant, context, notes = _model_setup(query, catalog)
    rig = rig_from_query(query, catalog)
    lang = query.lang
    kv_type = query.kv_cache_type or "f16"
    if query.vram_only:
        notes.append(say(lang, "note_vram_only", gpu=rig.gpus[0][0].name))
    f = fit(model, quant, context, rig, kv_type)
    prompt = _prompt_tokens(query, notes, lang)
    cpu_moe = None
    if f.verdict in (Verdict.PARTIAL_OFFLOAD, Verdict.CPU_ONLY) and rig.gpus:
        cpu_moe = expert_offload(model, quant, context, rig, kv_type)
    if query.experts_in_ram and rig.gpus and f.verdict != Verdict.DOES_NOT_FIT:
        if not model.is_moe:
            notes.append(say(lang, "note_experts_dense", model=model.name))
        elif not cpu_moe and expert_weight_bytes(model, quant) / GIB + CPU_OVERHEAD_GIB <= rig.ram_gib:
            cpu_moe = model.layers  # asked for: every layer's experts in RAM (--cpu-moe)
    what = say(lang, "what", model=model.name, quant=quant.name, context=context)
    asked = bool(cpu_moe) and query.experts_in_ram and f.verdict == Verdict.FITS_GPU  # fits, but RAM asked for
    if cpu_moe:
        in_ram = expert_weight_bytes(model, quant) / GIB * cpu_moe / model.layers
        f = f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD, "gpu_layers": f.total_layers,
                                 "ram_needed_gib": in_ram + CPU_OVERHEAD_GIB})
        s = speed(model, quant, f, rig, catalog, prompt_tokens=prompt,
                  cpu_expert_fraction=cpu_moe / model.layers)
        lines = [say(lang, "verdict_expert_offload_asked" if asked else "verdict_expert_offload",
                     headline=say(lang, "headline_partial_offload"), what=what,
                     where=rig.describe(lang), layers=cpu_moe, total=model.layers),
                 say(lang, "memory_expert_offload", gpu=f.total_gib - in_ram - f.overhead_gib + GPU_OVERHEAD_GIB,
                     budget=f.gpu_budget_gib, ram_needed=in_ram, ram=rig.ram_gib)]
    else:
        s = speed(model, quant, f, rig, catalog, prompt_tokens=prompt)
        lines = [_verdict_sentence(f, what, rig, lang), _memory_sentence(f, rig, lang)]
    per_token_gb = read_bytes_per_token(model, quant) / GB
    report_lines = []
    if s and measured is not None:  # users' reports: the class shift and this configuration's own
        base = s
        s, shift = refine(s, measured)
        report_lines = answer_lines(_rounded(base), _rounded(s), shift, _config_of(rig, query, model, quant),
                                    measured, lang)
    if s:
        lines.append(_speed_line(s, per_token_gb, lang, context))
        lines += report_lines
    if model.is_moe:
        lines.append(say(lang, "moe", total=model.params_b, active=model.active_params_b))
    if rig.gpu_count > 1 and len(rig.gpus) == 1 and f.verdict == Verdict.FITS_GPU:
        lines.append(say(lang, "multi_gpu"))
    if len(rig.gpus) > 1 and f.verdict in (Verdict.FITS_GPU, Verdict.PARTIAL_OFFLOAD):
        lines.append(say(lang, "mixed_gpu_split", split=" + ".join(
            f"{g.vram_gib * c / sum(x.vram_gib * n for x, n in rig.gpus):.0%} {g.name}" for g, c in rig.gpus)))
    alternatives = []
    if f.verdict != Verdict.FITS_GPU and rig.gpus and not cpu_moe:
        alternatives = smaller_variants(model, quant, context, rig, catalog)
        if alternatives:
            lines.append(say(lang, "alternatives", items=say(lang, "list_sep").join(
                say(lang, "alternative_item", quant=a.quant, total=a.total_gib, **_rec_speed(a))
                for a in alternatives)))
    lines.append(_assumptions(notes + rig.assumptions, lang))
    command = None
    if f.verdict != Verdict.DOES_NOT_FIT:
        command = llama_server(model, quant, rig, context=context, gpu_layers=f.gpu_layers,
                               total_layers=f.total_layers, kv_type=kv_type, cpu_moe_layers=cpu_moe)
        lines.append(_command_lines(command, model, quant, context, lang))
    intent = query.intent
    return SizingResult(
        intent=intent if intent != Intent.EXPLAIN else Intent.CAN_RUN,
        hardware=rig.hardware_info(),
        model=_model_info(model, quant, context),
        verdict=f.verdict,
        memory=_memory_info(f, f.available_gib),
        speed=_rounded(s),
        recommendations=alternatives,
        command=command,
        answer="\n".join(line for line in lines if line),
    )


def _config_of(rig: Rig, query: Query, model: ModelSpec, quant: QuantType) -> tuple[str, int, str, str]:
    """The report configuration an answer is about: one kind of GPU and its count, or
    the named CPU (count 0); a mixed rig, or a VRAM size sized on a stand-in card, matches no reports."""
    if query.vram_only:
        return ("", -1, model.name, quant.name)
    if not rig.gpus and query.cpu_name:  # CPU reports ran on the CPU's usual memory: other RAM, other speed
        from rules.user_measurements import usual_ram_bandwidth

        if abs(rig.ram_bandwidth_gbs - usual_ram_bandwidth(query.cpu_name)) > 0.05 * rig.ram_bandwidth_gbs:
            return ("", -1, model.name, quant.name)
    if len(rig.gpus) == 1:
        return (rig.gpus[0][0].name, rig.gpus[0][1], model.name, quant.name)
    return (query.cpu_name or "", 0 if not rig.gpus else -1, model.name, quant.name)


def _command_lines(command: str, model: ModelSpec, quant: QuantType, context: int, lang: str) -> str:
    text = say(lang, "command", command=command)
    if tag := ollama(model, quant):
        text += "\n" + say(lang, "command_ollama", command=tag, context=context)
    return text


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
            say(lang, "setup_item", hardware=o.hardware, **_rec_speed(o)) for o in options)))
    else:
        lines.append(say(lang, "no_gpu_setup"))
    lines.append(_assumptions(notes, lang))
    memory = _memory_info(cpu_fit, None).model_copy(update={
        "overhead_gib": GPU_OVERHEAD_GIB, "total_gib": round(vram_needed, 2), "gpu_layers": None})
    best = options[0] if options else None
    speed_info = None
    if best:
        count, _, gpu_name = best.hardware.rpartition("× ")
        gpu = catalog.gpu(gpu_name)
        rig = Rig(gpus=[(gpu, int(count or 1))], unified_memory=gpu.unified_memory,
                  ram_gib=gpu.vram_gib if gpu.unified_memory else 1e9,
                  ram_bandwidth_gbs=gpu.bandwidth_gbs if gpu.unified_memory else 51.2)
        speed_info = _rounded(speed(model, quant, fit(model, quant, context, rig, query.kv_cache_type or "f16"),
                                    rig, catalog))
    return SizingResult(
        intent=query.intent if query.intent != Intent.EXPLAIN else Intent.REQUIREMENTS,
        model=_model_info(model, quant, context),
        memory=memory,
        speed=speed_info,
        recommendations=options,
        answer="\n".join(lines),
    )


def _recommend_models(query: Query, catalog: Catalog) -> SizingResult:
    """The models that fit: ranked by the quality evidence for the use the question names,
    else by size, asking what the model is for."""
    rig = rig_from_query(query, catalog)
    lang = query.lang
    where = rig.describe(lang)
    notes = query.assumptions + rig.assumptions + [say(lang, "note_recommend_context")]
    from rules.quality import evidence_for  # quality data loads on the first question that needs it
    from rules.rank_words import covered_words, ranking_lines, scored_elsewhere, use_words

    evidence = evidence_for(catalog)
    quality = None
    lead = []
    if query.use and not query.model_family:  # a named family is the answer's scope ("qwen2.5-math")
        from rules.rank import rank_for_use, ranking_info

        ranking = rank_for_use(rig, catalog, query.use)
        quality = ranking_info(ranking)
        if ranking.ranked:
            lines = ranking_lines(ranking, evidence, where, lang, _rec_speed)
            lines.append(_assumptions(notes, lang))
            return SizingResult(intent=Intent.RECOMMEND, hardware=rig.hardware_info(),
                                recommendations=[rec for rec, _ in ranking.ranked], quality=quality,
                                answer="\n".join(line for line in lines if line))
        lead = [say(lang, "rank_no_evidence", use=use_words(query.use, lang), where=where,
                    scored=scored_elsewhere(evidence, query.use, lang), covered=covered_words(evidence, lang))]
    recs = models_for_rig(rig, catalog, family=query.model_family)
    if query.model_family:
        members = family_models(catalog, query.model_family)
        family = re.split(r"[\s\-]", members[0].name)[0]  # "Qwen3 32B" → "Qwen3", "Devstral-Small-2505" → "Devstral"
        if query.model_family.isalpha():  # "qwen" names every Qwen generation: "Qwen", not "Qwen2.5"
            family = family.rstrip("0123456789.")
        lines = [say(lang, "best_family_models", family=family, where=where)] if recs else [
            say(lang, "nothing_fits_family", family=family, where=where,
                smallest=min(members, key=lambda m: m.params_b).name)]
    else:
        lines = lead or [say(lang, "best_models", where=where)]
    if recs:
        lines += [say(lang, "best_model_item", model=r.model, quant=r.quant, total=r.total_gib, **_rec_speed(r))
                  for r in recs]
    elif not query.model_family:
        lines = lead + [say(lang, "nothing_fits", where=where)]
    if not query.use and recs and not query.model_family:
        lines.append(say(lang, "ask_use", covered=covered_words(evidence, lang)))
    lines.append(_assumptions(notes, lang))
    return SizingResult(
        intent=Intent.RECOMMEND,
        hardware=rig.hardware_info(),
        recommendations=recs,
        quality=quality,
        answer="\n".join(line for line in lines if line),
    )


def _serve_recommend(query: Query, catalog: Catalog) -> SizingResult:
    """"Can a 3090 serve 8 users at 8k each?" with no model named: the models that can,
    each sized with one llama.cpp slot of that context per user."""
    from rules.serving import models_for_serving

    rig = rig_from_query(query, catalog)
    lang = query.lang
    where = rig.describe(lang)
    users = query.users
    context = query.context or 4096
    notes = list(query.assumptions) + rig.assumptions
    if not query.context:
        notes.append(say(lang, "note_serve_context", context=context))
    kv_type = query.kv_cache_type or "f16"
    recs = models_for_serving(rig, catalog, users, context, kv_type)
    if recs:
        lines = [say(lang, "serve_models", where=where, users=users, context=context)]
        lines += [say(lang, "serve_model_item", model=r.model, quant=r.quant, total=r.total_gib, users=users,
                      aggregate=tps(r.aggregate_tokens_per_s), **_rec_speed(r))
                  for r in recs if r.expected_tokens_per_s]
        lines.append(say(lang, "serve_models_hint"))
    else:
        lines = [say(lang, "serve_nothing_fits", where=where, users=users, context=context)]
    lines.append(_assumptions(notes, lang))
    return SizingResult(intent=Intent.SERVE, hardware=rig.hardware_info(), recommendations=recs,
                        answer="\n".join(line for line in lines if line))


def _pure_speed(query: Query, catalog: Catalog) -> SizingResult:
    # the parser's assumptions come with the model notes when a model is sized below
    notes = list(query.assumptions) if query.model_file_gb else []
    fit_class = None
    if query.bandwidth_gbs:
        bandwidth = query.bandwidth_gbs
        device = DeviceClass.CPU
    else:
        rig = rig_from_query(query, catalog)
        if rig.gpus:
            gpu = rig.gpus[0][0]
            bandwidth, device, fit_class = gpu.bandwidth_gbs, gpu.device_class, gpu_class(gpu)
        else:
            bandwidth, device = rig.ram_bandwidth_gbs, DeviceClass.CPU
        notes += rig.assumptions
    if query.model_file_gb:
        size_gb = query.model_file_gb
    else:
        model, quant, _, model_notes = _model_setup(query, catalog)
        size_gb = weights_bytes(model, quant) / GB
        notes += model_notes
    s = speed_from_bandwidth(bandwidth, size_gb, device, catalog, fit_class=fit_class)
    lang = query.lang
    lines = [
        say(lang, "pure_ceiling", bandwidth=bandwidth, size=size_gb, ceiling=s.theoretical_max_tokens_per_s),
        say(lang, "pure_expected", expected=s.expected_tokens_per_s,
            efficiency=s.expected_tokens_per_s / s.theoretical_max_tokens_per_s,
            device=say(lang, f"class_{s.device_class}")),
        say(lang, _range_key(s), low=tps(s.expected_range[0]), high=tps(s.expected_range[1]),
            count=s.measurements, own=s.class_measurements, device_class=say(lang, f"class_{s.device_class}")),
        _assumptions(notes, lang),
    ]
    return SizingResult(intent=Intent.SPEED, speed=_rounded(s), answer="\n".join(lines),
                        hardware=None)


def _needs_model_and_rig(query: Query, catalog: Catalog):
    model, quant, context, notes = _model_setup(query, catalog)
    rig = rig_from_query(query, catalog)
    if query.vram_only:
        notes.append(say(query.lang, "note_vram_only", gpu=rig.gpus[0][0].name))
    return model, quant, context, notes, rig


def _max_context(query: Query, catalog: Catalog) -> SizingResult:
    """The longest context that fits, for f16, q8_0 and q4_0 KV cache."""
    model, quant, context, notes, rig = _needs_model_and_rig(query, catalog)
    lang = query.lang
    # the context is what this answer finds, not an assumption
    notes = [n for n in notes if n != say(lang, "note_context", context=context, native=model.native_context)]
    limits = context_limits(model, quant, rig)
    where = rig.describe(lang)
    best = max(limits, key=lambda c: c.context)
    if best.context == 0:
        weights = weights_bytes(model, quant) / GIB
        lines = [say(lang, "max_context_none", model=model.name, quant=quant.name, where=where, weights=weights,
                     budget=rig.gpu_budget_gib if rig.gpus else rig.ram_gib)]
        verdict = Verdict.DOES_NOT_FIT
    else:
        lines = [say(lang, "max_context_head", model=model.name, quant=quant.name, where=where,
                     native=model.native_context)]
        lines += [say(lang, "max_context_item", kv=c.kv_type, context=c.context, kv_gib=c.kv_cache_gib)
                  + (say(lang, "max_context_native") if c.capped_at_native else "") for c in limits if c.context]
        verdict = Verdict.FITS_GPU if rig.gpus else Verdict.CPU_ONLY
    chosen = next((c for c in limits if c.kv_type == (query.kv_cache_type or "f16") and c.context), best)
    f = fit(model, quant, max(chosen.context, 1), rig, chosen.kv_type)
    command = None
    if chosen.context:
        command = llama_server(model, quant, rig, context=chosen.context, gpu_layers=f.gpu_layers,
                               total_layers=f.total_layers, kv_type=chosen.kv_type)
    lines.append(_assumptions(notes + rig.assumptions, lang))
    if command:
        lines.append(_command_lines(command, model, quant, chosen.context, lang))
    return SizingResult(
        intent=Intent.MAX_CONTEXT, hardware=rig.hardware_info(),
        model=_model_info(model, quant, chosen.context), verdict=verdict,
        memory=_memory_info(f, f.available_gib) if chosen.context else None,
        command=command, answer="\n".join(line for line in lines if line),
    )


def _fine_tune(query: Query, catalog: Catalog) -> SizingResult:
    """Full, LoRA and QLoRA memory; the verdict for the method asked (LoRA when none)."""
    # training sizes 16-bit (or 4-bit NF4) weights and a sequence length: no GGUF quant or
    # context is assumed, so none is said; what is assumed is the training setup itself
    model, model_notes = resolve_model(query, catalog)
    lang = query.lang
    notes = list(query.assumptions) + model_notes
    if query.quant:
        notes.append(say(lang, "note_train_quant_ignored", quant=query.quant))
    notes.append(say(lang, "note_train_setup", rank=LORA_RANK))
    batch = query.batch_size or DEFAULT_BATCH
    seq = query.sequence_length or query.context or DEFAULT_SEQUENCE
    if not query.batch_size:
        notes.append(say(lang, "note_batch_assumed", batch=batch))
    if not (query.sequence_length or query.context):
        notes.append(say(lang, "note_sequence_assumed", seq=seq))
    method = query.train_method or "lora"
    if not query.train_method:
        notes.append(say(lang, "note_method_assumed"))
    plans = {m: training_memory(model, m, batch, seq) for m in METHODS}
    lines = [say(lang, "train_head", model=model.name, batch=batch, seq=seq, rank=plans["lora"].lora_rank)]
    for m, t in plans.items():
        lines.append(say(lang, "train_item", method=say(lang, f"method_{m}"), weights=t.weights_gib,
                         adapters=t.adapters_gib, gradients=t.gradients_gib, optimizer=t.optimizer_gib,
                         activations=t.activations_gib, overhead=t.overhead_gib, total=t.total_gib))
    chosen = plans[method]
    verdict = None
    hardware = None
    if query.has_hardware and not query.cpu_only:
        rig = rig_from_query(query, catalog)
        hardware = rig.hardware_info()
        if rig.gpus:
            budget = rig.gpu_budget_gib
            verdict = Verdict.FITS_GPU if chosen.total_gib <= budget else Verdict.DOES_NOT_FIT
            key = "train_verdict_fits" if verdict == Verdict.FITS_GPU else "train_verdict_no"
            lines.insert(0, say(lang, key, method=say(lang, f"method_{method}"), where=rig.describe(lang),
                                total=chosen.total_gib, budget=budget))
            if verdict == Verdict.DOES_NOT_FIT:
                fitting = [say(lang, f"method_{m}") for m, t in plans.items() if t.total_gib <= budget]
                if fitting:
                    lines.append(say(lang, "train_instead", methods=say(lang, "or").join(fitting)))
    lines.append(say(lang, "train_note"))
    lines.append(_assumptions(notes, lang))
    memory = MemoryInfo(weights_gib=round(chosen.weights_gib, 2), kv_cache_gib=0.0,
                        overhead_gib=round(chosen.overhead_gib, 2), total_gib=round(chosen.total_gib, 2),
                        available_gib=None, gpu_layers=None, total_layers=model.layers)
    rounded = chosen.model_copy(update={k: round(v, 2) for k, v in chosen.model_dump().items()
                                        if isinstance(v, float)})
    return SizingResult(
        intent=Intent.FINE_TUNE, hardware=hardware,
        model=ModelInfo(name=model.name, params_b=model.params_b, quant="BF16" if method != "qlora" else "NF4",
                        bits_per_weight=16.0 if method != "qlora" else 4.5, context=seq),
        verdict=verdict, memory=memory, training=rounded,
        answer="\n".join(line for line in lines if line),
    )


def _rounded_serving(info):
    """A serving result as the JSON shows it: GiB to 2-3 decimals, tokens/s as `_r` rounds."""
    return info.model_copy(update={
        "kv_cache_gib": round(info.kv_cache_gib, 2), "kv_cache_per_user_gib": round(info.kv_cache_per_user_gib, 3),
        "aggregate_tokens_per_s": _r(info.aggregate_tokens_per_s),
        "per_user_tokens_per_s": _r(info.per_user_tokens_per_s)})


def _serve_offloaded(model: ModelSpec, quant: QuantType, rig: Rig, users: int, context: int, kv_type: str,
                     catalog: Catalog, notes: list[str], lang: str) -> SizingResult | None:
    """`users` slots that do not all fit the GPUs, placed as llama.cpp places one
    `-c users×context` server: layers (or a MoE's experts) the GPUs cannot hold stay in
    system RAM. None when that does not fit either."""
    total_context = users * context
    f = fit(model, quant, total_context, rig, kv_type)
    cpu_moe = None
    if f.verdict in (Verdict.PARTIAL_OFFLOAD, Verdict.CPU_ONLY):
        cpu_moe = expert_offload(model, quant, total_context, rig, kv_type)
    if cpu_moe:
        in_ram = expert_weight_bytes(model, quant) / GIB * cpu_moe / model.layers
        f = f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD, "gpu_layers": f.total_layers,
                                 "ram_needed_gib": in_ram + CPU_OVERHEAD_GIB})
        single = speed(model, quant, f, rig, catalog, cpu_expert_fraction=cpu_moe / model.layers)
        how = say(lang, "serve_offload_experts", layers=cpu_moe, total=model.layers)
    elif f.verdict == Verdict.PARTIAL_OFFLOAD:
        single = speed(model, quant, f, rig, catalog)
        how = say(lang, "serve_offload_layers", layers=f.gpu_layers, total=f.total_layers)
    else:
        return None
    info = serving(model, quant, rig, users, context, kv_type, single, offloaded=True)
    weights = weights_bytes(model, quant) / GIB
    lines = [say(lang, "serve_offload", headline=say(lang, "headline_partial_offload"), users=users,
                 context=context, model=model.name, quant=quant.name, where=rig.describe(lang),
                 weights=weights, kv=info.kv_cache_gib, per_slot=info.kv_cache_per_user_gib,
                 total=f.total_gib, budget=f.gpu_budget_gib, ram_needed=f.ram_needed_gib, ram=rig.ram_gib, how=how)]
    if info.aggregate_tokens_per_s:
        lines.append(say(lang, "serve_speed", users=users, aggregate=tps(info.aggregate_tokens_per_s),
                         per_user=tps(info.per_user_tokens_per_s)))
    if model.is_moe:
        lines.append(say(lang, "moe", total=model.params_b, active=model.active_params_b))
    lines.append(_assumptions(notes + rig.assumptions, lang))
    command = llama_server(model, quant, rig, context=context, gpu_layers=f.gpu_layers, total_layers=f.total_layers,
                           kv_type=kv_type, cpu_moe_layers=cpu_moe, parallel=users)
    lines.append(say(lang, "command", command=command))
    rounded = _rounded_serving(info)
    return SizingResult(
        intent=Intent.SERVE, hardware=rig.hardware_info(), model=_model_info(model, quant, context),
        verdict=Verdict.PARTIAL_OFFLOAD, memory=_memory_info(f, f.available_gib), speed=_rounded(single),
        serving=rounded, command=command, answer="\n".join(line for line in lines if line))


def _serve(query: Query, catalog: Catalog) -> SizingResult:
    """N users × context each: KV cache per llama.cpp slot; how many users fit."""
    model, quant, context, notes, rig = _needs_model_and_rig(query, catalog)
    lang = query.lang
    kv_type = query.kv_cache_type or "f16"
    single_fit = fit(model, quant, context, rig, kv_type)
    single = speed(model, quant, single_fit, rig, catalog) if single_fit.verdict != Verdict.DOES_NOT_FIT else None
    probe = serving(model, quant, rig, 1, context, kv_type, single)
    users = query.users or probe.max_users
    info = serving(model, quant, rig, users, context, kv_type, single)
    weights = weights_bytes(model, quant) / GIB
    from rules.context import memory_for_model_gib

    budget, overhead = memory_for_model_gib(rig)
    total = weights + info.kv_cache_gib + overhead
    where = rig.describe(lang)
    fits_all = users > 0 and total <= budget
    verdict = (Verdict.FITS_GPU if rig.gpus else Verdict.CPU_ONLY) if fits_all else Verdict.DOES_NOT_FIT
    if query.users and not fits_all and rig.gpus and not rig.unified_memory:
        # the GPUs alone do not hold every slot, but llama.cpp keeps the rest in system RAM
        # (-ngl, or --n-cpu-moe for a MoE) as it does for one user: say that, not "no"
        if offloaded := _serve_offloaded(model, quant, rig, users, context, kv_type, catalog, notes, lang):
            return offloaded
    lines = []
    if query.users:
        key = "serve_fits" if fits_all else "serve_no"
        lines.append(say(lang, key, headline=say(lang, f"headline_{'fits_gpu' if fits_all else 'does_not_fit'}"),
                         users=users, context=context, model=model.name, quant=quant.name, where=where,
                         weights=weights, kv=info.kv_cache_gib, per_slot=info.kv_cache_per_user_gib,
                         overhead=overhead, total=total, budget=budget))
    lines.append(say(lang, "serve_max_users", context=context, where=where, users=info.max_users,
                     per_slot=info.kv_cache_per_user_gib, model=model.name, quant=quant.name))
    if fits_all and info.aggregate_tokens_per_s:
        lines.append(say(lang, "serve_speed", users=users, aggregate=tps(info.aggregate_tokens_per_s),
                         per_user=tps(info.per_user_tokens_per_s)))
    lines.append(_assumptions(notes + rig.assumptions, lang))
    command = None
    if fits_all:
        command = llama_server(model, quant, rig, context=context, gpu_layers=None, total_layers=model.layers,
                               kv_type=kv_type, parallel=users)
        lines.append(say(lang, "command", command=command))
    rounded = _rounded_serving(info)
    return SizingResult(
        intent=Intent.SERVE, hardware=rig.hardware_info(), model=_model_info(model, quant, context),
        verdict=verdict,
        memory=MemoryInfo(weights_gib=round(weights, 2), kv_cache_gib=round(info.kv_cache_gib, 2),
                          overhead_gib=round(overhead, 2), total_gib=round(total, 2),
                          available_gib=round(budget, 2), gpu_layers=model.layers if rig.gpus else None,
                          total_layers=model.layers),
        speed=_rounded(single), serving=rounded, command=command,
        answer="\n".join(line for line in lines if line),
    )
