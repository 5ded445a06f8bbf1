"""A pasted run log compared with RigBot's own prediction: is this speed normal, why did
it fall back to the CPU, what -ngl should I use?

Reads the `RunLog` the parser took from the paste (rules/parse/run_log.py) and the
hardware and model the log (or the question) names. Names only the causes the log shows,
each with the log line that shows it: partial offload, KV cache in system RAM, CPU
fallback, context divided across `-np` slots, and measured speed against the predicted
range. Facts the log lacks are said, never assumed. A model the catalog lacks is said
and sized from the log's own figures, never swapped for another. Pure."""

from __future__ import annotations

import math
import re

from rules.catalog import Catalog, ModelSpec, QuantType
from rules.command import ALL_LAYERS, gguf_name, llama_server
from rules.engine import expert_offload
from rules.gguf_file import match_file_name
from rules.memory import GPU_OVERHEAD_GIB, Fit, effective_bits_per_weight, fit, weights_bytes
from rules.phrases import say, tps
from rules.rig import Rig, rig_from_query
from rules.schema import (
    GB,
    GIB,
    Diagnosis,
    DiagnosisCause,
    Intent,
    ModelInfo,
    Query,
    RunLog,
    SizingResult,
    Verdict,
)
from rules.speed import expert_weight_bytes, gpu_class, speed, speed_from_bandwidth

MIB = 1024.0  # MiB per GiB
COMPUTE_RESERVE_GIB = 0.5  # compute buffers when the log does not print them



class _Setup:
    """What the prediction rests on: the catalog model and quant (or None), the rig (or
    None when the log's GPU is unknown), and why a prediction is missing."""

    def __init__(self, query: Query, catalog: Catalog) -> None:
        log = query.run_log
        self.model: ModelSpec | None = catalog.model(query.model_name) if query.model_name else None
        quants = {q.name: q for q in catalog.quants}
        name = query.quant or log.ftype
        gguf_path = query.gguf_path or log.model_file
        if self.model is None and gguf_path:  # a file named in the paste: by its name, never opened
            match = match_file_name(gguf_path, catalog)
            self.model = catalog.model(match.model) if match.model else None
            name = name or match.quant
        if name is None and gguf_path:
            # a quant the catalog lacks ("Q4_K_L") is named as the file spells it, never "?"
            spelled = re.search(r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32)(?![A-Za-z0-9])", gguf_path,
                                re.IGNORECASE)
            name = spelled.group(1).upper() if spelled else None
        self.quant: QuantType | None = quants.get(name) if name else None
        if self.model is not None and self.quant is None and self.model.default_quant and not name:
            self.quant = quants.get(self.model.default_quant)
        self.why_not: list[str] = []
        self.said: list[str] = []  # what the answer must say even when a prediction comes from the log's sizes
        lang = query.lang
        if log.runs > 1:
            self.said.append(say(lang, "diag_runs", runs=log.runs))
        # every layer offloaded, yet weights kept in CPU buffers (-ot exps=CPU, --n-cpu-moe)
        self.ram_weights_gib = _weights_in_ram_gib(log)
        self.cpu_expert_fraction = 0.0
        if self.model is not None and (other := _other_model(log, self.model)):
            # a distill or fine-tune named after another model ("DeepSeek-R1-0528-Qwen3-8B"): the
            # log's parameter count decides, never the catalog model its name resembles
            self.said.append(say(lang, "diag_other_model", model=log.model_name or "?", params=other,
                                 catalog=self.model.name, catalog_params=f"{self.model.params_b:g}"))
            self.model, self.quant = None, None
        if self.model is None:
            self.why_not.append(say(lang, "diag_why_model", model=log.model_name) if log.model_name
                                else say(lang, "diag_why_no_model") if log.devices or query.gpu_names
                                else say(lang, "diag_why_nothing"))
        elif self.quant is None:
            self.why_not.append(say(lang, "diag_why_quant", quant=name or "?"))
        laptop = [d.name for d in log.devices if "laptop" in d.name.lower() or "mobile" in d.name.lower()]
        laptop += [one.strip() for m in log.bench if m.gpu_info and not m.on_cpu for one in m.gpu_info.split(",")
                   if re.search(r"laptop|mobile", one, re.IGNORECASE) and one.strip() not in laptop]
        self.unknown_gpu = laptop[0] if laptop and not query.gpu_names else None
        if self.unknown_gpu:
            self.why_not.append(say(lang, "diag_why_gpu", gpu=self.unknown_gpu))
        self.rig: Rig | None = None if self.unknown_gpu else rig_from_query(query, catalog)
        if self.rig is not None and (ran := _log_gpus_not_asked(query, catalog)):
            # the question names one card, the log ran on another: its speed says nothing of the one asked about
            self.said.append(say(lang, "diag_other_gpu", ran=ran, asked=", ".join(query.gpu_names)))
            self.why_not.append(say(lang, "diag_why_other_gpu", ran=ran))
            self.rig = None
        elif (self.rig is not None and not self.rig.gpus and not self.rig.unified_memory
              and not (query.cpu_name or query.ram_gib or query.ram_kind or query.cpu_only)):
            # no GPU, and neither the question nor the log names the CPU or the RAM: a prediction
            # from guessed RAM would make "normal" or "faster" meaningless
            self.why_not.append(say(lang, "diag_why_no_hardware"))
            self.rig = None
        # the context the KV cache was allocated for: all slots together
        self.context = log.n_ctx or query.context or 4096
        self.kv_type = log.kv_type_k if log.kv_type_k in ("f16", "q8_0", "q4_0") else "f16"
        # the layer split: the log's "offloaded N/M", else what -ngl asks of a known model
        # (llama.cpp counts the output layer too: 33 for a 32-layer model)
        self.layers: tuple[int, int] | None = None
        self.layers_evidence = log.evidence.get("offloaded", "")
        if log.gpu_layers is not None and log.total_layers:
            self.layers = (log.gpu_layers, log.total_layers)
        elif log.requested_gpu_layers is not None and self.model is not None:
            total = self.model.layers + 1
            asked = log.requested_gpu_layers
            self.layers = (total if asked < 0 else min(asked, total), total)
            self.layers_evidence = log.evidence.get("requested", "")

    @property
    def can_predict(self) -> bool:
        return self.model is not None and self.quant is not None and self.rig is not None


