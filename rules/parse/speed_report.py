"""A user's speed report (/report) → the configurations and decode tokens/s it states.

Two shapes: a typed line ("RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s"; the slash
command builds the same line from its options) and a pasted llama-bench table, whose
decode (tg) rows become reports. Hardware, model and quant are read by `rules.parse`,
so an unknown GPU or model gets its "did you mean" sentence and nothing is stored.
Nothing is guessed: a report without a quant, a card (a bare "12GB VRAM") or a speed
is refused with the sentence saying what is missing. Pure; never raises.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from pydantic import BaseModel

from rules.catalog import Catalog, default_catalog
from rules.parse import parse
from rules.parse.bench import cut_llama_bench
from rules.parse.report_words import (
    FILLED_DROP,
    gpu_count_in_words,
    not_comparable,
    said_empty_context,
    speeds_in,
    without_speeds,
)
from rules.phrases import language_of, say
from rules.schema import BenchRow, Query, SpeedInfo, Verdict

MAX_BENCH_ROWS = 20  # one paste stores at most this many configurations
PARAMS_TOLERANCE = 0.15  # the table's parameter count vs the named model's

class Candidate(BaseModel):
    """One configuration a report states, checked against RigBot's prediction."""

    device: str
    gpu_count: int  # 0: the device is a CPU
    model: str
    quant: str
    context: int | None = None
    tokens_per_s: float
    source: str  # typed | llama-bench
    predicted: SpeedInfo

    @property
    def where(self) -> str:
        return f"{self.gpu_count}× {self.device}" if self.gpu_count > 1 else self.device


class ReadReport(BaseModel):
    lang: str = "en"
    candidates: list[Candidate] = []
    notes: list[str] = []  # what was skipped or assumed, as sentences
    error: str | None = None  # a sentence: why nothing can be stored


def read_report(text: str, tokens_per_s: float | None = None, catalog: Catalog | None = None) -> ReadReport:
    catalog = catalog or default_catalog()
    text = text or ""
    lang = language_of(text)
    try:
        rest, rows = cut_llama_bench(text)
        if rows:
            return _from_bench(rest, rows, lang, catalog)
        return _from_typed(text, tokens_per_s, lang, catalog)
    except Exception as exc:  # a report must never take the bot down
        return ReadReport(lang=lang, error=say(lang, "error_parse_failed", kind=type(exc).__name__))


def _refuse(lang: str, message: str) -> ReadReport:
    return ReadReport(lang=lang, error=f"{message} {say(lang, 'report_nothing_stored')}")


def _from_typed(text: str, tokens_per_s: float | None, lang: str, catalog: Catalog) -> ReadReport:
    from rules.user_measurements import verdict_of

    if problem := not_comparable(text, lang):
        return _refuse(lang, problem)
    speeds = speeds_in(text)
    rest = without_speeds(text)
    if tokens_per_s is None:
        if len(set(speeds)) > 1:
            return _refuse(lang, say(lang, "report_error_several_speeds",
                                     speeds=", ".join(f"{s:g}" for s in speeds)))
        if not speeds:
            return _refuse(lang, say(lang, "report_error_no_speed"))
        tokens_per_s = speeds[0]
    query = parse(rest, catalog)
    if query.error:
        return _refuse(lang, query.error_message or query.error)
    device, count, error = _device(query, lang)
    if error:
        return _refuse(lang, error)
    if error := _apple_memory_guessed(query, device, lang, catalog):
        return _refuse(lang, error)
    stated = gpu_count_in_words(rest)
    if count and stated and stated != count:  # "RTX 3090 ... with 2 GPUs": not one card, not a guess
        return _refuse(lang, say(lang, "report_error_gpu_count", stated=stated, device=device))
    model, quant, error = _model_quant(query, None, lang, catalog)
    if error:
        return _refuse(lang, error)
    if query.quant and (error := _quant_family_only(rest, query.quant, lang, catalog)):
        return _refuse(lang, error)
    candidate, error = _checked(device, count, model, quant, query.context, tokens_per_s, "typed", lang, catalog)
    if error:
        return _refuse(lang, error)
    full = candidate.predicted.full_context_tokens_per_s
    if query.context and full and full < FILLED_DROP * candidate.predicted.expected_tokens_per_s \
            and not said_empty_context(text):
        # "at 32k": a 32k window with a short prompt runs at the empty-context speed, 32k
        # tokens filled far slower; compared with the first, the second would drag the class down
        return _refuse(lang, say(lang, "report_error_context", context=f"{query.context:,}",
                                 empty=f"{candidate.predicted.expected_tokens_per_s:.0f}", full=f"{full:.0f}"))
    notes: list[str] = []
    if not count:  # on a CPU the speed is the RAM's: the report is compared with the CPU's usual RAM
        ram_note, error = _cpu_ram(query, device, model, quant, lang, catalog)
        if error:
            return _refuse(lang, error)
        notes.append(ram_note)
    if count and verdict_of(device, count, model, quant, query.context, catalog) == Verdict.PARTIAL_OFFLOAD:
        # part of the model runs from RAM: the figure rests on a RAM speed and -ngl the
        # report does not give (llama-bench rows with -ngl below the layers are refused alike)
        return _refuse(lang, say(lang, "report_error_partial", model=model, quant=quant, device=candidate.where))
    notes = list(query.assumptions) + notes
    if query.unread:
        notes.append(say(lang, "not_understood", items=say(lang, "list_sep").join(query.unread)))
    return ReadReport(lang=lang, candidates=[candidate], notes=notes)


