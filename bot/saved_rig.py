"""A user's saved rig (`/myrig`, `rigbot rig`): hardware set once, used by every
question that names none.

What is stored is the parser's hardware fields only (GPU names and counts, CPU, RAM
size, kind, channels, bus), a short description and the assumptions made when it was
read, under a schema version. The text or tool output it came from is never stored
or logged: a pasted `nvidia-smi` carries serial numbers, UUIDs and process names.

Loading checks the stored names against today's catalog, so a renamed or removed
GPU gives a sentence ("set it again") rather than a crash. `apply_saved` decides,
for one question, whether the saved rig stands in for hardware it does not name,
and returns the sentence that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rules.catalog import Catalog, default_catalog
from rules.parse import parse
from rules.parse.intent import intent_of
from rules.parse.numbers import normalise_counts
from rules.parse.pasted import cut_pasted
from rules.parse.report_words import gpu_count_in_words
from rules.parse.text import normalise
from rules.phrases import language_of, say
from rules.schema import Intent, Query

SCHEMA_VERSION = 1
MAX_RIG_CHARS = 20_000  # nvidia-smi with a process list or lscpu + free is a few KB
MAX_RIG_FILE_BYTES = 64 * 1024  # an attached .txt of tool output
HARDWARE_FIELDS = ("gpu_names", "gpu_counts", "vram_only", "cpu_only", "cpu_name", "ram_gib", "ram_kind",
                   "ram_channels", "ram_bus_bits")
# what a question naming only its GPU (or "no GPU") may take from the saved rig
_MEMORY_FIELDS = ("ram_gib", "ram_kind", "ram_channels", "ram_bus_bits", "cpu_name")
# a computed RAM kind the catalog lacks ("DDR5-3900"); rules.rig sizes it from its MT/s
_RAM_KIND = re.compile(r"(?:LP)?DDR\dX?-\d{3,5}", re.IGNORECASE)
# the question asks what hardware it takes, not whether the user's own rig runs it
_ASKS_WHAT_HARDWARE = re.compile(
    r"what (?:gpu|card|graphics|hardware|pc|computer|setup|rig)|which (?:gpu|card)|how much (?:vram|ram|memory)"
    r"|\bneeds?\b|\bminimum\b|\brequirements?\b|什么显卡|多少显存|多少内存|需要|最低|配置要求", re.IGNORECASE)
# tool output (nvidia-smi, rocm-smi, macOS, lscpu/free, llama.cpp, wmic, dxdiag) by its fixed words
_TOOL_OUTPUT = re.compile(
    r"NVIDIA-SMI|Driver Version|\|\s*GPU\s+Name|ROCm System Management|Hardware Overview|Architecture:"
    r"|Model name:|Mem:\s+\d|ggml_|llama_model_loader|llm_load|System Information|memory\.total|\bGPU\s+\d+:.*\bGPU\s+\d+:"
    r"|wmic|Capacity\s+Speed|\+-{10}", re.IGNORECASE)
# a question about a machine other than the saved rig may be ("my laptop", "my phone")
_LAPTOP = re.compile(r"laptop|notebook|笔记本", re.IGNORECASE)
_MAC = re.compile(r"i?mac", re.IGNORECASE)
_OTHER_MACHINE = re.compile(
    r"(?<![a-z])(?:laptop|(?<!jupyter )(?<!colab )(?<!kaggle )notebook|i?mac|phone|smartphone|iphone|android|tablet"
    r"|ipad|raspberry pi|orange pi|jetson|steam deck|chromebook)(?![a-z])"
    r"|(?<![a-z])(?:other|another|second|friend'?s?)\s+(?:pc|computer|machine|rig|box|desktop|server)(?![a-z])"
    r"|笔记本|手机|平板|树莓派|另一台(?:电脑|机器)?|朋友的(?:电脑|机器|笔记本)?", re.IGNORECASE)
# the user's own GPU, which a GPU-less saved rig cannot answer for
_MY_GPU = re.compile(r"\bmy (?:gpu|graphics card|video card|card)s?\b|我的显卡", re.IGNORECASE)
# "what can I run?": a request for models that only the saved rig makes answerable
_WHAT_CAN_I_RUN = re.compile(
    r"what (?:models?|llms?) (?:can|could) i|what can i run|what could i run|which (?:models?|llms?) (?:can|could|should) i"
    r"|best (?:model|llm) (?:i can|for me)|我能跑什么|能跑什么|可以跑什么|能跑哪些|适合跑什么", re.IGNORECASE)


@dataclass(frozen=True)
class RigReply:
    """What a /myrig command answers: Markdown text, and whether a rig was stored."""

    text: str
    saved: bool = False
    error: str | None = None  # no_hardware, unknown_gpu, too_long, stale, ...


@dataclass(frozen=True)
class SavedRig:
    hardware: dict
    assumptions: list[str] = field(default_factory=list)
    problem: tuple[str, dict] | None = None  # (phrase key, fields) when it cannot be used

    def problem_text(self, lang: str) -> str | None:
        return say(lang, self.problem[0], **self.problem[1]) if self.problem else None


# reading --------------------------------------------------------------------------
def hardware_of(query: Query) -> dict:
    """The hardware fields a query names, without defaults (what is stored)."""
    return {f: getattr(query, f) for f in HARDWARE_FIELDS if getattr(query, f) not in (None, False, [])}


def read_rig(text: str, catalog: Catalog | None = None, lang: str | None = None) -> tuple[dict | None, RigReply]:
    """Text or tool output → (the JSON to store, or None; the reply). Pure."""
    catalog = catalog or default_catalog()
    text = (text or "").strip()
    lang = lang or language_of(text)
    if len(text) > MAX_RIG_CHARS:
        return None, RigReply(say(lang, "rig_too_long", length=len(text), most=MAX_RIG_CHARS), error="too_long")
    if not text:
        return None, RigReply(say(lang, "rig_no_hardware"), error="no_hardware")
    if looks_joined(text):
        return None, RigReply(say(lang, "rig_joined_lines"), error="joined_lines")
    query = parse(text, catalog)
    if query.error == "unknown_gpu_variant" and "," in text and "\n" not in text:
        # "2x 4090, 128GB": in a list of parts a comma ends the card; the size is then
        # read as RAM, and the parser's note says so in the reply
        retry = parse(text.replace(",", ";"), catalog)
        if not retry.error and retry.has_hardware:
            query = retry
    if query.error:
        message = query.error_message or say(lang, "rig_no_hardware")
        return None, RigReply(f"{message}\n{say(lang, 'rig_not_saved')}", error=query.error)
    hardware = hardware_of(query)
    if not (hardware.get("gpu_names") or hardware.get("cpu_only") or hardware.get("cpu_name")
            or hardware.get("ram_gib") or hardware.get("ram_kind")):
        return None, RigReply(say(lang, "rig_no_hardware"), error="no_hardware")
    description = describe(hardware, catalog, "en")
    stored = {"version": SCHEMA_VERSION, "hardware": hardware, "description": description,
              "assumptions": list(query.assumptions)}
    lines = [say(lang, "rig_saved", rig=describe(hardware, catalog, lang))]
    if query.assumptions:
        lines.append(say(lang, "rig_assumed", notes=say(lang, "list_sep").join(query.assumptions)))
    if query.unread:
        lines.append(say(lang, "rig_unread", notes=say(lang, "list_sep").join(query.unread)))
    if ignored := _not_hardware(query):
        lines.append(say(lang, "rig_ignored", what=", ".join(ignored)))
    if not hardware.get("gpu_names") and not hardware.get("cpu_only"):  # lscpu + free: no GPU in sight
        lines.append(say(lang, "rig_no_gpu_given"))
    lines.append(say(lang, "rig_saved_use"))
    return stored, RigReply("\n".join(lines), saved=True)


def _not_hardware(query: Query) -> list[str]:
    """What the text named besides hardware (a model, a quant, a context): not saved, said so."""
    items = []
    if query.model_name or query.params_b or query.unknown_model or query.model_file_gb:
        items.append(query.model_name or query.unknown_model
                     or (f"{query.params_b:g}B" if query.params_b else f"{query.model_file_gb:g} GB"))
    if query.quant:
        items.append(query.quant)
    if query.context:
        items.append(f"-c {query.context}")
    if query.kv_cache_type:
        items.append(f"KV {query.kv_cache_type}")
    if query.bandwidth_gbs:
        items.append(f"{query.bandwidth_gbs:g} GB/s")
    return items


def looks_joined(text: str) -> bool:
    """Tool output on one line: a Discord text option joined its lines, and column
    layouts (nvidia-smi's table, lscpu's fields) no longer read reliably."""
    return "\n" not in text.strip() and bool(_TOOL_OUTPUT.search(text))


def text_of_file(data: bytes) -> str | None:
    """An attached tool output as text: UTF-8, or UTF-16 with its BOM (PowerShell's
    `nvidia-smi > out.txt`); None when it is not text."""
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


# describing -----------------------------------------------------------------------
def describe(hardware: dict, catalog: Catalog, lang: str) -> str:
    """"RTX 3090 24 GB + 64 GiB DDR5-6000", "no GPU, Ryzen 9 7950X, 64 GiB DDR5-5600"."""
    parts: list[str] = []
    names, counts = hardware.get("gpu_names") or [], hardware.get("gpu_counts") or []
    if hardware.get("cpu_only"):
        parts.append(say(lang, "rig_desc_no_gpu"))
    elif names and hardware.get("vram_only"):
        gpu = catalog.gpu(names[0])
        parts.append(say(lang, "rig_desc_vram_only", vram=gpu.vram_gib, gpu=gpu.name))
    else:
        for name, count in zip(names, counts or [1] * len(names), strict=False):
            gpu = catalog.gpu(name)
            if gpu.unified_memory:
                label = say(lang, "rig_desc_unified", name=name)
            elif re.search(r"\d\s*GB\b", name):  # "RTX 3060 12GB": the name says it
                label = name
            else:
                label = say(lang, "rig_desc_gpu", name=name, vram=gpu.vram_gib)
            parts.append(f"{count}× {label}" if count > 1 else label)
    if hardware.get("cpu_name"):
        parts.append(hardware["cpu_name"])
    if ram := describe_memory(hardware, lang):
        parts.append(ram)
    return (", " if hardware.get("cpu_only") else " + ").join(parts)


def describe_memory(hardware: dict, lang: str) -> str:
    ram, kind = hardware.get("ram_gib"), hardware.get("ram_kind")
    if ram and kind:
        text = say(lang, "rig_desc_ram_kind", ram=ram, kind=kind)
    elif ram:
        text = say(lang, "rig_desc_ram", ram=ram)
    elif kind:
        text = say(lang, "rig_desc_kind_only", kind=kind)
    else:
        return ""
    extras = []
    if hardware.get("ram_channels"):
        extras.append(say(lang, "rig_desc_channels", channels=hardware["ram_channels"]))
    if hardware.get("ram_bus_bits"):
        extras.append(say(lang, "rig_desc_bus", bits=hardware["ram_bus_bits"]))
    return f"{text} ({', '.join(extras)})" if extras else text


# loading --------------------------------------------------------------------------
def load(stored: dict | None, catalog: Catalog | None = None) -> SavedRig | None:
    """The stored JSON checked against today's catalog; a rig it cannot use carries
    `problem` (a renamed GPU, an older format) instead of raising."""
    if stored is None:
        return None
    catalog = catalog or default_catalog()
    hardware = stored.get("hardware") if isinstance(stored, dict) else None
    if not isinstance(stored, dict) or stored.get("version") != SCHEMA_VERSION or not isinstance(hardware, dict) \
            or not set(hardware) <= set(HARDWARE_FIELDS):
        return SavedRig(hardware={}, problem=("rig_stale_format", {}))
    try:
        Query(**hardware)
    except Exception:  # a field of the wrong type: written by something else
        return SavedRig(hardware={}, problem=("rig_stale_format", {}))
    names = hardware.get("gpu_names") or []
    if len(hardware.get("gpu_counts") or []) != len(names):
        return SavedRig(hardware={}, problem=("rig_stale_format", {}))
    gpus = {g.name for g in catalog.gpus}
    cpus = {c.name for c in catalog.cpus}
    missing = [n for n in names if n not in gpus]
    if hardware.get("cpu_name") and hardware["cpu_name"] not in cpus:
        missing.append(hardware["cpu_name"])
    kind = hardware.get("ram_kind")
    if kind and kind.upper() not in {k.name.upper() for k in catalog.ram_kinds} and not _RAM_KIND.fullmatch(kind):
        missing.append(kind)
    if missing:
        return SavedRig(hardware=hardware, problem=("rig_stale", {"name": ", ".join(missing)}))
    assumptions = stored.get("assumptions") if isinstance(stored.get("assumptions"), list) else []
    return SavedRig(hardware=hardware, assumptions=[str(a) for a in assumptions])


# using ----------------------------------------------------------------------------
def apply_saved(query: Query, question: str, saved: SavedRig | None,
                catalog: Catalog | None = None) -> tuple[Query, str | None]:
    """The query to answer and a sentence saying how the saved rig was used (None when
    it was not). Only sizing questions about the user's own machine take it:
    "can I run qwen2.5 32b?", "how fast is llama 3 8b?", "what can I run?"; a question
    that names hardware keeps it, taking at most the RAM when it names only a GPU."""
    catalog = catalog or default_catalog()
    lang = query.lang
    if query.error:
        return query, None
    if query.has_hardware:
        return _with_own_hardware(query, saved, catalog)
    if not _about_own_machine(query, question):
        return query, None
    if saved is None:
        return query, (say(lang, "rig_none_hint") if _has_model(query) else None)
    if saved.problem:
        return query, saved.problem_text(lang)
    if other := _other_machine(question, saved, catalog):  # "can my laptop run ...?" with a desktop rig saved
        return query, say(lang, "rig_other_machine", machine=other, rig=describe(saved.hardware, catalog, lang))
    if _MY_GPU.search(question) and not saved.hardware.get("gpu_names"):  # "on my GPU", none saved
        return query, say(lang, "rig_no_gpu_saved", rig=describe(saved.hardware, catalog, lang))
    stated = gpu_count_in_words(question)
    if stated and stated != sum(saved.hardware.get("gpu_counts") or []):  # "with 2 GPUs", one card saved
        example = (saved.hardware.get("gpu_names") or ["RTX 3090"])[0]
        return query, say(lang, "rig_gpu_count_differs", stated=stated, gpu=example,
                          rig=describe(saved.hardware, catalog, lang))
    fields = query.model_dump()
    fields.update(saved.hardware)
    if query.intent in (Intent.REQUIREMENTS, Intent.EXPLAIN):
        words = _words(question)
        fields["intent"] = intent_of(words, words, fields)
        if fields["intent"] == Intent.EXPLAIN:  # not a question a rig answers after all
            return query, None
    return Query(**fields), say(lang, "rig_using", rig=describe(saved.hardware, catalog, lang))


def _with_own_hardware(query: Query, saved: SavedRig | None, catalog: Catalog) -> tuple[Query, str | None]:
    lang = query.lang
    if saved is None or saved.problem or query.intent == Intent.EXPLAIN or query.bandwidth_gbs:
        return query, None
    own = hardware_of(query)
    if own == saved.hardware:  # a follow-up that kept the saved rig's hardware
        return query, say(lang, "rig_using", rig=describe(saved.hardware, catalog, lang))
    names_compute_only = bool(query.gpu_names or query.cpu_only) and not any(own.get(f) for f in _MEMORY_FIELDS)
    saved_memory = {f: saved.hardware[f] for f in _MEMORY_FIELDS if saved.hardware.get(f)}
    if names_compute_only and saved_memory and not _unified(query.gpu_names, catalog) \
            and not _unified(saved.hardware.get("gpu_names", []), catalog):
        fields = query.model_dump()
        fields.update(saved_memory)
        key = "rig_using_ram_cpu" if query.cpu_only else "rig_using_ram"
        return Query(**fields), say(lang, key, ram=_memory_label(saved_memory, lang))
    if not query.gpu_names and not query.cpu_only and saved.hardware.get("gpu_names"):
        # "with 128GB RAM": the question's hardware alone, and the missing saved GPU said
        return query, say(lang, "rig_not_used", own=describe(own, catalog, lang),
                          rig=describe(saved.hardware, catalog, lang))
    return query, None


def _memory_label(memory: dict, lang: str) -> str:
    ram = describe_memory(memory, lang)
    return " + ".join(p for p in (memory.get("cpu_name"), ram) if p)


def _unified(names: list[str], catalog: Catalog) -> bool:
    return any(catalog.gpu(n).unified_memory for n in names)


def _other_machine(question: str, saved: SavedRig, catalog: Catalog) -> str | None:
    """The other machine a question is about ("my laptop", "my phone", "my other PC"), when
    the saved rig cannot be it: a phone is no PC, a saved desktop card is no laptop (the
    catalog holds desktop cards only; a Mac or a CPU-only rig may well be the laptop), and
    a saved PC is no Mac."""
    m = _OTHER_MACHINE.search(question)
    if not m:
        return None
    word = m.group(0)
    apple = _unified(saved.hardware.get("gpu_names") or [], catalog)
    if _LAPTOP.fullmatch(word) and (saved.hardware.get("cpu_only") or not saved.hardware.get("gpu_names") or apple):
        return None
    if _MAC.fullmatch(word) and apple:  # "my mac" with a Mac saved
        return None
    return word


def _has_model(query: Query) -> bool:
    return query.has_model or bool(query.gguf_path)


def _about_own_machine(query: Query, question: str) -> bool:
    if _ASKS_WHAT_HARDWARE.search(question):  # "what GPU do I need for 70B?"
        return False
    if _has_model(query):
        return query.intent != Intent.EXPLAIN
    return bool(_WHAT_CAN_I_RUN.search(question))


def _words(question: str) -> str:
    """The question as the parser's intent rules read it."""
    rest, _ = cut_pasted(question)
    return normalise_counts(normalise(rest))