def diagnose(query: Query, catalog: Catalog) -> SizingResult:
    log = query.run_log
    lang = query.lang
    s = _Setup(query, catalog)
    d = Diagnosis(verdict="no_speed", measured_tokens_per_s=log.eval_tokens_per_s)
    if log.bench and not log.eval_tokens_per_s:
        return _bench(query, s, catalog, d)
    lines = [_facts_line(log, lang), *s.said]
    if log.eval_tokens_per_s:
        prompt = say(lang, "diag_measured_prompt", tps=tps(log.prompt_tokens_per_s)) if log.prompt_tokens_per_s else ""
        lines.append(say(lang, "diag_measured", tps=tps(log.eval_tokens_per_s), tokens=log.eval_tokens or "?",
                         prompt=prompt))
    as_run = _as_run_fit(log, s)
    if s.can_predict and as_run is None:
        s.why_not.append(say(lang, "diag_why_dense_in_ram", model=s.model.name) if s.ram_weights_gib else
                         say(lang, "diag_why_no_fit", model=s.model.name, quant=s.quant.name,
                             where=s.rig.describe(lang)))
    if s.can_predict and as_run is not None:
        info = speed(s.model, s.quant, as_run, s.rig, catalog, cpu_expert_fraction=s.cpu_expert_fraction)
        if info is not None:
            d.predicted_tokens_per_s = round(info.expected_tokens_per_s, 1)
            d.predicted_range = [round(v, 1) for v in info.expected_range]
            what = say(lang, "what", model=s.model.name, quant=s.quant.name, context=s.context)
            key = "diag_predicted" if s.layers is not None else "diag_predicted_own"
            lines.append(say(lang, key, what=what, where=s.rig.describe(lang),
                             tps=tps(info.expected_tokens_per_s), low=tps(info.expected_range[0]),
                             high=tps(info.expected_range[1])))
    if s.model is None and log.model_name and log.model_size_gib and log.total_layers:
        lines.append(say(lang, "diag_model_unknown", model=log.model_name, size=log.model_size_gib,
                         layers=log.total_layers))
        _predict_from_log_sizes(log, s, catalog, d, lang, lines)

    d.verdict = _verdict(d, s, lang, lines)
    causes: list[DiagnosisCause] = []
    uses_ram = as_run is not None and as_run.verdict != Verdict.FITS_GPU  # the prediction leans on the RAM
    corrected = _Corrected(s, log)
    _cpu_fallback(log, s, lang, causes)
    _partial_offload(log, s, lang, causes, corrected, catalog, d)
    _weights_in_ram(log, s, lang, causes)
    _kv_on_cpu(log, lang, causes)
    _np_slots(log, lang, causes, corrected)
    if d.verdict == "slow" and not any(c.code in ("kv_on_cpu", "cpu_fallback") for c in causes):
        # the prediction already is for the layout the log shows (partial, CPU): only a KV
        # cache in RAM, which it does not model, explains a shortfall below it; a CPU fallback
        # found above (a build without the GPU's backend) is the cause, not "no cause"
        sentence = say(lang, "diag_cause_slow_unexplained")
        if (cpu := _cpu_only_speed(s, catalog)) is not None and log.eval_tokens_per_s <= cpu.expected_range[1] * 1.25:
            # a hint, not a claim: the log does not show where the layers went
            sentence += " " + say(lang, "diag_like_cpu", low=tps(cpu.expected_range[0]), high=tps(cpu.expected_range[1]))
            uses_ram = True
        causes.append(DiagnosisCause(code="slower_than_predicted", evidence=log.evidence.get("eval_tokens_per_s", ""),
                                     sentence=sentence))
    d.causes = causes
    for cause in causes:
        lines.append(cause.sentence)
        if cause.evidence:
            lines.append(say(lang, "diag_evidence", line=cause.evidence[:200]))
    d.command = corrected.command(s, log)
    if d.command and causes:
        lines.append(say(lang, "diag_command", command=d.command))
    d.missing = _missing(log, s, lang)
    if d.missing:
        lines.append(say(lang, "diag_missing", items=say(lang, "list_sep").join(d.missing)))
    notes = list(query.assumptions)
    if s.rig is not None and d.predicted_range is not None and uses_ram:
        # the RAM guesses matter only to a prediction with layers on the CPU
        notes += [a for a in s.rig.assumptions if a not in notes]
    if notes:
        lines.append(say(lang, "assumptions", notes=say(lang, "list_sep").join(notes)))
    model = None
    if s.model is not None and s.quant is not None:
        model = ModelInfo(name=s.model.name, params_b=s.model.params_b, quant=s.quant.name,
                          bits_per_weight=round(effective_bits_per_weight(s.model, s.quant), 2), context=s.context)
    return SizingResult(
        intent=Intent.DIAGNOSE,
        hardware=s.rig.hardware_info() if s.rig is not None and s.rig.gpus else None,
        model=model,
        verdict=_layout_verdict(log),
        diagnosis=d,
        command=d.command,
        answer="\n".join(line for line in lines if line),
    )


