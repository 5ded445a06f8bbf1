"""Models and quantization in a question: the KV-cache type, quant names and words,
catalog models by alias, bare sizes ("a 13B model"), model file sizes ("a 13 GB
model"), a local GGUF path, and names the catalog does not know ("Zorblax-13B"),
which get "I don't know model X; did you mean …" instead of a silent stand-in."""

from __future__ import annotations

import re
from functools import cache

from rules.catalog import Catalog
from rules.parse.reading import LazyPattern, Patterns, Reading, cached_per_catalog
from rules.parse.text import NUM, Text, anchor, bounded_source, flex

_KV_WORD = r"(q8_0|q8|fp8|8[\s-]*bit|q4_0|q4|4[\s-]*bit|f16|fp16)"
_KV_CACHE = re.compile(rf"{_KV_WORD}\s*(?:kv|k/v)[\s-]*cache|(?:kv|k/v)[\s-]*cache\s*(?:in|at|of|=|:|用|为|是|设为|量化为?)?\s*{_KV_WORD}")
_MODEL_FILE = re.compile(rf"{NUM}\s*(?:gb|g)\s*(?:large\s*)?(?:model|file|模型)|模型\s*(?:大小|是|有)?\s*{NUM}\s*(?:gb|g)")
_BARE_SIZE = re.compile(r"(?<![\d.a-z])(\d+(?:\.\d+)?)\s*(?:x\s*(\d+(?:\.\d+)?)\s*)?(b|billion|亿)(?![a-z])")
# a local GGUF file: "./models/foo.gguf", "C:\models\Foo-Q4_K_M.gguf", "~/foo.gguf"
_GGUF_PATH = re.compile(r"""["'`]([^"'`\n]+?\.gguf)["'`]|((?:[A-Za-z]:)?[^\s"'`<>|]*[^\s"'`<>|/\\]\.gguf)(?![A-Za-z0-9])""",
                        re.IGNORECASE)
# words that may stand before a size without naming a model ("run a 13B", "for 70b")
_NOT_NAMES = frozenset("""
a an the run runs running ran to for of on with and or is are can could my this that these any some one
model models llm llms about like size sized quantized quantised at in it do does will would fit fits load
loading use using vs than me i you we what how fast speed need needs dense moe params parameter parameters
gguf ollama q bare generic typical base instruct chat local locally only just also even fine tune tuning
serve serving train training finetune inference infer try trying want get gets be handle host hosting
both each per if then so but nor not no yes ok okay hi hello please tell say pick choose between
""".split())
# after "run"/"跑": a word that is not a model name (tools, places, filler)
_NOT_MODEL_WORDS = _NOT_NAMES | frozenset("""
anything something everything stuff things them these those models llms ai inference locally local well
smoothly fine faster slower bigger larger smaller big large small multiple several many more most best
ok okay properly offline online fast slow home lots together parallel concurrently at all
llama.cpp llamacpp ollama vllm koboldcpp exllama exllamav2 lmstudio oobabooga docker windows linux wsl mac
macos cuda rocm vulkan metal server servers python code games game
""".split())
# words that describe a bare size rather than name a model ("a decent 13b")
_SIZE_ADJECTIVES = frozenset("""
good decent nice great solid small tiny little medium mid huge giant quick cheap new newer newest old older
latest recent modern popular smart smarter strong capable reasonable usable uncensored coding coder code
math chatty general purpose random typical standard normal regular average open source opensource weights
quant quants quantized dense sparse plain vanilla whole full entire single another other similar same
something anything roughly around approx approximately about maybe perhaps even still much
""".split())
_DISTINGUISHING_WORDS = ("large", "medium", "small", "mini", "nano", "moe", "vision", "coder", "pro", "flash",
                         "lite", "air", "ultra", "max", "plus", "omni", "scout", "maverick")
