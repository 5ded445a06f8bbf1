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

from rules.phrases import say
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
    r"|(?:用|上)?\s*([一二两三四五六七八]|\d{1,2})\s*(?:张|块)"
)
_WORD_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8}

_MODEL_FIELDS = ("model_name", "params_b", "model_file_gb", "gguf_path")
_HARDWARE_FIELDS = ("gpu_names", "gpu_counts", "vram_only", "cpu_only", "cpu_name", "ram_gib", "ram_kind",
                    "ram_channels", "ram_bus_bits", "bandwidth_gbs")
_SETTING_FIELDS = ("quant", "context", "kv_cache_type")
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
    word = m.group(1) or m.group(2)
    return int(word) if word.isdigit() else _WORD_COUNTS.get(word)


def is_sizing(query: Query) -> bool:
    """Worth remembering as the base of a follow-up: a sizing question that was understood."""
    return not query.error and query.intent != Intent.EXPLAIN and (query.has_model or query.has_hardware)


def merge(previous: Query, previous_question: str, question: str, new: Query,
          previous_resolved: dict | None = None) -> FollowUp | None:
    """The follow-up merged with the previous query, or None when the question stands alone.
    `previous_resolved`: the quant and context the previous answer used where the question
    left them to defaults, so "context 4,096 → 32,768" names the real old value."""
    if new.error:
        return None
    count = _count_only(question) if not new.gpu_names else None
    own_model = new.has_model or bool(new.gguf_path)
    own_hardware = new.has_hardware
    tied = bool(_FOLLOW_UP.search(question)) or count is not None
    modifiers_only = not own_model and not own_hardware and bool(new.quant or new.context or new.kv_cache_type)
    if not (tied or modifiers_only):  # "why is RAM bandwidth important?", a whole new question
        return None

    merged = previous.model_dump()
    changes: list[str] = []
    lang = new.lang
    if own_model:
        for field in _MODEL_FIELDS:
            merged[field] = getattr(new, field)
        if _model_label(previous) != _model_label(new):
            changes.append(say(lang, "followup_model", old=_model_label(previous), new=_model_label(new)))
    if own_hardware:
        for field in _HARDWARE_FIELDS:
            merged[field] = getattr(new, field)
        if _hardware_label(previous) != _hardware_label(new):
            changes.append(say(lang, "followup_hardware", old=_hardware_label(previous),
                               new=_hardware_label(new)))
    elif count is not None and previous.gpu_names:
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
    if not changes and not (new.intent in _FOLLOW_ON and new.intent != previous.intent):
        return None
    # the previous query was a sizing one (`is_sizing`), so its intent is never EXPLAIN
    merged["intent"] = new.intent if new.intent in _FOLLOW_ON else previous.intent
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


def _show(value, lang: str) -> str:
    if value is None:
        return say(lang, "followup_default")
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


def follow_up_of(state: dict, question: str, new: Query) -> FollowUp | None:
    """`merge` over the state the service stored after the previous sizing answer."""
    try:
        previous = Query(**state["query"])
    except Exception:  # state from an older version: start afresh rather than guess
        return None
    return merge(previous, state.get("question", ""), question, new, state.get("resolved"))


def is_tied(question: str) -> bool:
    """Worded as a continuation ("and why?", "what about …", "那…呢？")."""
    return bool(_FOLLOW_UP.search(question)) or bool(re.match(r"^\s*(?:why|how so|why not|really)\b\W*$", question,
                                                              re.IGNORECASE))