def _bench(query: Query, s: _Setup, catalog: Catalog, d: Diagnosis) -> SizingResult:
    """A llama-bench table: each generation row against its prediction (rules/diagnose_bench.py)."""
    from rules.diagnose_bench import bench_rows

    lang = query.lang
    d.rows, lines = bench_rows(query, s, catalog)
    judged = [r for r in d.rows if r.verdict != "no_prediction"]
    if s.model is None and d.rows:
        lines.insert(0, say(lang, "diag_bench_sizes", model=d.rows[0].model))
    verdicts = {r.verdict for r in judged}
    if not d.rows:
        d.verdict = "no_speed"
        lines.append(say(lang, "diag_bench_no_tg"))
    elif not judged:
        d.verdict = "no_prediction"
    else:  # the worst row speaks for the table
        d.verdict = next(v for v in ("slow", "normal", "fast") if v in verdicts)
    if d.rows and not judged:
        why = [w for w in s.why_not if w != say(lang, "diag_why_nothing")]  # a table never names a model
        if any(m.on_cpu for m in query.run_log.bench):
            why.append(say(lang, "diag_why_bench_cpu"))
        elif (s.rig is None or not s.rig.gpus) and not s.unknown_gpu:
            why.append(say(lang, "diag_why_bench_gpu"))
        if why:  # else the lines above say why (another model, several models)
            lines.append(say(lang, "diag_verdict_no_prediction", why=say(lang, "list_sep").join(dict.fromkeys(why))))
    notes = list(query.assumptions)
    if judged and s.rig is not None and any(r.gpu_layers is not None and 0 < r.gpu_layers < 99 for r in d.rows):
        notes += [a for a in s.rig.assumptions if a not in notes]  # partial rows lean on the RAM
    if notes:
        lines.append(say(lang, "assumptions", notes=say(lang, "list_sep").join(notes)))
    return SizingResult(intent=Intent.DIAGNOSE, diagnosis=d, answer="\n".join(lines),
                        hardware=s.rig.hardware_info() if s.rig is not None and s.rig.gpus else None)


