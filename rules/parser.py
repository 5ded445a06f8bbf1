"""Natural-language question (English or Chinese) → structured `Query`.

Entities are found in a fixed order, each match removing its span so later
patterns cannot reuse it: KV-cache type, RAM kind and size, CPU, context,
bandwidth, model file size, quantization, GPUs, model. Never raises.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from rules.catalog import Catalog, Gpu, default_catalog
from rules.intents import detect_intent
from rules.phrases import language_of, say
from rules.schema import Intent, Query

MAX_GPUS = 16
MAX_PARAMS_B = 5000.0  # the largest open models are ~1T parameters
MIN_PARAMS_B = 0.01
MAX_CONTEXT = 10_000_000

_SEP = r"[\s\-_]*"
_NUM = r"(\d+(?:\.\d+)?)"

# Chinese count words and English multipliers, normalised to "2x " before GPU matching.
_COUNT_WORDS = [
    (r"两张|两块|两个|两片|双卡|二张|2张|2块|2个", "2x "),
    (r"三张|三块|三个|3张|3块", "3x "),
    (r"四张|四块|四个|4张|4块", "4x "),
    (r"八张|八块|8张|8块", "8x "),
    (r"\b(?:dual|two|twin|pair of|a pair of)\b\s*", "2x "),
    (r"\b(?:triple|three)\b\s*", "3x "),
    (r"\b(?:quad|four)\b\s*(?!channel|-channel)", "4x "),
    (r"\b(?:eight)\b\s*", "8x "),
]

_CPU_ONLY = re.compile(
    r"no\s*(?:dedicated\s*)?(?:gpu|graphics card|video card)|without\s*(?:a\s*)?(?:gpu|graphics card)"
    r"|cpu[\s-]*only|only\s*(?:a\s*|the\s*|my\s*)?cpu|on\s*(?:the\s*|my\s*|a\s*)?cpu\b|pure\s*cpu"
    r"|没有?显卡|无显卡|不用显卡|纯\s*cpu|只用\s*cpu|只有\s*cpu|用\s*cpu\s*跑|仅\s*cpu|集显|核显"
)
_SPEED_WORDS = re.compile(
    r"how fast|tokens?\s*/\s*s|tokens?\s*per\s*s|tok/s|t/s|\bspeed|\bfast\b|速度|多快|每秒|快吗|tps"
)
_RECOMMEND_WORDS = re.compile(
    r"what (?:model|llm|models|llms|size)|which (?:model|llm|models)|best (?:model|llm)|what can i run"
    r"|what could i run|biggest|largest|recommend|suggest|推荐|能跑什么|跑什么|什么模型|哪个模型|哪些模型|最大的模型"
)
_REQUIREMENT_WORDS = re.compile(
    r"what (?:gpu|card|graphics|hardware|pc|computer|setup|rig)|which (?:gpu|card)|how much (?:vram|ram|memory)"
    r"|requirement|need|minimum|要多少|需要|什么显卡|多少显存|多少内存|最低|配置"
)
_EXPLAIN_WORDS = re.compile(
    r"^\s*(?:why|how does|how do|explain|what is|what's|what are|difference|is it true)"
    r"|为什么|为何|什么是|区别|解释|原理|是什么"
)
_UNKNOWN_GPU = re.compile(
    r"(?<![a-z0-9])(?:rtx|gtx|rx|arc|radeon|geforce|quadro|tesla|titan|instinct)\s*-?\s*"
    r"([a-z]?\d{2,5}[a-z]*(?:\s*(?:ti|super|xtx|xt|max|pro|ultra))?)"
)
_VRAM_ONLY = re.compile(rf"{_NUM}\s*(?:gb|g|gib)\s*(?:of\s*)?(?:vram|显存|video memory|gpu memory)")
_VRAM_ONLY_ZH = re.compile(rf"显存\s*(?:是|有|为)?\s*{_NUM}\s*(?:gb|g|gib)")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("×", "x").replace("＊", "*")
    for pattern, repl in _COUNT_WORDS:
        text = re.sub(pattern, repl, text)
    return text


def _flex(key: str) -> str:
    """'rtx 3060 ti' → a pattern that also accepts 'rtx3060ti', 'RTX-3060-Ti'."""
    tokens = re.findall(r"[a-z]+|\d+|[^\sa-z\d\-_]", key.lower())
    pattern = re.escape(tokens[0]) if tokens else ""
    for before, token in zip(tokens, tokens[1:], strict=False):
        # "a100", "p40", "m1": a lone letter joins its number without a space, or
        # "a 100 tokens/s" and "a 40 GB card" would read as GPUs
        tight = len(before) == 1 and before.isalpha() and token.isdigit()
        pattern += (r"[\-_]?" if tight else _SEP) + re.escape(token)
    return pattern


def _bounded(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9.]){pattern}(?:s)?(?![a-z0-9])")


class _Text:
    """The question with consumed spans blanked out, so entities don't overlap."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.search(self.text)
        if match:
            self.take(match)
        return match