# families people name, so "yi 34b" or "falcon-40b" is an unknown *model*, not a bare size
FAMILY_WORDS = frozenset("""
grok ernie hunyuan minimax seed step mimo devstral magistral codestral pixtral ministral exaone jamba dbrx
arctic nous llava internvl cogvlm
llama llama2 llama3 codellama tinyllama mistral mixtral qwen qwen2 qwen3 qwq gemma gemma2 gemma3 phi phi3 phi4
deepseek yi falcon starcoder starcoder2 command granite glm chatglm kimi gpt nemotron internlm baichuan vicuna
wizardlm orca solar zephyr openchat hermes dolphin smollm olmo mpt bloom opt pythia stablelm minicpm aya
""".split())
_FAMILY_VERSION = re.compile(
    r"(?<![a-z0-9])(?:command[\s\-_]+r(?:[\s\-_]*(?:plus|\+))?|(?:" + "|".join(sorted(FAMILY_WORDS, key=len, reverse=True)) + r")"
    r"(?:[\s\-_:]*v?\d+(?:\.\d+)?[a-z]?|[\s\-_:]+[a-z]\d+[a-z]?|[\s\-_:]+(?:" + "|".join(_DISTINGUISHING_WORDS) + r")))"
    r"(?:[\s\-_]+(?:" + "|".join(_DISTINGUISHING_WORDS) + r"))?(?![a-z0-9])")
# a question about what something is, not a request to size it ("what is grok 3?")
_EXPLAINS = re.compile(r"^\s*(?:why|how does|how do|explain|what is|what's|what are|is it true|tell me about)\b"
                       r"|为什么|什么是|是什么|区别|介绍")
_RUN_WORD = re.compile(r"(?:(?<![a-z])(?:run|running|load|loading)\s+|跑\s*|运行\s*|部署\s*)"
                       r"([a-z][a-z0-9.+]*(?:[-_][a-z0-9.+]+)*)(?=\s*(?:$|[?？!！,，.。]|on\b|with\b|at\b|in\b|using\b|吗|么|呢|嘛|可以|行|的))")


@cached_per_catalog
def _quant_patterns(catalog: Catalog) -> Patterns:
    pairs = []
    for q in catalog.quants:
        pairs.append((q.name.lower(), q.name))
        pairs.extend((w, q.name) for w in q.words)
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    out = []
    for word, name in pairs:
        if re.search(r"[\u4e00-\u9fff]", word):
            out.append((re.compile(re.escape(word)), name, word))
        else:
            out.append((LazyPattern(bounded_source(flex(word))), name, anchor(word)))
    return Patterns(out, keys=[w for w, _ in pairs])


def _patterns_of(pairs: list[tuple[str, str]], glued: bool) -> Patterns:
    pairs = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
    patterns = Patterns([(LazyPattern(bounded_source(flex(alias))), name, anchor(alias)) for alias, name in pairs],
                        keys=[a for a, _ in pairs], glued=glued)
    patterns.alias_length = {id(t[0]): len(a) for t, (a, _) in zip(patterns, pairs, strict=True)}
    return patterns


@cached_per_catalog
def _model_patterns(catalog: Catalog) -> tuple[Patterns, Patterns]:
    """The own catalog's aliases, and the open catalog's (generated from published configs:
    HF repo ids, repo names, Ollama tags), read once here, on the first question. The open
    ones are not looked for inside longer runs of letters: their thousands of words would
    make that the parse's main cost."""
    from rules.open_models import open_models

    own = [(alias, m.name) for m in catalog.models for alias in m.aliases]
    taken = {a for a, _ in own}
    opened = open_models()
    names = {m.name for m in catalog.models}
    extra = [(a, name) for name, aliases in opened.own_aliases.items() if name in names for a in aliases]
    extra += [(a, m.name) for m in opened.models if m.name not in names for a in m.aliases]
    extra = [(a, name) for a, name in extra if a not in taken]
    return _patterns_of(own, glued=True), _patterns_of(extra, glued=False)