# what the log shows -----------------------------------------------------------------
def _other_model(log: RunLog, model: ModelSpec) -> str | None:
    """The log's parameter count ("8.19") when it is not the catalog model's (a fifth off)."""
    if log.model_params_b and not 0.8 <= log.model_params_b / model.params_b <= 1.25:
        return f"{log.model_params_b:g}"
    return None


def _apple_chip(name: str) -> str | None:
    m = re.search(r"\bM(\d)(?:\s+(Pro|Max|Ultra))?\b", name, re.IGNORECASE)
    return f"m{m.group(1)} {(m.group(2) or '').lower()}".strip() if m and "apple" in name.lower() else None


def _log_gpus_not_asked(query: Query, catalog: Catalog) -> str | None:
    """The log's GPUs, when they are not the cards the question names (None when they are,
    or when the log names no discrete GPU)."""
    from rules.parse.hardware import gpu_from_tool
    from rules.parse.reading import Reading

    log = query.run_log
    if not query.gpu_names:
        return None
    chips = {_apple_chip(d.name) for d in log.devices if d.backend == "Metal"} - {None}
    if chips:  # a Mac: its chip ("Apple M4") against the one asked about ("Apple M2 Max 32GB")
        asked_chips = {_apple_chip(n) for n in query.gpu_names}
        return None if chips == asked_chips else ", ".join(d.name for d in log.devices if d.backend == "Metal")
    ran = [d.name for d in log.devices if d.backend not in ("CPU", "Metal")]
    if not ran:
        return None
    asked = {frozenset(catalog.gpu(n).keys) for n in query.gpu_names}
    found: set[frozenset] = set()
    for name in ran:
        r = Reading(lang=query.lang)
        if not re.search(r"laptop|notebook|mobile|max-q", name, re.IGNORECASE):
            gpu_from_tool(r, catalog, name, None, 1)
        names = r.fields.get("gpu_names") or []
        if r.failed or not names:
            return ", ".join(ran)  # a card the catalog lacks (or a laptop card): not the one asked about
        found |= {frozenset(catalog.gpu(n).keys) for n in names}
    if len(ran) != sum(query.gpu_counts):  # "my RTX 3090" with a log of two: not the rig that ran
        return ", ".join(ran)
    return None if found == asked else ", ".join(ran)


def _where(buffers: dict[str, float]) -> str:
    return " + ".join(f"{name} {mib:,.0f} MiB" for name, mib in buffers.items())


def _facts_line(log: RunLog, lang: str) -> str:
    facts = []
    for device in log.devices:
        key = "diag_fact_device_free" if device.free_mib else "diag_fact_device"
        facts.append(say(lang, key, backend=device.backend, name=device.name, free=device.free_mib or 0))
    if not log.devices and not log.backends and (log.model_buffers_mib or log.cpu_only_build):
        facts.append(say(lang, "diag_fact_cpu_only"))
    if log.gpu_layers is not None and log.total_layers:
        facts.append(say(lang, "diag_fact_layers", n=log.gpu_layers, m=log.total_layers))
    if log.model_buffers_mib:
        facts.append(say(lang, "diag_fact_weights", where=_where(log.model_buffers_mib)))
    if log.kv_buffers_mib:
        kind = log.kv_type_k if log.kv_type_k == log.kv_type_v else f"K {log.kv_type_k}, V {log.kv_type_v}"
        facts.append(say(lang, "diag_fact_kv", where=_where(log.kv_buffers_mib), kind=kind or "?"))
    if log.n_ctx:
        facts.append(say(lang, "diag_fact_ctx", ctx=log.n_ctx))
    if log.n_seq_max and log.n_seq_max > 1 and log.n_ctx_per_seq:
        facts.append(say(lang, "diag_fact_slots", slots=log.n_seq_max, per=log.n_ctx_per_seq))
    if log.flash_attn:
        facts.append(say(lang, "diag_fact_fa", fa=log.flash_attn))
    return say(lang, "diag_title", tool=log.tool, facts=say(lang, "list_sep").join(facts)) if facts else ""