@cache
def _gpu_patterns(catalog_id: int) -> list[tuple[re.Pattern[str], str]]:
    """One pattern per GPU key, with an optional count before ("2x", "2 ") or
    after ("x2") and an optional memory size after ("3060 12gb")."""
    catalog = _catalog_by_id[catalog_id]
    keys = sorted({k for gpu in catalog.gpus for k in gpu.keys}, key=len, reverse=True)
    prefix = r"(?:(?:nvidia|geforce|amd|radeon|intel|apple|tesla|quadro)\s*)?"
    size = (rf"(?:\s*(?:with\s*|,\s*|\(\s*)?{_NUM}\s*(?:gb|g|gib)(?![a-z0-9])\)?"
            r"(?!\s*(?:of\s*)?(?:system|ram|内存|ddr|model|模型|file)))?")
    return [
        (re.compile(rf"(?<![a-z0-9.])(?:(\d{{1,3}})\s*(?:x|\*)\s*|(\d{{1,2}})\s+)?{prefix}{_flex(k)}(?:s)?"
                    rf"(?![a-z0-9]){size}(?:\s*(?:x|\*)\s*(\d{{1,3}})(?![a-z0-9]))?"), k)
        for k in keys
    ]


@cache
def _model_patterns(catalog_id: int) -> list[tuple[re.Pattern[str], str]]:
    catalog = _catalog_by_id[catalog_id]
    pairs = [(alias, m.name) for m in catalog.models for alias in m.aliases]
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    return [(_bounded(_flex(alias)), name) for alias, name in pairs]


@cache
def _cpu_patterns(catalog_id: int) -> list[tuple[re.Pattern[str], str]]:
    catalog = _catalog_by_id[catalog_id]
    pairs = [(key, c.name) for c in catalog.cpus for key in c.keys]
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    prefix = r"(?:(?:intel|amd|core|ryzen)\s*)?"
    return [(_bounded(prefix + _flex(k)), name) for k, name in pairs]


@cache
def _quant_patterns(catalog_id: int) -> list[tuple[re.Pattern[str], str]]:
    catalog = _catalog_by_id[catalog_id]
    pairs = []
    for q in catalog.quants:
        pairs.append((q.name.lower(), q.name))
        pairs.extend((w, q.name) for w in q.words)
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    out = []
    for word, name in pairs:
        if re.search(r"[\u4e00-\u9fff]", word):
            out.append((re.compile(re.escape(word)), name))
        else:
            out.append((_bounded(_flex(word)), name))
    return out


_catalog_by_id: dict[int, Catalog] = {}


def _register(catalog: Catalog) -> int:
    _catalog_by_id[id(catalog)] = catalog
    return id(catalog)


def parse(question: str, catalog: Catalog | None = None) -> Query:
    """Understand a question. Unknown or absurd input sets `error`; never raises."""
    catalog = catalog or default_catalog()
    try:
        return _parse(question or "", catalog)
    except Exception as exc:  # the parser must never take the bot down
        lang = language_of(question if isinstance(question, str) else "")
        return Query(intent=Intent.EXPLAIN, lang=lang, error="parse_failed",
                     error_message=say(lang, "error_parse_failed", kind=type(exc).__name__))