def _device(query: Query, lang: str) -> tuple[str, int, str | None]:
    if query.vram_only or (not query.gpu_names and not query.cpu_name):
        return "", 0, say(lang, "report_error_no_device")
    if len(query.gpu_names) > 1:
        return "", 0, say(lang, "report_error_mixed")
    if query.gpu_names:
        return query.gpu_names[0], query.gpu_counts[0] if query.gpu_counts else 1, None
    return query.cpu_name or "", 0, None


def _apple_memory_guessed(query: Query, device: str, lang: str, catalog: Catalog) -> str | None:
    """A Mac whose memory size was assumed, where that size decides the bandwidth (an M3 Max
    has 300 or 400 GB/s): the report would be compared with a guessed chip. The sentence, or None."""
    gpu = next((g for g in catalog.gpus if g.name == device), None)
    if gpu is None or gpu.vendor != "apple":
        return None
    variants = [g for g in catalog.gpus if g.vendor == "apple" and g.chip == gpu.chip]
    assumed = say(lang, "note_apple_memory_assumed", chip=gpu.chip, memory=gpu.vram_gib,
                  sizes=", ".join(f"{g.vram_gib:g}" for g in variants))
    if assumed not in query.assumptions or len({g.bandwidth_gbs for g in variants}) < 2:
        return None
    return say(lang, "report_error_apple_memory", chip=gpu.chip,
               sizes=", ".join(f"{g.vram_gib:g} GB ({g.bandwidth_gbs:g} GB/s)" for g in variants),
               example=f"{gpu.chip} {variants[-1].vram_gib:g}GB")


_FLOAT_NAMES = {"F16": ("f16", "fp16", "float16", "half"), "BF16": ("bf16", "bfloat16"), "F32": ("f32", "fp32", "float32")}


def _squeezed(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.lower())


def _quant_family_only(text: str, quant: str, lang: str, catalog: Catalog) -> str | None:
    """"q4", "4-bit", "int4": the parser's reading (Q4_K_M, Q4_0) is a convention, and Q4_0
    and Q4_K_M differ by ~8 % in size and so in speed: a report is compared with the exact
    quant or none. The sentence, or None when the text names it (or its family has one)."""
    squeezed = _squeezed(text)
    if _squeezed(quant) in squeezed or any(n in squeezed for n in _FLOAT_NAMES.get(quant, ())):
        return None
    family = re.match(r"I?Q\d", quant)
    options = [q.name for q in catalog.quants if family and q.name.startswith(family.group(0))]
    if family and len(options) <= 1:
        return None  # "q8" is Q8_0, "q6" is Q6_K: nothing else to mean
    return say(lang, "report_error_quant_family", quant=quant, options=", ".join(options or [quant]))