def _cpu_only_speed(s: _Setup, catalog: Catalog):
    """The same model with no layer on the GPU: what a CPU fallback would give."""
    if not (s.can_predict and s.rig.gpus) or s.rig.unified_memory:
        return None
    f = fit(s.model, s.quant, s.context, s.rig, s.kv_type)
    if f.verdict == Verdict.DOES_NOT_FIT:
        return None
    return speed(s.model, s.quant, f.model_copy(update={"verdict": Verdict.CPU_ONLY, "gpu_layers": 0}), s.rig, catalog)


def _predict_from_log_sizes(log: RunLog, s: _Setup, catalog: Catalog, d: Diagnosis, lang: str,
                            lines: list[str]) -> None:
    """A model the catalog lacks, wholly on a catalog GPU: the speed its bytes allow on that
    card's bandwidth (the pure-speed model), from the file size the log printed."""
    all_on_gpu = log.gpu_layers is not None and log.total_layers and log.gpu_layers >= log.total_layers
    if not (all_on_gpu and s.rig is not None and s.rig.gpus and not log.cpu_only_build):
        return
    gpu = s.rig.gpus[0][0]
    info = speed_from_bandwidth(gpu.bandwidth_gbs, log.model_size_gib * GIB / GB, gpu.device_class, catalog,
                                fit_class=gpu_class(gpu))
    d.predicted_tokens_per_s = round(info.expected_tokens_per_s, 1)
    d.predicted_range = [round(v, 1) for v in info.expected_range]
    s.why_not.clear()
    what = f"{log.model_name} ({log.model_size_gib:.2f} GiB)"
    lines.append(say(lang, "diag_predicted", what=what, where=s.rig.describe(lang), tps=tps(info.expected_tokens_per_s),
                     low=tps(info.expected_range[0]), high=tps(info.expected_range[1])))


def _layout_verdict(log: RunLog) -> Verdict | None:
    if log.gpu_layers is None or not log.total_layers:
        return None
    if log.gpu_layers == 0:
        return Verdict.CPU_ONLY
    return Verdict.FITS_GPU if log.gpu_layers >= log.total_layers else Verdict.PARTIAL_OFFLOAD


def _as_run_fit(log: RunLog, s: _Setup) -> Fit | None:
    """RigBot's placement, moved to the layer split the log shows (llama.cpp counts the
    output layer too: 33 for a 32-layer model)."""
    if not s.can_predict:
        return None
    f = fit(s.model, s.quant, s.context, s.rig, s.kv_type)
    if f.verdict == Verdict.DOES_NOT_FIT:
        return f
    if s.layers is None:  # the log does not show the split: RigBot's own placement
        return f
    n, m = s.layers
    if not s.rig.gpus or log.cpu_only_build or n == 0:
        return f.model_copy(update={"verdict": Verdict.CPU_ONLY, "gpu_layers": 0})
    if n >= m and s.ram_weights_gib:
        if not s.model.is_moe:
            return None  # a dense model with tensors overridden to the CPU: a layout RigBot does not model
        # the experts the log keeps in RAM, as a share of the model's expert weights
        s.cpu_expert_fraction = min(1.0, s.ram_weights_gib * GIB / expert_weight_bytes(s.model, s.quant))
        return f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD, "gpu_layers": f.total_layers})
    if n >= m:
        if f.verdict != Verdict.FITS_GPU:
            return None  # all layers asked for, but RigBot's sums say they do not fit: no layout to predict
        return f.model_copy(update={"verdict": Verdict.FITS_GPU, "gpu_layers": f.total_layers})
    share = n / m
    return f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD,
                                "gpu_layers": max(1, min(f.total_layers - 1, round(share * f.total_layers)))})