def _model_candidates(catalog: Catalog, text: str) -> list:
    """Aliases that can match `text`, own and open together, longest first."""
    own, opened = _model_patterns(catalog)
    found = [(own.alias_length[id(t[0])], t) for t in own.candidates(text)]
    found += [(opened.alias_length[id(t[0])], t) for t in opened.candidates(text)]
    found.sort(key=lambda p: -p[0])
    return [t for _, t in found]


def read_gguf_path(question: str, t: Text, r: Reading) -> None:
    if m := _GGUF_PATH.search(question):
        r.fields["gguf_path"] = (m.group(1) or m.group(2)).strip()
        for found in list(re.finditer(r"\S*\.gguf\S*", t.text)):
            t.take(found)


# ExLlama's cache modes as people write them: "Q4 cache", "cache_4bit", "6-bit cache",
# "cache_mode: Q6", "Q8 缓存" (TabbyAPI's cache_mode FP16 | Q8 | Q6 | Q4)
_CACHE_BITS = re.compile(r"(?<![a-z0-9])q?([468])[\s_-]*(?:bit)?[\s_-]*(?:cache|缓存)"
                         r"|cache[_\s-]*(?:mode)?\s*[:=]?\s*q?([468])(?:[\s_-]*bit)?(?![a-z0-9])")


def read_kv_cache(t: Text, r: Reading) -> None:
    if m := t.find(_KV_CACHE):
        word = (m.group(1) or m.group(2)).replace(" ", "").replace("-", "")
        r.fields["kv_cache_type"] = "q8_0" if "8" in word else "q4_0" if "4" in word else "f16"
        if r.fields.get("runtime") == "exllama" and word[-1:] in "468" and any(c in word for c in "468"):
            r.fields["cache_bits"] = int(next(c for c in word if c in "468"))
    elif r.fields.get("runtime") == "exllama" and (m := t.find(_CACHE_BITS)):
        r.fields["cache_bits"] = int(m.group(1) or m.group(2))


def read_model_file(t: Text, r: Reading) -> None:
    """"a 13 GB model" in a pure speed question."""
    if m := t.find(_MODEL_FILE):
        r.fields["model_file_gb"] = float(m.group(1) or m.group(2))


_BPW = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:bpw|bits? per weight)")


# "group size 32", "gs64", "4bit-128g" (not "64G" of memory): one scale (MLX: and a bias) per this many weights
_GROUP_SIZE = re.compile(r"group[\s_-]*size\s*[:=]?\s*(\d{2,3})(?![\d.])|(?<![a-z])gs\s*(\d{2,3})(?![\d.])"
                         r"|(?<=[-_])(32|64|128)g(?![a-z0-9])|分组\s*(?:大小)?\s*[:：=为是]?\s*(\d{2,3})")
# runtimes that size a bits-per-weight figure as given (EXL2/EXL3); elsewhere it is unread
_BPW_RUNTIMES = ("exllama",)


def read_quant(t: Text, r: Reading, catalog: Catalog) -> None:
    if m := t.find(_BPW):  # "4.65 bpw" (EXL2/EXL3): sized as given by ExLlama's own sizing
        if r.fields.get("runtime") in _BPW_RUNTIMES:
            r.fields["bits_per_weight"] = float(m.group(1))
        else:
            r.could_not_read("unread_bpw", text=m.group(0).strip())
    if m := t.find(_GROUP_SIZE):
        r.fields["group_size"] = int(next(g for g in m.groups() if g))
    found: list[tuple[int, str, str]] = []  # (position, quant, as written)
    for pattern, name, key_anchor in _quant_patterns(catalog).candidates(t.text):
        while key_anchor in t.text and (m := t.find(pattern)):
            if name not in {q for _, q, _ in found}:
                found.append((m.start(), name, m.group(0).strip()))
    if not found:
        return
    found.sort()
    r.quant_at = [(pos, name) for pos, name, _ in found]
    r.fields["quant"] = found[0][1]
    if found[0][1] == "GPTQ_4BIT":  # AWQ or GPTQ: vLLM's --quantization names which
        r.fields["quant_written"] = "awq" if "awq" in found[0][2].lower() else "gptq"
    if len(found) > 1:
        # "Q4_K_M vs Q8_0", "q4 or q8?": one answer per quantization
        r.fields["options"] = [{"label": name, "quant": name} for _, name, _ in found]


