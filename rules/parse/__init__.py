"""Natural-language question (English or Chinese, possibly with pasted tool output)
→ structured `Query`.

Each module reads one kind of thing; `parse` runs them in a fixed order over one
buffer whose matched spans are blanked, so a phrase is read once ("3060 12GB" is a
card, not 12 GB of RAM). What was assumed goes to `Query.assumptions`, what could not
be read to `Query.unread`; both are said in the answer. Never raises.
"""

from __future__ import annotations

import re

from rules.catalog import Catalog, default_catalog
from rules.parse import hardware, models, numbers
from rules.parse.asks import read_asks
from rules.parse.intent import asks_something_else, intent_of, wants_diagnosis
from rules.parse.pasted import Pasted, cut_pasted
from rules.parse.reading import Reading
from rules.parse.text import Text, normalise
from rules.phrases import language_of, say
from rules.schema import Intent, Query

MAX_GPUS = hardware.MAX_GPUS
MAX_PARAMS_B = 5000.0  # the largest open models are ~1T parameters
MIN_PARAMS_B = 0.01
MAX_CONTEXT = numbers.MAX_CONTEXT

__all__ = ["parse", "MAX_GPUS", "MAX_PARAMS_B", "MIN_PARAMS_B", "MAX_CONTEXT"]


def parse(question: str, catalog: Catalog | None = None) -> Query:
    """Understand a question. Unknown or absurd input sets `error`; never raises."""
    catalog = catalog or default_catalog()
    try:
        return _parse(question if isinstance(question, str) else "", catalog)
    except Exception as exc:  # the parser must never take the bot down
        lang = language_of(question if isinstance(question, str) else "")
        return Query(intent=Intent.EXPLAIN, lang=lang, error="parse_failed",
                     error_message=say(lang, "error_parse_failed", kind=type(exc).__name__))


def _parse(question: str, catalog: Catalog) -> Query:
    r = Reading(lang=language_of(question))
    rest, pasted = cut_pasted(question)
    raw = numbers.normalise_counts(normalise(rest))
    t = Text(raw)
    cased = rest if len(rest) == len(raw) else raw

    models.read_gguf_path(rest, t, r)
    read_asks(t, r)  # first: "batch 4", "20 users", "a 4k-token prompt" are not counts or contexts
    models.read_kv_cache(t, r)
    hardware.read_bandwidth(t, r)
    hardware.read_vram(t, r)
    hardware.read_apple(t, r, catalog)  # before RAM: a Mac's "64GB RAM" is its unified memory
    hardware.read_ram(t, r, catalog)
    hardware.read_cpu(t, r, catalog)
    if (context := numbers.read_context(t)) is not None:
        r.fields["context"] = context
    models.read_model_file(t, r)
    models.read_quant(t, r, catalog)
    models.read_model(t, r, catalog)  # before GPUs: "llama 3.1 8b" must not lose "8b"
    if not r.failed:
        hardware.read_gpus(t, r, catalog)
        if (r.fields.get("error") == "laptop_gpu" and pasted.run_log is not None and pasted.run_log.has_run_facts
                and wants_diagnosis(raw)):
            # "why is it slow on my RTX 4060 laptop?" over its log: the log says what the card
            # had and did, so it is diagnosed from the log rather than asked for its VRAM
            for key in ("error", "error_message", "gpu_names", "gpu_counts"):
                r.fields.pop(key, None)
    if "context" not in r.fields and (context := numbers.read_bare_context(t)) is not None:
        r.fields["context"] = context
        r.note("note_bare_context", context=context)
    words_named_model = bool(r.fields.get("model_name") or r.fields.get("params_b") or r.fields.get("unknown_model"))
    if not r.failed:
        _apply_pasted(pasted, r, catalog)
    if not r.failed:
        models.read_size_or_unknown_name(t, r, catalog, cased)
        models.read_other_unknown_model(t, r, catalog, cased)
        hardware.read_leftover_size(t, r, catalog)
    if not r.failed:
        _leftover_numbers(t, r)
    _check_ranges(r)

    fields = r.fields
    intent = intent_of(raw, t.text, fields)
    if intent == Intent.FINE_TUNE and fields.get("context") and not fields.get("sequence_length"):
        fields["sequence_length"] = fields.pop("context")  # "4096 tokens" in a fine-tuning question
    if pasted.run_log is not None and not r.failed:
        fields["run_log"] = pasted.run_log
        if wants_diagnosis(raw) or (pasted.run_log.has_run_facts and not words_named_model
                                    and not asks_something_else(raw)):
            intent = Intent.DIAGNOSE
        elif pasted.unknown_model_error:
            fields["error"], fields["error_message"] = pasted.unknown_model_error
    return Query(intent=intent, lang=r.lang, assumptions=r.assumptions, unread=r.unread, **fields)