def _verdict(d: Diagnosis, s: _Setup, lang: str, lines: list[str]) -> str:
    measured = d.measured_tokens_per_s
    if measured is None:
        lines.append(say(lang, "diag_verdict_no_speed"))
        return "no_speed"
    if d.predicted_range is None:
        lines.append(say(lang, "diag_verdict_no_prediction", why=say(lang, "list_sep").join(s.why_not)
                         or say(lang, "diag_why_nothing")))
        return "no_prediction"
    low, high = d.predicted_range
    if measured < low:
        lines.append(say(lang, "diag_verdict_slow", tps=tps(measured), low=tps(low)))
        return "slow"
    if measured > 2 * high:  # beyond the estimate's error: what was compared is likely not what ran
        lines.append(say(lang, "diag_verdict_far_fast", tps=tps(measured), high=tps(high)))
        return "fast"
    if measured > high:
        lines.append(say(lang, "diag_verdict_fast", tps=tps(measured), high=tps(high)))
        return "fast"
    lines.append(say(lang, "diag_verdict_normal", tps=tps(measured)))
    return "normal"


# the corrected flags ----------------------------------------------------------------
class _Corrected:
    """The flags the diagnosis changes; the rest of the command follows RigBot's placement."""

    def __init__(self, s: _Setup, log: RunLog) -> None:
        self.gpu_layers: int | None = None  # llama.cpp's count (output layer included)
        self.all_layers = False
        self.kv_type = s.kv_type
        self.cpu_moe: int | None = None
        self.context_per_slot: int | None = None
        self.parallel: int | None = None
        self.touched = False

    def command(self, s: _Setup, log: RunLog) -> str | None:
        if not self.touched:
            return None
        context = self.context_per_slot or log.n_ctx_per_seq or log.n_ctx or s.context
        if s.model is not None and s.quant is not None and s.rig is not None:
            f = fit(s.model, s.quant, context * (self.parallel or 1), s.rig, self.kv_type)
            layers = f.total_layers if self.all_layers else (
                self.gpu_layers if self.gpu_layers is not None else f.gpu_layers)
            return llama_server(s.model, s.quant, s.rig, context=context, gpu_layers=layers,
                                total_layers=f.total_layers, kv_type=self.kv_type, cpu_moe_layers=self.cpu_moe,
                                parallel=self.parallel)
        # the model or the GPU is unknown: the flags alone, on the log's own file
        ngl = ALL_LAYERS if self.all_layers else self.gpu_layers
        file = gguf_name(s.model, s.quant) if s.model is not None and s.quant is not None else "MODEL.gguf"
        parts = ["llama-server", "-m", file]
        if ngl is not None:
            parts += ["-ngl", str(ngl)]
        parts += ["-c", str(context * (self.parallel or 1))]
        if self.parallel:
            parts += ["-np", str(self.parallel)]
        if self.kv_type != "f16":
            parts += ["-fa", "on", "-ctk", self.kv_type, "-ctv", self.kv_type]
        return " ".join(parts)


def _budget(log: RunLog, s: _Setup, lang: str) -> tuple[float | None, str]:
    """GPU memory for the model, and where that figure comes from: the catalog card, or the
    free memory the log printed for a card the catalog lacks."""
    if s.rig is not None and s.rig.gpus:
        return s.rig.gpu_budget_gib, say(lang, "diag_src_catalog", gpu=s.rig.describe(lang))
    free = [dev for dev in log.devices if dev.free_mib and dev.backend != "CPU"]
    if free:
        return sum(dev.free_mib for dev in free) / MIB, say(lang, "diag_src_free", gpu=free[0].name,
                                                             free=free[0].free_mib)
    return None, ""