def read_model(t: Text, r: Reading, catalog: Catalog) -> None:
    """A catalog model by one of its aliases; before GPUs, so "llama 3.1 8b" keeps its "8b"."""
    before = t.text  # reading an alias blanks it; the family is looked for in the text as written
    for pattern, name, key_anchor in _model_candidates(catalog, t.text):
        if key_anchor in t.text and (m := t.find(pattern)):
            if family := _family_over(_bare_family(before, catalog), m):
                r.fields["model_family"] = family  # a family named whole, without a size
                return
            # "mistral 13b": a family alias followed by a size the model does not have
            # names another model, not Mistral 7B
            after = re.match(r"[\s\-_:]*(\d+(?:\.\d+)?)\s*b(?![a-z0-9])", t.text[m.end():])
            if after and not _same_size(float(after.group(1)), catalog.model(name).params_b):
                _unknown_model(r, catalog, f"{m.group(0).strip()} {after.group(1)}b")
                return
            if version := re.match(r"\.\d+[a-z]?(?:[\s\-_]+(?:" + "|".join(_DISTINGUISHING) + r"))?(?![a-z0-9])",
                                   t.text[m.end():]):
                # "phi 3.5 moe" is not Phi-3: the version goes on past the alias
                _unknown_model(r, catalog, f"{m.group(0).strip()}{version.group(0)}")
                return
            if spaced := _SPACED_NAME.match(t.text[m.end():]):
                # "mistral large 2", "phi 4 mini": another model of the family, not its plain one
                _unknown_model(r, catalog, f"{m.group(0).strip()}{spaced.group(0).rstrip()}")
                return
            if (word := _name_goes_on(t.text[m.end():])) is not None:
                # "mistral-foo 7b": the name goes on past the alias, so it is another model
                size = re.match(r"[\s\-_]*(\d+(?:\.\d+)?\s*b)(?![a-z0-9])", t.text[m.end():][len(word) + 1:])
                _unknown_model(r, catalog, f"{m.group(0).strip()}-{word}" + (f" {size.group(1)}" if size else ""))
                return
            r.fields["model_name"] = name
            if found := _another_model(t, name, catalog):
                # "is llama 3.1 8b or qwen 2.5 7b faster?": one answer per model
                second, second_at = found
                r.fields["also_named"] = second
                r.fields["options"] = _model_options([(m.start(), name), (second_at, second)], r)
            return


def _model_options(named: list[tuple[int, str]], r: Reading) -> list[dict]:
    """One option per model, in the order the question names them; each with the quant
    written after it and before the next model ("Qwen3-32B Q4_K_M or Qwen3-14B Q8_0")
    when every model has one of its own."""
    named.sort()
    options = [{"label": name, "model_name": name} for _, name in named]
    if len(r.quant_at) >= len(named):
        ends = [pos for pos, _ in named[1:]] + [10**9]
        own = [next((q for at, q in r.quant_at if start < at < end), None) for (start, _), end in zip(named, ends, strict=True)]
        if all(own):
            for option, quant in zip(options, own, strict=True):
                option["quant"] = quant
                option["label"] = f"{option['model_name']} {quant}"
            r.fields["quant"] = own[0]
    r.fields["model_name"] = options[0]["model_name"]
    r.fields["also_named"] = options[1]["model_name"]
    return options


def _another_model(t: Text, first: str, catalog: Catalog) -> tuple[str, int] | None:
    """A second catalog model in the question, with where it was named; its words are taken,
    as the first's are."""
    for pattern, name, key_anchor in _model_candidates(catalog, t.text):
        if name != first and key_anchor in t.text and (m := t.find(pattern)):
            return name, m.start()
    return None


