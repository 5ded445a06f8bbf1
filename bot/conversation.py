"""Follow-ups: "and at 32k context?", "what about q8?", "那用两张呢？" continue the
previous sizing question instead of starting from nothing.

A follow-up is merged with the previous `Query`: what the new question names replaces
the old value, what it leaves out is kept, and the answer says what changed. A
question that names both a model and hardware of its own and has no follow-up words
stands alone. Pure functions over `Query`; the service keeps the state in the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.catalog import Catalog, default_catalog
from rules.phrases import say
from rules.quality import USES
from rules.schema import Intent, Query

# words that tie a question to the previous one ("and at 32k?", "what about two of them")
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|so|ok(?:ay)?|then|now|but|what about|how about|what if|and what about|and with"
    r"|same|instead|with|at|on|using|try)\b"
    r"|\b(?:instead|of them|those|that one|the same|same (?:card|gpu|model|rig|setup))\b"
    r"|^\s*(?:那|那么|如果|换成|改成|换|用|再|还有|要是)|呢[?？]?\s*$|的话[?？]?\s*$"
)
# a count of the previous card without its name: "two of them", "2 of them", "那用两张呢"
_COUNT_ONLY = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight)\s*(?:x\s*)?(?:of them|of those|cards|gpus)\b"
    r"|(?:用|上|只用|就用)?\s*([一二两三四五六七八]|\d{1,2})\s*(?:张|块)"
    r"|\b(?:just|only|with|use|using)\s+(?:a\s+single\s+|a\s+)?(one|two|three|four|five|six|seven|eight|single)\b"
    r"(?!\s*(?:bit|b\b|k\b|gb|more|model))"
)
# one more of the same card: "add a second one", "another 3090", "再加一张"
_ONE_MORE = re.compile(r"\b(?:add|adding|buy|with|plus|get)\s+(?:a\s+)?(?:second|another|one more)\b|再加一?[张块]|加一[张块]")
_WORD_COUNTS = {"single": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8}

_MODEL_FIELDS = ("model_name", "params_b", "model_file_gb", "gguf_path")
_DEVICE_FIELDS = ("gpu_names", "gpu_counts", "vram_only", "cpu_only", "cpu_name", "bandwidth_gbs")
_RAM_FIELDS = ("ram_gib", "ram_kind", "ram_channels", "ram_bus_bits")
_HARDWARE_FIELDS = _DEVICE_FIELDS + _RAM_FIELDS
_SETTING_FIELDS = ("quant", "context", "kv_cache_type")
# what else a follow-up may change ("what about 20 users?", "batch 8?"): new values replace old ones
_ASK_FIELDS = ("users", "prompt_tokens", "batch_size", "sequence_length", "train_method", "runtime", "use")
_ASK_FLAGS = ("full_context", "experts_in_ram")
_FOLLOW_ON = {Intent.MAX_CONTEXT, Intent.FINE_TUNE, Intent.SERVE, Intent.COMMAND, Intent.SPEED}


@dataclass(frozen=True)
class FollowUp:
    query: Query  # the merged query to answer
    question: str  # text for the engine's extras (users, prompt length): the new words first
    changed: str  # one sentence saying what changed, in the question's language


def _count_only(text: str) -> int | None:
    m = _COUNT_ONLY.search(text.lower())
    if not m:
        return None
    word = m.group(1) or m.group(2) or m.group(3)
    return int(word) if word.isdigit() else _WORD_COUNTS.get(word)


def is_sizing(query: Query) -> bool:
    """Worth remembering as the base of a follow-up: a sizing question that was understood."""
    return not query.error and query.intent != Intent.EXPLAIN and (query.has_model or query.has_hardware)


def merge(previous: Query, previous_question: str, question: str, new: Query,
          previous_resolved: dict | None = None, catalog: Catalog | None = None) -> FollowUp | None:
    """The follow-up merged with the previous query, or None when the question stands alone.
    A follow-up amends what it names: added RAM keeps the GPU ("and with 128GB of DDR5?"),
    a memory size changes a Mac's memory ("and the 128GB one?"), a bare size stays in the
    model's family ("the 32b version?"), a count changes the card's count ("just one").
    `previous_resolved`: the quant and context the previous answer used where the question
    left them to defaults, so "context 4,096 → 32,768" names the real old value."""
    if new.error:
        return None
    catalog = catalog or default_catalog()
    count = _count_only(question) if not new.gpu_names else None
    if not new.gpu_names and previous.gpu_names and _ONE_MORE.search(question):
        count = (previous.gpu_counts or [1])[0] + 1  # "and if I add a second one?", "再加一张"
    own_model = new.has_model or bool(new.gguf_path)
    own_devices = any(getattr(new, f) for f in _DEVICE_FIELDS)
    own_ram = not own_devices and any(getattr(new, f) for f in _RAM_FIELDS)
    asks = {f: getattr(new, f) for f in _ASK_FIELDS if getattr(new, f) is not None}
    asks.update({f: True for f in _ASK_FLAGS if getattr(new, f)})
    tied = bool(_FOLLOW_UP.search(question)) or count is not None
    # "my machine is an M2 Max 64G" then "can it run qwen2.5 72b?": the hardware said first stays
    tied = tied or (previous.has_hardware and not previous.has_model and own_model and not own_devices)
    modifiers_only = (not own_model and not own_devices and not own_ram
                      and bool(new.quant or new.context or new.kv_cache_type or asks))
    if not (tied or modifiers_only):  # "why is RAM bandwidth important?", a whole new question
        return None

    merged = previous.model_dump()
    changes: list[str] = []
    lang = new.lang
    if own_model:
        new_model = _same_family(previous, new, catalog)
        for field in _MODEL_FIELDS:
            merged[field] = new_model.get(field)
        if _model_label(previous) != _model_label(Query(**new_model)):
            changes.append(say(lang, "followup_model", old=_model_label(previous), new=_model_label(Query(**new_model))))
    if own_devices:
        for field in _HARDWARE_FIELDS:
            merged[field] = getattr(new, field)
        if _hardware_label(previous) != _hardware_label(new):
            changes.append(say(lang, "followup_hardware", old=_hardware_label(previous),
                               new=_hardware_label(new)))
    elif own_ram:
        changes += _amend_memory(previous, new, merged, catalog, lang)
    if count is not None and previous.gpu_names and not own_devices:
        old_counts = list(previous.gpu_counts or [1] * len(previous.gpu_names))
        merged["gpu_counts"] = [count, *old_counts[1:]]  # "two of them": the first card named
        changes.append(say(lang, "followup_count", name=previous.gpu_names[0], old=old_counts[0], new=count))
    for field in _SETTING_FIELDS:
        value, old = getattr(new, field), getattr(previous, field)
        if value is not None and value != old:
            if old is None:
                old = (previous_resolved or {}).get(field)
            changes.append(say(lang, f"followup_{field}", old=_show(old, lang),
                               new=_show(value, lang)))
            merged[field] = value
    for field, value in asks.items():
        old = getattr(previous, field)
        if value != old:
            if isinstance(value, bool):
                changes.append(say(lang, f"followup_{field}"))
            else:
                changes.append(say(lang, f"followup_{field}", old=_show(old, lang), new=_show(value, lang)))
            merged[field] = value
    if not changes and not (new.intent in _FOLLOW_ON and new.intent != previous.intent):
        return None
    # the previous query was a sizing one (`is_sizing`), so its intent is never EXPLAIN
    merged["intent"] = new.intent if new.intent in _FOLLOW_ON else previous.intent
    if own_model and not previous.has_model and merged["intent"] in (Intent.RECOMMEND, Intent.REQUIREMENTS):
        merged["intent"] = Intent.CAN_RUN  # hardware first, then a model: can that hardware run it?
    if asks.get("users"):  # "what about 20 users?": the serving sizing, again
        merged["intent"] = Intent.SERVE
    elif asks.get("train_method") or asks.get("batch_size") or asks.get("sequence_length"):
        merged["intent"] = Intent.FINE_TUNE
    merged["lang"] = lang
    merged["assumptions"] = list(new.assumptions)
    merged["unread"] = list(new.unread)
    merged["error"] = merged["error_message"] = None
    if own_model:
        merged["unknown_model"] = None
    query = Query(**merged)
    summary = say(lang, "followup_changed", changes=say(lang, "list_sep").join(changes)) if changes else \
        say(lang, "followup_same")
    return FollowUp(query=query, question=f"{question}\n{previous_question}", changed=summary)


def _same_family(previous: Query, new: Query, catalog: Catalog) -> dict:
    """The new model fields; a bare size after a named model ("what about the 32b
    version?") is that family's model of the size, when the catalog has one."""
    fields = {f: getattr(new, f) for f in _MODEL_FIELDS}
    if new.model_name or not new.params_b or not previous.model_name:
        return fields
    family = catalog.model(previous.model_name).family
    same = [m for m in catalog.models if m.family == family
            and abs(m.params_b - new.params_b) <= max(1.0, 0.1 * new.params_b)]
    if same:
        best = min(same, key=lambda m: abs(m.params_b - new.params_b))
        fields.update(model_name=best.name, params_b=None)
    return fields


def _amend_memory(previous: Query, new: Query, merged: dict, catalog: Catalog, lang: str) -> list[str]:
    """A follow-up that names only memory: a unified-memory machine's other size ("and the
    128GB one?"), else system RAM added to the previous devices ("and with 128GB of DDR5?")."""
    cards = [catalog.gpu(n) for n in previous.gpu_names]
    if cards and new.ram_gib and all(g.unified_memory for g in cards):
        chip = cards[0]
        other = [g for g in catalog.gpus if g.unified_memory and g.vendor == chip.vendor
                 and getattr(g, "chip", None) == getattr(chip, "chip", None) and abs(g.vram_gib - new.ram_gib) < 0.51]
        if other:
            merged["gpu_names"] = [other[0].name]
            return [say(lang, "followup_hardware", old=chip.name, new=other[0].name)]
    old_ram = previous.ram_gib
    for field in _RAM_FIELDS:
        if getattr(new, field) is not None:
            merged[field] = getattr(new, field)
    label = " ".join(x for x in (f"{new.ram_gib:g} GiB" if new.ram_gib else "", new.ram_kind or "") if x)
    if old_ram:
        return [say(lang, "followup_ram", old=f"{old_ram:g} GiB", new=label)]
    return [say(lang, "followup_added", new=label or "RAM")]


def _show(value, lang: str) -> str:
    if value is None:
        return say(lang, "followup_default")
    if isinstance(value, str) and value in USES:  # a use: its words, not its id
        return say(lang, f"use_{value}")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _model_label(q: Query) -> str:
    if q.model_name:
        return q.model_name
    if q.params_b:
        return f"{q.params_b:g}B"
    if q.gguf_path:
        return q.gguf_path
    return "?"


def _hardware_label(q: Query) -> str:
    if q.gpu_names:
        counts = q.gpu_counts or [1] * len(q.gpu_names)
        return " + ".join(f"{c}× {n}" if c > 1 else n for n, c in zip(q.gpu_names, counts, strict=False))
    if q.cpu_name:
        return q.cpu_name
    if q.ram_gib:
        return f"{q.ram_gib:g} GiB RAM"
    return "CPU"


def follow_up_of(state: dict, question: str, new: Query, catalog: Catalog | None = None) -> FollowUp | None:
    """`merge` over the state the service stored after the previous sizing answer
    (`catalog`: one holding a model looked up online in that turn)."""
    try:
        previous = Query(**state["query"])
    except Exception:  # state from an older version: start afresh rather than guess
        return None
    return merge(previous, state.get("question", ""), question, new, state.get("resolved"), catalog)


def is_tied(question: str) -> bool:
    """Worded as a continuation ("and why?", "what about …", "那…呢？")."""
    return bool(_FOLLOW_UP.search(question)) or bool(re.match(r"^\s*(?:why|how so|why not|really)\b\W*$", question,
                                                              re.IGNORECASE))


def asks_why(question: str) -> bool:
    """"and why?", "how come?", "为什么": a request for an explanation, which the knowledge
    base answers, not a change to the previous sizing."""
    return bool(re.match(r"^\s*(?:and\s+|but\s+|so\s+)?(?:why|how so|how come|explain)\b|^\s*(?:那\s*)?为什么|^\s*为何",
                         question, re.IGNORECASE))