def _partial_offload(log: RunLog, s: _Setup, lang: str, causes: list[DiagnosisCause], corrected: _Corrected,
                     catalog: Catalog, d: Diagnosis) -> None:
    if s.layers is None:
        return
    n, m = s.layers
    if n == 0 or n >= m:
        return
    sentences = [say(lang, "diag_cause_partial_offload", n=n, m=m, cpu=m - n)]
    if log.requested_gpu_layers is not None and 0 <= log.requested_gpu_layers == n:
        sentences.append(say(lang, "diag_requested_low", req=log.requested_gpu_layers))
    budget, src = _budget(log, s, lang)
    if s.can_predict:
        f = fit(s.model, s.quant, s.context, s.rig, s.kv_type)
        if f.verdict != Verdict.FITS_GPU and s.kv_type == "f16":
            quantized = fit(s.model, s.quant, s.context, s.rig, "q8_0")
            if quantized.verdict == Verdict.FITS_GPU:  # a q8_0 KV cache makes room for every layer
                f, corrected.kv_type = quantized, "q8_0"
        if f.verdict == Verdict.FITS_GPU:
            corrected.all_layers = True
            sentences.append(say(lang, "diag_all_fit", m=m, need=f.total_gib, budget=f.gpu_budget_gib, src=src))
        elif (cpu_moe := expert_offload(s.model, s.quant, s.context, s.rig, s.kv_type)):
            corrected.all_layers, corrected.cpu_moe = True, cpu_moe
            sentences.append(say(lang, "diag_moe_fit", n=cpu_moe, m=s.model.layers))
            f = f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD, "gpu_layers": f.total_layers})
        elif f.gpu_layers is not None:
            corrected.gpu_layers = f.gpu_layers
            sentences.append(say(lang, "diag_some_fit", m=m, budget=f.gpu_budget_gib, src=src, ngl=f.gpu_layers))
        corrected.touched = True
        if f.verdict != Verdict.DOES_NOT_FIT:
            full = speed(s.model, s.quant, f, s.rig, catalog,
                         cpu_expert_fraction=(corrected.cpu_moe or 0) / s.model.layers)
            if full is not None:
                d.predicted_corrected_tokens_per_s = round(full.expected_tokens_per_s, 1)
                sentences.append(say(lang, "diag_full_expected", tps=tps(full.expected_tokens_per_s),
                                     low=tps(full.expected_range[0]), high=tps(full.expected_range[1])))
    elif budget is not None and (size := _weights_gib(log) or _catalog_weights_gib(s)):
        # the log's own sizes: weights and KV per layer, the compute buffers it printed
        kv_gib = sum(log.kv_buffers_mib.values()) / MIB
        compute = sum(v for k, v in log.compute_buffers_mib.items() if not k.startswith(("CPU", "CUDA_Host")))
        reserve = compute / MIB if compute else COMPUTE_RESERVE_GIB
        on_gpu = [v for k, v in log.model_buffers_mib.items() if _is_gpu_buffer(k)]
        # a layer as the GPU holds it: its buffer over its layers (the CPU side also holds the
        # embeddings, and a mapped CPU buffer can span the whole file)
        per_layer = (sum(on_gpu) / MIB / n if on_gpu else size / m) + kv_gib / m
        room = budget - reserve - GPU_OVERHEAD_GIB * 0.5
        ngl = max(0, min(m, math.floor(room / per_layer)))
        need = size + kv_gib + reserve
        if ngl >= m:
            corrected.all_layers = True
            sentences.append(say(lang, "diag_all_fit", m=m, need=need, budget=budget, src=src))
        else:
            corrected.gpu_layers = ngl
            sentences.append(say(lang, "diag_some_fit", m=m, budget=budget, src=src, ngl=ngl))
        corrected.touched = True
    causes.append(DiagnosisCause(code="partial_offload", evidence=s.layers_evidence, sentence=" ".join(sentences)))


def _weights_in_ram_gib(log: RunLog) -> float | None:
    """Weights in CPU buffers though every layer is offloaded: tensors overridden to the CPU
    (`-ot exps=CPU`, `--n-cpu-moe`). The embeddings alone (a few percent) do not count."""
    if log.gpu_layers is None or not log.total_layers or log.gpu_layers < log.total_layers:
        return None
    cpu = sum(v for k, v in log.model_buffers_mib.items() if not _is_gpu_buffer(k))
    total = sum(log.model_buffers_mib.values())
    if cpu == total or cpu < 0.25 * total:
        return None
    return cpu / MIB


def _weights_in_ram(log: RunLog, s: _Setup, lang: str, causes: list[DiagnosisCause]) -> None:
    if not s.ram_weights_gib:
        return
    biggest = max((k for k in log.model_buffers_mib if not _is_gpu_buffer(k)), key=log.model_buffers_mib.get)
    causes.append(DiagnosisCause(code="weights_in_ram", evidence=log.evidence.get(f"model_buffer:{biggest}", ""),
                                 sentence=say(lang, "diag_cause_weights_in_ram", m=log.total_layers,
                                              gib=s.ram_weights_gib)))


def _is_gpu_buffer(name: str) -> bool:
    return not name.startswith(("CPU", "CUDA_Host"))