# words that may follow a model's name without making it another model ("mistral-7b-instruct")
_NAME_QUALIFIERS = frozenset("""
instruct it chat base hf gguf ggml latest text preview model uncensored abliterated distill
qat awq gptq fp8 int4 int8 mlx exl2 exl3 bnb 4bit 8bit
""".split())
_JOINED_WORD = re.compile(r"[-_]([a-z][a-z0-9]*)(?![a-z0-9])")
_WORD_BEFORE_SIZE = re.compile(r"\s+([a-z][a-z0-9]*)[\s\-_]*\d+(?:\.\d+)?\s*b(?![a-z0-9])")


# words that name another model of a family when they follow its name ("mistral large",
# "phi 4 mini", "qwen3 coder"): never answered as the family's plain model
_DISTINGUISHING = ("large", "medium", "small", "mini", "nano", "micro", "tiny", "moe", "vision", "vl", "coder",
                   "math", "next", "turbo", "pro", "flash", "lite", "air", "ultra", "max", "plus", "omni", "audio",
                   "guard", "embed", "embedding", "reasoning", "scout", "maverick", "nemo", "devstral", "magistral",
                   "qwq", "distill", "r1", "v2", "v3", "v4", "v5", "k2", "e2b", "e4b")
_SPACED_WORD = re.compile(r"\s+(" + "|".join(_DISTINGUISHING) + r")(?![a-z0-9])")
_SPACED_NAME = re.compile(r"\s+(?:" + "|".join(_DISTINGUISHING) + r")(?![a-z0-9])(?:\s*v?\d+(?:\.\d+)?(?![\d.]*\s*(?:b|k|gb|bit)\b))?")


def _name_goes_on(rest: str) -> str | None:
    """The word that continues a model name past a catalog alias ("-foo" in "mistral-foo 7b",
    "coder" in "deepseek coder 6.7b", "large" in "mistral large 2"), or None when what
    follows is a qualifier, a quant, a version or ordinary words."""
    if spaced := _SPACED_WORD.match(rest):
        return spaced.group(1)
    m = _JOINED_WORD.match(rest) or _WORD_BEFORE_SIZE.match(rest)
    if not m:
        return None
    word = m.group(1)
    if (word in _NAME_QUALIFIERS or word in _NOT_NAMES or re.match(r"(?:i?q\d|f16|fp16|bf16|f32|v\d|\d)", word)
            or word in {"bit", "gb"}):
        return None
    return word


def _same_size(stated_b: float, params_b: float) -> bool:
    """'8b' for 8.03B, '70b' for 70.55B, '7b' for 7.24B; not '13b' for 7.24B."""
    return abs(stated_b - params_b) <= max(1.0, 0.2 * params_b)


def read_size_or_unknown_name(t: Text, r: Reading, catalog: Catalog, original: str) -> None:
    """After catalog names are read: "Zorblax-13B" (an unknown name) or "a 13B model" (a bare size)."""
    if r.fields.get("model_name") or r.fields.get("gguf_path") or r.fields.get("model_family"):
        return
    for m in _BARE_SIZE.finditer(t.text):
        start = _name_start(t.text, original, m.start())
        if start is not None:
            _unknown_model(r, catalog, _original_span(original, t.text, start, m.end()))
            return
    family = _bare_family(t.text, catalog)
    if (m := _unknown_family_model(t.text)) is not None and not (
            family and family[1] and family[0].start() <= m.start() and m.end() <= family[0].end()):
        # "grok 3", "deepseek v4", "kimi k3", "command-r-plus": a model of a family we know of,
        # but not one the catalog has; said, never replaced by a size or a neighbour. (A
        # catalog family written whole, "mistral large", is read as that family below.)
        _unknown_model(r, catalog, _original_span(original, t.text, m.start(), m.end()))
        return
    if size := t.find(_BARE_SIZE):
        value = float(size.group(1))
        if size.group(3) == "亿":
            value /= 10
        if size.group(2):  # "8x7b" without a family: a mixture of experts
            wanted = f"{size.group(1)}x{size.group(2)}b"
            mix = next((m for m in catalog.models
                        if any(a.replace(" ", "").replace("mixtral", "").replace("-", "") == wanted for a in m.aliases)),
                       None)
            if mix:
                r.fields["model_name"] = mix.name
                return
            value *= float(size.group(2))
        r.fields["params_b"] = value
        return
    if family is not None:
        if family[1]:
            r.fields["model_family"] = family[1]
        else:  # "grok on a 4090": a family people name that the catalog has no model of
            _unknown_model(r, catalog, _original_span(original, t.text, family[0].start(), family[0].end()))
        return
    # "can my 3090 run zorblax?": a size-less name, only next to hardware (else it may be a how-to)
    if r.fields.get("gpu_names") or r.fields.get("cpu_name") or r.fields.get("ram_gib"):
        m = _RUN_WORD.search(t.text)
        word = m.group(1) if m else ""
        if word and word not in _NOT_MODEL_WORDS and not word.isdigit() and len(word) >= 3:
            _unknown_model(r, catalog, _original_span(original, t.text, m.start(1), m.end(1)))