def _cpu_ram(query: Query, device: str, model: str, quant: str, lang: str,
             catalog: Catalog) -> tuple[str, str | None]:
    """A CPU report is learned against the CPU's usual memory (reports keep no RAM): the
    note saying which, or the sentence refusing a report that names other memory."""
    from rules.rig import rig_from_query
    from rules.user_measurements import usual_ram_bandwidth

    usual = usual_ram_bandwidth(device, catalog)
    cpu = next((c for c in catalog.cpus if c.name == device), None)
    kind = f"{cpu.memory_channels}× {cpu.ram_kind}" if cpu else ""
    if query.ram_kind or query.ram_channels or query.ram_bus_bits:
        own = rig_from_query(query, catalog).ram_bandwidth_gbs
        if abs(own - usual) > 0.05 * usual:
            return "", say(lang, "report_error_cpu_ram", cpu=device, usual=f"{usual:g}", kind=kind, own=f"{own:g}")
    return say(lang, "report_cpu_ram_note", cpu=device, usual=f"{usual:g}", kind=kind), None


def _model_quant(query: Query, row: BenchRow | None, lang: str, catalog: Catalog) -> tuple[str, str, str | None]:
    if not query.model_name:
        return "", "", say(lang, "report_error_no_model")
    quant = (row.quant if row else None) or query.quant or catalog.model(query.model_name).default_quant
    if not quant:
        return "", "", say(lang, "report_error_no_quant")
    return query.model_name, quant, None


def _checked(device: str, count: int, model: str, quant: str, context: int | None, tokens_per_s: float,
             source: str, lang: str, catalog: Catalog) -> tuple[Candidate | None, str | None]:
    """The candidate with RigBot's prediction, or the sentence why the figure cannot stand."""
    from rules.user_measurements import check_measurement, predict

    where = f"{count}× {device}" if count > 1 else device
    predicted = predict(device, count, model, quant, context, catalog)
    if predicted is None:
        return None, say(lang, "report_error_does_not_fit", model=model, quant=quant, device=where)
    problem = check_measurement(tokens_per_s, predicted)
    if problem:
        return None, say(lang, problem, tps=f"{tokens_per_s:g}", model=model, quant=quant, device=where,
                         ceiling=f"{predicted.theoretical_max_tokens_per_s:.0f}")
    return Candidate(device=device, gpu_count=count, model=model, quant=quant, context=context,
                     tokens_per_s=tokens_per_s, source=source, predicted=predicted), None


def _from_bench(rest: str, rows: list[BenchRow], lang: str, catalog: Catalog) -> ReadReport:
    """tg rows at an empty context become reports (the fastest per configuration: llama-bench
    runs often sweep settings); pp rows measure prefill, which reports do not refine."""
    around = parse(rest, catalog) if rest.strip() else Query(lang=lang)
    if around.error:
        return _refuse(lang, around.error_message or around.error)
    notes: list[str] = []
    skipped_pp = sum(r.is_prefill or (r.n_prompt > 0 and r.n_gen > 0) for r in rows)
    if skipped_pp:
        notes.append(say(lang, "report_bench_pp_skipped", rows=skipped_pp))
    deep = sum(r.is_decode and r.n_depth > 0 for r in rows)
    if deep:
        notes.append(say(lang, "report_bench_depth_skipped", rows=deep))
    best: dict[tuple, Candidate] = {}
    errors: list[str] = []
    for row in [r for r in rows if r.is_decode and not r.n_depth][:MAX_BENCH_ROWS]:
        candidate, error = _bench_row(row, around, lang, catalog)
        if error:
            errors.append(error)
            continue
        key = (candidate.device, candidate.gpu_count, candidate.model, candidate.quant)
        if key not in best or candidate.tokens_per_s > best[key].tokens_per_s:
            best[key] = candidate
    if not best:
        reason = errors[0] if errors else say(lang, "report_bench_no_tg")
        return _refuse(lang, reason)
    notes += sorted(set(errors))
    return ReadReport(lang=lang, candidates=list(best.values()), notes=notes)