def _parse(question: str, catalog: Catalog) -> Query:
    cid = _register(catalog)
    raw = _normalise(question)
    t = _Text(raw)
    lang = language_of(question)
    q: dict = {"lang": lang}

    # KV cache type before model quantization ("q8_0 kv cache")
    kv = t.find(re.compile(r"(q8_0|q8|8[\s-]*bit|q4_0|q4|4[\s-]*bit|f16|fp16)\s*(?:kv|k/v)[\s-]*cache|(?:kv|k/v)[\s-]*cache\s*(?:in|at|of|=|:)?\s*(q8_0|q8|8[\s-]*bit|q4_0|q4|4[\s-]*bit|f16|fp16)"))
    if kv:
        word = (kv.group(1) or kv.group(2)).replace(" ", "").replace("-", "")
        q["kv_cache_type"] = "q8_0" if "8" in word else "q4_0" if "4" in word else "f16"

    # bandwidth ("115 GB/s") before any "NN GB" size
    if bw := t.find(re.compile(rf"{_NUM}\s*(?:gb/s|gbps|gb/sec|gb per second|gb每秒)")):
        q["bandwidth_gbs"] = float(bw.group(1))

    # RAM kind, channels, size
    if kind := t.find(re.compile(rf"(?:{_NUM}\s*(?:gb|g|gib)\s*(?:of\s*)?)?(lp)?ddr([45])x?(?:[\s\-_@]*(\d{{4}}))?"
                                 r"(?:\s*(?:mt/s|mhz))?")):
        if kind.group(1):  # "32GB DDR5-5600": the size belongs to the RAM
            q["ram_gib"] = float(kind.group(1))
        gen = f"{'LP' if kind.group(2) else ''}DDR{kind.group(3)}"
        mts = kind.group(4)
        names = {r.name for r in catalog.ram_kinds}
        if mts and f"{gen}-{mts}" in names:
            q["ram_kind"] = f"{gen}-{mts}"
        else:
            typical = {"DDR4": "DDR4-3200", "DDR5": "DDR5-5600"}.get(gen.removeprefix("LP"))
            same_gen = sorted((r for r in catalog.ram_kinds if r.generation.upper() == gen),
                              key=lambda r: abs(r.mts - int(mts)) if mts else 0)
            q["ram_kind"] = same_gen[0].name if (mts and same_gen) else typical
    channel_words = {"single": 1, "dual": 2, "quad": 4, "octa": 8, "eight": 8, "six": 6, "twelve": 12,
                     "单": 1, "双": 2, "四": 4, "六": 6, "八": 8, "十二": 12}
    if ch := t.find(re.compile(r"(\d+|single|dual|2x|quad|4x|octa|eight|six|twelve)[\s-]*channels?|(单|双|四|六|八|十二)通道")):
        word = (ch.group(1) or ch.group(2)).replace("x", "")
        q["ram_channels"] = int(word) if word.isdigit() else channel_words.get(word)
    if "ram_gib" in q:
        pass
    elif ram := t.find(re.compile(rf"{_NUM}\s*(?:gb|g|gib|tb)?\s*(?:of\s*)?(?:system\s*|main\s*)?(?:ram|memory|内存|系统内存)(?!\s*bandwidth)")):
        size = float(ram.group(1)) * (1024 if "tb" in ram.group(0) else 1)
        q["ram_gib"] = size
    elif ram := t.find(re.compile(rf"(?:内存|ram)\s*(?:是|有|为|:)?\s*{_NUM}\s*(?:gb|g|gib)")):
        q["ram_gib"] = float(ram.group(1))

    # CPU by name
    for pattern, name in _cpu_patterns(cid):
        if t.find(pattern):
            q["cpu_name"] = name
            break

    if t.find(_CPU_ONLY):
        q["cpu_only"] = True

    # context ("8k context", "context of 16384", "上下文 32k")
    ctx = t.find(re.compile(rf"{_NUM}\s*(k)?\s*(?:tokens?\s*)?(?:of\s*)?(?:context|ctx|上下文)")) or t.find(
        re.compile(rf"(?:context|ctx|上下文)(?:\s*(?:length|window|size|of|=|:|长度|为|是))*\s*{_NUM}\s*(k)?"))
    if ctx:
        value = float(ctx.group(1)) * (1024 if ctx.group(2) else 1)
        q["context"] = int(value)

    # model file size for pure speed questions ("a 13 GB model")
    if mf := t.find(re.compile(rf"{_NUM}\s*(?:gb|g)\s*(?:large\s*)?(?:model|file|模型)|模型\s*(?:大小|是|有)?\s*{_NUM}\s*(?:gb|g)")):
        q["model_file_gb"] = float(mf.group(1) or mf.group(2))

    # quantization
    for pattern, name in _quant_patterns(cid):
        if t.find(pattern):
            q["quant"] = name
            break

    # models by alias, before GPUs: "llama 3.1 8b" must not lose "8b"
    for pattern, name in _model_patterns(cid):
        if t.find(pattern):
            q["model_name"] = name
            break

    _parse_gpus(t, catalog, cid, q)
    if q.get("error"):
        return Query(intent=_intent(raw, q), **q)

    if "model_name" not in q:
        size = t.find(re.compile(r"(?<![\d.a-z])(\d+(?:\.\d+)?)\s*(?:x\s*(\d+(?:\.\d+)?)\s*)?(b|billion|亿)(?![a-z])"))
        if size:
            value = float(size.group(1))
            if size.group(3) == "亿":
                value /= 10
            if size.group(2):  # "8x7b" without a family: a mixture of experts
                mix = next((m for m in catalog.models if m.aliases and f"{size.group(1)}x{size.group(2)}b" in [a.replace(" ", "").replace("mixtral", "") for a in m.aliases]), None)
                if mix:
                    q["model_name"] = mix.name
                else:
                    q["params_b"] = value * float(size.group(2))
            else:
                q["params_b"] = value
    if (p := q.get("params_b")) is not None and not (MIN_PARAMS_B <= p <= MAX_PARAMS_B):
        q["error"] = "absurd_size"
        q["error_message"] = say(lang, "error_absurd_size", size=p, low=MIN_PARAMS_B)
    if (c := q.get("context")) is not None and not (128 <= c <= MAX_CONTEXT):
        q["error"] = "absurd_context"
        q["error_message"] = say(lang, "error_absurd_context", context=c)
    if (r := q.get("ram_gib")) is not None and not (0.5 <= r <= 16384):
        q["error"] = "absurd_ram"
        q["error_message"] = say(lang, "error_absurd_ram", ram=r)
    if (b := q.get("bandwidth_gbs")) is not None and not (1 <= b <= 50000):
        q["error"] = "absurd_bandwidth"
        q["error_message"] = say(lang, "error_absurd_bandwidth", bandwidth=b)

    return Query(intent=_intent(raw, q), **q)