# family words that are also everyday words: never read as a family on their own
_COMMON_FAMILY_WORDS = frozenset("command solar orca dolphin opt seed step arctic bloom nous hermes mimo".split())


@cached_per_catalog
def family_keys(catalog: Catalog) -> dict[str, str]:
    """Words that name a family of catalog models → the family key the recommendation
    filters on: each model's family ("qwen3", "devstral") and its letters alone ("qwen")."""
    from rules.open_models import all_models

    keys: dict[str, str] = {}
    for m in all_models(catalog):
        family = m.family.lower()
        keys.setdefault(family, family)
        letters = re.match(r"[a-z]+", family)
        if letters and len(letters.group(0)) >= 2:
            keys.setdefault(letters.group(0), letters.group(0))
    return {k: v for k, v in keys.items() if k not in _COMMON_FAMILY_WORDS}


@cached_per_catalog
def _family_words(catalog: Catalog) -> tuple[str, ...]:
    return tuple(sorted({*family_keys(catalog), *FAMILY_WORDS} - _COMMON_FAMILY_WORDS, key=len, reverse=True))


@cache
def _family_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # "mistral-large" is also written "mistral large" and "mistral_large"
    alternatives = [re.escape(w).replace(r"\-", r"[\s\-_]?") for w in words]
    return re.compile(r"(?<![a-z0-9])(" + "|".join(alternatives) + r")(?![a-z0-9.\-])")


def _bare_family(text: str, catalog: Catalog) -> tuple[re.Match[str], str | None] | None:
    """"devstral on a 4090", "qwen3 on my 3090", "gemma 能跑吗": a family named alone (its
    models and versions are read before this). The match and the family key, or None as
    the key for a family people name that the catalog has no model of ("grok")."""
    if _EXPLAINS.search(text):
        return None
    keys = family_keys(catalog)
    for m in _family_pattern(_family_words(catalog)).finditer(text):
        if re.match(r"[\s\-_:]*v?\d", text[m.end():]):
            continue  # "mistral large 3", "qwen3 14b": a version or a size, not the family alone
        written = re.sub(r"[\s_]", "-", m.group(1))
        return m, keys.get(written) or keys.get(m.group(1))
    return None


def _family_over(family: tuple[re.Match[str], str | None] | None, alias: re.Match[str]) -> str | None:
    """The catalog family a longer phrase names where a model's alias starts it
    ("mistral-large", "phi3.5", "deepseek-r1-distill" past "mistral", "phi3", "deepseek-r1");
    `family` is _bare_family of the text before the alias was read (reading blanks it)."""
    written = alias.group(0)
    start = alias.start() + len(written) - len(written.lstrip())  # alias patterns may take a space
    end = alias.end() - len(written) + len(written.rstrip())
    if family and family[1] and family[0].start() <= start and family[0].end() > end:
        return family[1]
    return None