def _bench_row(row: BenchRow, around: Query, lang: str, catalog: Catalog) -> tuple[Candidate | None, str | None]:
    query = around
    if row.on_cpu:  # the weights were on the CPU: the report is the CPU's, whatever card was named
        cpu = around.cpu_name or (parse(row.cpu_info, catalog).cpu_name if row.cpu_info else None)
        query = around.model_copy(update={"cpu_name": cpu, "gpu_names": [], "gpu_counts": [], "vram_only": False})
    else:
        found = _gpus_of(row.gpu_info, catalog) if row.gpu_info else None
        if found and found.error:
            return None, found.error_message
        if found and found.gpu_names and around.gpu_names and found.gpu_names[0] != around.gpu_names[0]:
            return None, say(lang, "report_bench_device_differs", table=found.gpu_names[0], named=around.gpu_names[0])
        if found and found.gpu_names and not around.gpu_names:
            query = around.model_copy(update={"gpu_names": found.gpu_names[:1], "gpu_counts": found.gpu_counts[:1]})
        if not query.gpu_names:  # a GPU run: a CPU named beside it is not where it ran
            return None, say(lang, "report_error_no_device")
        if query.gpu_names and not _backend_fits(row.backend, catalog.gpu(query.gpu_names[0]).vendor):
            return None, say(lang, "report_bench_backend_differs", backend=row.backend, device=query.gpu_names[0])
    from_file = _model_from_filename(row.model_filename, row.quant, catalog) if row.model_filename else None
    if from_file and query.model_name and from_file != query.model_name:
        return None, say(lang, "report_bench_model_differs", table=from_file, named=query.model_name)
    if not query.model_name and from_file:
        query = query.model_copy(update={"model_name": from_file})
    if query.error:
        return None, query.error_message
    device, count, error = _device(query, lang)
    if error:
        return None, error
    if not query.model_name:
        return None, say(lang, "report_bench_name_model", words=row.model_words)
    model, quant, error = _model_quant(query, row, lang, catalog)
    if error:
        return None, error
    spec = catalog.model(model)
    if row.params_b and abs(row.params_b - spec.params_b) > PARAMS_TOLERANCE * spec.params_b:
        return None, say(lang, "report_bench_params_differ", params=f"{row.params_b:g}", model=model)
    if row.n_cpu_moe:
        return None, say(lang, "report_bench_cpu_moe", layers=row.n_cpu_moe)
    if row.gpu_layers is not None and 0 <= row.gpu_layers < spec.layers and not row.on_cpu:
        return None, say(lang, "report_bench_partial", ngl=row.gpu_layers, layers=spec.layers)
    if not count:  # a CPU run beside other named memory than the CPU's usual: see _cpu_ram
        _, error = _cpu_ram(query, device, model, quant, lang, catalog)
        if error:
            return None, error
    return _checked(device, count, model, quant, None, row.tokens_per_s, "llama-bench", lang, catalog)


def _gpus_of(gpu_info: str, catalog: Catalog) -> Query:
    """llama-bench's gpu_info ("NVIDIA GeForce RTX 3090, NVIDIA GeForce RTX 3090") as
    one card kind and its count; several kinds are a mixed rig (error)."""
    names = [parse(part, catalog) for part in gpu_info.split(",") if part.strip()]
    kinds = {n.gpu_names[0] for n in names if n.gpu_names}
    if len(kinds) > 1:
        return Query(error="mixed", error_message=say(language_of(gpu_info), "report_error_mixed"))
    if not kinds or len(kinds) == 1 and any(not n.gpu_names for n in names):
        return Query()  # not a card RigBot knows: the device must be named in words
    return Query(gpu_names=[kinds.pop()], gpu_counts=[len(names)])


_BACKEND_VENDORS = {"CUDA": {"nvidia"}, "METAL": {"apple"}, "ROCM": {"amd"}, "HIP": {"amd"}, "SYCL": {"intel"}}


def _backend_fits(backend: str | None, vendor: str) -> bool:
    """Whether llama-bench's backend column can have run on a card of this vendor
    (Vulkan and unknown backends run anywhere)."""
    for name in (backend or "").upper().split(","):
        vendors = _BACKEND_VENDORS.get(name.strip())
        if vendors and vendor not in vendors:
            return False
    return True


def _model_from_filename(path: str, quant: str | None, catalog: Catalog) -> str | None:
    """"models/Qwen2.5-7B-Instruct-Q4_K_M.gguf" → "Qwen2.5 7B" (the catalog's name), or None."""
    stem = PurePath(path).name.removesuffix(".gguf")
    if quant:
        stem = re.sub(re.escape(quant), " ", stem, flags=re.IGNORECASE)
    words = re.sub(r"[-_]+", " ", stem)
    found = parse(words, catalog)
    return found.model_name if not found.error else None