def _parse_gpus(t: _Text, catalog: Catalog, cid: int, q: dict) -> None:
    names: list[str] = []
    counts: list[int] = []
    for pattern, key in _gpu_patterns(cid):
        while match := t.find(pattern):
            count = int(match.group(1) or match.group(2) or match.group(4) or 1)
            variants = [g for g in catalog.gpus if key in g.keys]
            size = float(match.group(3)) if match.group(3) else None
            gpu = _pick_variant(variants, size)
            if gpu is None:
                sizes = ", ".join(f"{g.vram_gib:g} GB" for g in variants)
                q["error"] = "unknown_gpu_variant"
                q["error_message"] = say(q["lang"], "error_unknown_gpu_variant", size=size, sizes=sizes,
                                         default=_default(variants).name)
                return
            if count < 1 or count > MAX_GPUS:
                q["error"] = "absurd_gpu_count"
                q["error_message"] = say(q["lang"], "error_absurd_gpu_count", count=count, most=MAX_GPUS)
                return
            if gpu.name in names:
                counts[names.index(gpu.name)] += count
            else:
                names.append(gpu.name)
                counts.append(count)
    if names:
        q["gpu_names"] = names
        q["gpu_counts"] = counts
        return
    # a GPU-looking name the catalog lacks: "did you mean"
    if unknown := _UNKNOWN_GPU.search(t.text):
        q["error"] = "unknown_gpu"
        q["error_message"] = _did_you_mean(unknown.group(0).strip(), catalog, q["lang"])
        return
    # "12GB VRAM" without a card: size it as a typical card with that memory
    if vram := (t.find(_VRAM_ONLY) or t.find(_VRAM_ONLY_ZH)):
        gpu = _typical_card(catalog, float(vram.group(1)))
        if gpu:
            q["gpu_names"] = [gpu.name]
            q["gpu_counts"] = [1]
            q["vram_only"] = True