def _unknown_family_model(text: str) -> re.Match[str] | None:
    """"grok 3", "deepseek v4", "kimi k3": a family with a version the catalog lacks. A bare
    family name ("qwen3", "llama3") asks about the family and is left to the recommendation."""
    if _EXPLAINS.search(text):
        return None
    for m in _FAMILY_VERSION.finditer(text):
        if re.sub(r"[\s\-_:]", "", m.group(0)) not in FAMILY_WORDS:
            return m
    return None


def read_other_unknown_model(t: Text, r: Reading, catalog: Catalog, original: str) -> None:
    """After a catalog model is read: another, unknown model named beside it ("grok 3 mini vs
    llama 3.3 70b") is said, never dropped for the one we know."""
    if r.fields.get("model_name") and not r.failed and (m := _unknown_family_model(t.text)) is not None:
        _unknown_model(r, catalog, _original_span(original, t.text, m.start(), m.end()))


def _name_start(text: str, cased: str, end: int) -> int | None:
    """Where a model name written right before a size starts ("Zorblax-" in "Zorblax-13B",
    "llama 3.1 " in "llama 3.1 13b"), or None when the words there do not name a model
    ("run a 13b", "the best 7b"): a name is joined to the size ("-", "_", ":"), or has a
    capital or a digit as written ("FooLM", "qwen3"), or is a model family word."""
    m = re.search(r"(?<![a-z0-9.+])((?:[a-z][a-z0-9.+]*[\-_:/ ]{1,2})(?:[a-z0-9][a-z0-9.+]*[\-_:/ ]{1,2}){0,3})$",
                  text[:end])
    if not m:
        return None
    tokens = list(re.finditer(r"[a-z0-9][a-z0-9.+]*", m.group(1)))
    while tokens and (tokens[0].group() in _NOT_NAMES or not tokens[0].group()[0].isalpha()):
        tokens.pop(0)
    if not tokens or tokens[-1].group() in _NOT_NAMES:
        return None
    start = m.start(1) + tokens[0].start()
    written = cased[start:end] if len(cased) == len(text) else text[start:end]
    joined = bool(re.search(r"[\-_:]\s*$", text[start:end]))
    looks_named = bool(re.search(r"[A-Z0-9]", written)) or tokens[0].group() in FAMILY_WORDS
    if joined or looks_named:
        return start
    # "zorblax 13b": a plain lowercase word right before the size that is no filler or
    # adjective is most likely a name; "I don't know zorblax 13b" beats a silent Llama 2 13B
    last = tokens[-1].group()
    if last.isalpha() and len(last) >= 4 and last not in _NOT_MODEL_WORDS and last not in _SIZE_ADJECTIVES:
        return m.start(1) + tokens[-1].start()
    return None


def _original_span(original: str, normalised: str, start: int, end: int) -> str:
    """The words as the user wrote them (case kept) when normalising kept the length."""
    if len(original) == len(normalised):
        return original[start:end].strip(" -_:")
    return normalised[start:end].strip(" -_:")


def _unknown_model(r: Reading, catalog: Catalog, text: str) -> None:
    from rapidfuzz import fuzz, process, utils

    from rules.open_models import all_models

    r.fields["unknown_model"] = text
    choices = {}
    for m in all_models(catalog):  # suggestions from the open catalog too (never an answer)
        choices[m.name] = m.name
        for alias in m.aliases:
            choices.setdefault(alias, m.name)
    names: list[str] = []
    for key, score, _ in process.extract(text, list(choices), scorer=fuzz.WRatio, processor=utils.default_process,
                                         limit=12):
        if score >= 50 and choices[key] not in names:
            names.append(choices[key])
        if len(names) == 3:
            break
    size = re.search(r"(\d+(?:\.\d+)?)\s*b\b", text.lower())
    hint = size.group(1) if size else None
    from rules.phrases import say

    how = say(r.lang, "unknown_model_size_hint", size=hint) if hint else ""
    if names:
        r.fail("unknown_model", "error_unknown_model", text=text, names=say(r.lang, "or").join(names), hint=how)
    else:
        r.fail("unknown_model", "error_unknown_model_no_match", text=text, hint=how)