# the commands, over the store --------------------------------------------------------
async def set_rig(store, user_id: str, text: str, lang: str | None = None,
                  catalog: Catalog | None = None) -> RigReply:
    catalog = catalog or default_catalog()
    lang = lang or language_of(text or "")
    stored, reply = read_rig(text, catalog, lang)
    if stored is None:
        return reply
    previous = load(await store.get_rig(user_id), catalog)
    await store.set_rig(user_id, stored)
    if previous is not None and previous.hardware != stored["hardware"]:
        await store.clear_conversations_of(user_id)  # a follow-up must not go on with the old rig
    if previous is not None and not previous.problem and previous.hardware != stored["hardware"]:
        reply = RigReply(f"{reply.text}\n{say(lang, 'rig_replaced', old=describe(previous.hardware, catalog, lang))}",
                         saved=True)
    return reply


async def show_rig(store, user_id: str, lang: str = "en", catalog: Catalog | None = None) -> RigReply:
    catalog = catalog or default_catalog()
    saved = load(await store.get_rig(user_id), catalog)
    if saved is None:
        return RigReply(say(lang, "rig_none"), error="no_rig")
    if saved.problem:
        return RigReply(saved.problem_text(lang), error="stale_rig")
    lines = [say(lang, "rig_show", rig=describe(saved.hardware, catalog, lang))]
    if saved.assumptions:
        lines.append(say(lang, "rig_assumed", notes=say(lang, "list_sep").join(saved.assumptions)))
    return RigReply("\n".join(lines), saved=True)


async def clear_rig(store, user_id: str, lang: str = "en", catalog: Catalog | None = None) -> RigReply:
    catalog = catalog or default_catalog()
    saved = load(await store.get_rig(user_id), catalog)
    if not await store.delete_rig(user_id):
        return RigReply(say(lang, "rig_nothing_to_clear"), error="no_rig")
    # a follow-up ("and at 32k?") must not go on answering for the rig just deleted
    await store.clear_conversations_of(user_id)
    if saved is None or saved.problem:
        return RigReply(say(lang, "rig_cleared_stale"))
    return RigReply(say(lang, "rig_cleared", rig=describe(saved.hardware, catalog, lang)))


async def saved_rig_of(store, user_id: str, catalog: Catalog | None = None) -> SavedRig | None:
    return load(await store.get_rig(user_id), catalog)