def _weights_gib(log: RunLog) -> float | None:
    """The model's weights: the file size the log printed, else its model buffers added up
    (only when none is a mapped view, which can span more than its tensors)."""
    if log.model_size_gib:
        return log.model_size_gib
    if log.model_buffers_mib and not any(k.endswith("_Mapped") for k in log.model_buffers_mib):
        return sum(log.model_buffers_mib.values()) / MIB
    return None


def _catalog_weights_gib(s: _Setup) -> float | None:
    """A catalog model on a card the catalog lacks: its weights from the catalog."""
    if s.model is None or s.quant is None:
        return None
    return weights_bytes(s.model, s.quant) / GIB


def _cpu_fallback(log: RunLog, s: _Setup, lang: str, causes: list[DiagnosisCause]) -> None:
    if log.cpu_only_build:
        what, evidence = say(lang, "diag_fallback_no_gpu"), log.evidence.get("no_gpu", "")
    elif log.gpu_layers == 0 and log.total_layers:
        what, evidence = say(lang, "diag_fallback_zero_layers", m=log.total_layers), log.evidence.get("offloaded", "")
    elif (s.rig is not None and s.rig.gpus and not s.rig.unified_memory and not log.backends
          and "system_info" in log.evidence and log.model_buffers_mib):
        # the question names a GPU, and the build's own system_info lists no GPU backend
        what, evidence = say(lang, "diag_fallback_cpu_build"), log.evidence["system_info"]
    else:
        return
    sentence = say(lang, "diag_cause_cpu_fallback", what=what)
    if log.cpu_only_build or "system_info" in evidence:
        sentence += " " + say(lang, "diag_fallback_fix_build")
    causes.append(DiagnosisCause(code="cpu_fallback", evidence=evidence, sentence=sentence))


def _kv_on_cpu(log: RunLog, lang: str, causes: list[DiagnosisCause]) -> None:
    cpu_kv = sum(v for k, v in log.kv_buffers_mib.items() if k.startswith("CPU"))
    on_gpu = bool(log.backends) and log.gpu_layers is not None and log.total_layers and \
        log.gpu_layers >= log.total_layers
    if log.kv_offload is False and (on_gpu or log.backends):
        evidence = log.evidence.get("kv_offload", "")
        why = say(lang, "diag_kv_no_offload")
    elif cpu_kv and on_gpu:
        evidence = log.evidence.get("kv_buffer:CPU", "")
        why = ""
    else:
        return
    causes.append(DiagnosisCause(code="kv_on_cpu", evidence=evidence,
                                 sentence=say(lang, "diag_cause_kv_on_cpu", mib=cpu_kv, why=why)))


def _np_slots(log: RunLog, lang: str, causes: list[DiagnosisCause], corrected: _Corrected) -> None:
    slots, ctx, per = log.n_seq_max, log.n_ctx, log.n_ctx_per_seq
    if not (slots and slots > 1 and ctx and per and per < ctx):
        return
    fix = (say(lang, "diag_np_fix_ollama", per=per, slots=slots) if log.tool == "ollama"
           else say(lang, "diag_np_fix", ctx=ctx, total=ctx * slots, slots=slots))
    sentence = " ".join([say(lang, "diag_cause_np_slots", ctx=ctx, slots=slots, per=per), fix])
    causes.append(DiagnosisCause(code="np_slots", evidence=log.evidence.get("n_ctx_per_seq") or
                                 log.evidence.get("slots", ""), sentence=sentence))
    if log.tool != "ollama":  # Ollama users set num_ctx and OLLAMA_NUM_PARALLEL, not llama-server flags
        corrected.parallel, corrected.context_per_slot, corrected.touched = 1, ctx, True


def _missing(log: RunLog, s: _Setup, lang: str) -> list[str]:
    missing = []
    if log.eval_tokens_per_s is None:
        missing.append(say(lang, "diag_missing_speed"))
    if s.layers is None and not log.cpu_only_build and (log.backends or (s.rig is not None and s.rig.gpus)):
        missing.append(say(lang, "diag_missing_layers"))
    if not log.devices and (s.rig is None or not s.rig.gpus) and log.backends:
        missing.append(say(lang, "diag_missing_gpu"))
    if not log.model_name and not s.model:
        missing.append(say(lang, "diag_missing_model"))
    return missing