def _pick_variant(variants: list[Gpu], size_gb: float | None) -> Gpu | None:
    if size_gb is None:
        return _default(variants)
    exact = [g for g in variants if abs(g.vram_gib - size_gb) < 0.51]
    return exact[0] if exact else None


def _default(variants: list[Gpu]) -> Gpu:
    return next((g for g in variants if g.default_variant), variants[0])


def _typical_card(catalog: Catalog, vram: float) -> Gpu | None:
    """A GeForce card with that much memory, of middling speed among those that have it."""
    cards = [g for g in catalog.gpus if g.vendor == "nvidia" and re.match(r"(?:RTX|GTX) \d", g.name)]
    if not cards:
        return None
    enough = [g for g in cards if g.vram_gib >= vram]
    if not enough:
        return max(cards, key=lambda g: (g.vram_gib, g.bandwidth_gbs))
    smallest = min(g.vram_gib for g in enough)
    same = sorted((g for g in enough if g.vram_gib == smallest), key=lambda g: g.bandwidth_gbs)
    return same[(len(same) - 1) // 2]


def _did_you_mean(text: str, catalog: Catalog, lang: str = "en") -> str:
    from rapidfuzz import fuzz, process, utils

    choices = {g.name: g.name for g in catalog.gpus if g.default_variant}
    best = process.extract(text, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=3)
    names = [name for _, score, name in best if score >= 50]
    if not names:
        return say(lang, "error_unknown_gpu_no_match", text=text)
    return say(lang, "error_unknown_gpu", text=text, names=say(lang, "or").join(names))


def _intent(raw: str, q: dict) -> Intent:
    has_hw = bool(q.get("gpu_names") or q.get("cpu_only") or q.get("cpu_name") or q.get("ram_gib")
                  or q.get("ram_kind") or q.get("bandwidth_gbs"))
    has_model = bool(q.get("model_name") or q.get("params_b") or q.get("model_file_gb"))
    if q.get("error"):
        return Intent.CAN_RUN
    if has_model and (follow_on := detect_intent(raw)):  # max_context, fine_tune, serve, command
        return follow_on
    if _SPEED_WORDS.search(raw) and (has_model or q.get("bandwidth_gbs")):
        return Intent.SPEED
    if q.get("bandwidth_gbs") and q.get("model_file_gb"):
        return Intent.SPEED
    if has_hw and not has_model:
        if _EXPLAIN_WORDS.search(raw) and not _RECOMMEND_WORDS.search(raw):
            return Intent.EXPLAIN
        return Intent.RECOMMEND
    if has_model and not has_hw:
        if _EXPLAIN_WORDS.search(raw) and not _REQUIREMENT_WORDS.search(raw):
            return Intent.EXPLAIN
        return Intent.REQUIREMENTS
    if has_model and has_hw:
        if _REQUIREMENT_WORDS.search(raw) and re.search(r"how much|多少", raw):
            return Intent.REQUIREMENTS
        return Intent.CAN_RUN
    return Intent.EXPLAIN