def _apply_pasted(p: Pasted, r: Reading, catalog: Catalog) -> None:
    """Pasted tool output fills what the question's words left open, and says so."""
    if not p.tools:
        return
    f = r.fields
    if not f.get("gpu_names") and not f.get("cpu_only"):
        if p.apple_phrase:
            phrase = p.apple_phrase
            if p.metal_working_set_gib and (memory := _memory_from_working_set(p, catalog)):
                phrase += f" {memory:g}gb"
                r.note("note_metal_memory", memory=memory, working_set=p.metal_working_set_gib)
            hardware.read_apple(Text(phrase), r, catalog)
        for gpu in p.gpus:
            hardware.gpu_from_tool(r, catalog, gpu.name, gpu.vram_gib, 1)
            if r.failed:
                return
    if f.get("ram_gib") is None and p.ram_gib is not None and not _unified(f, catalog):
        f["ram_gib"] = p.ram_gib
    if f.get("ram_kind") is None and p.ram_kind:
        rest = Text(p.ram_kind.lower())
        hardware.read_ram(rest, r, catalog)
        if p.ram_kind_guessed:
            r.note("note_ram_generation_guessed", kind=f.get("ram_kind") or p.ram_kind)
    if f.get("cpu_name") is None and p.cpu_text:
        if name := hardware.cpu_by_text(p.cpu_text, catalog):
            f["cpu_name"] = name
        else:
            r.could_not_read("unread_cpu", text=p.cpu_text)
    if p.context and f.get("context") is None:
        f["context"] = p.context
    if p.quant and f.get("quant") is None:
        f["quant"] = p.quant if p.quant in {q.name for q in catalog.quants} else None
        if f["quant"] is None:
            del f["quant"]
            r.could_not_read("unread_quant", text=p.quant)
    if p.model_text and not (f.get("model_name") or f.get("params_b") or f.get("unknown_model")):
        model_words = Text(numbers.normalise_counts(normalise(p.model_text)))
        if p.run_log is not None and p.run_log.has_run_facts:
            # a run log's own model name the catalog lacks ("Deepseek-R1-0528-Qwen3-8B"): a
            # diagnosis says so and sizes it from the log; any other question is refused with
            # the unknown name (see _parse)
            trial = Reading(lang=r.lang, fields=dict(f))
            models.read_model(model_words, trial, catalog)
            if not trial.failed and not trial.fields.get("model_name"):
                models.read_size_or_unknown_name(model_words, trial, catalog, p.model_text)
            if trial.failed:
                p.unknown_model_error = (trial.fields["error"], trial.fields["error_message"])
            else:
                f.update(trial.fields)
                for note in trial.assumptions:
                    if note not in r.assumptions:
                        r.assumptions.append(note)
        else:
            models.read_model(model_words, r, catalog)
        if not f.get("model_name") and not (p.run_log is not None and p.run_log.has_run_facts):
            models.read_size_or_unknown_name(model_words, r, catalog, p.model_text)
    if p.sockets and p.sockets > 1:
        r.note("note_sockets", sockets=p.sockets)
    for name in p.skipped:
        r.note("note_integrated_skipped", gpu=name)
    for name in p.log_unknown_gpus:
        r.note("diag_note_laptop_gpu", gpu=name)
    r.note("note_pasted", tools=", ".join(p.tools))


def _memory_from_working_set(p: Pasted, catalog: Catalog) -> float | None:
    """Metal lets the GPU wire 3/4 of memory from 64 GiB up, about 2/3 below (rules.rig):
    the Mac's memory is the catalog size that share points back to."""
    sizes = {g.vram_gib for g in catalog.gpus if g.vendor == "apple"}
    for share in (0.75, 2 / 3):
        memory = p.metal_working_set_gib / share
        near = min(sizes, key=lambda s: abs(s - memory))
        if abs(near - memory) <= 0.03 * near and (share == 0.75) == (near >= 64):
            return near
    return None


def _unified(fields: dict, catalog: Catalog) -> bool:
    return any(catalog.gpu(n).unified_memory for n in fields.get("gpu_names", []))


_LEFTOVER_NUMBER = re.compile(r"(?<![a-z0-9.])\d+(?:\.\d+)?(?![\d.]|x\b|x\s)(?:\s*(?:tokens?/s|t/s|tok/s|tps|token/s))?")


def _leftover_numbers(t: Text, r: Reading) -> None:
    """Every number is used with its role or said to be not understood: "1.5 tokens/s"
    in a question that asks something else is listed, never dropped silently. Counts
    ("2x", from "两张") are the conversation's to read."""
    for m in _LEFTOVER_NUMBER.finditer(t.text):
        r.could_not_read("unread_number", text=m.group(0).strip())


def _check_ranges(r: Reading) -> None:
    f = r.fields
    if (p := f.get("params_b")) is not None and not (MIN_PARAMS_B <= p <= MAX_PARAMS_B):
        r.fail("absurd_size", "error_absurd_size", size=p, low=MIN_PARAMS_B)
    if (c := f.get("context")) is not None and not (128 <= c <= MAX_CONTEXT):
        r.fail("absurd_context", "error_absurd_context", context=c)
    if (ram := f.get("ram_gib")) is not None and not (0.5 <= ram <= 16384):
        r.fail("absurd_ram", "error_absurd_ram", ram=ram)
    if (b := f.get("bandwidth_gbs")) is not None and not (1 <= b <= 50000):
        r.fail("absurd_bandwidth", "error_absurd_bandwidth", bandwidth=b)
