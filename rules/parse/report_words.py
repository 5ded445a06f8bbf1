"""What a typed speed report's words say about its figure, beyond hardware and model:
the tokens/s figures themselves ("1,200 t/s" whole, a decimal comma never read as its
last digit), a GPU count in words ("with 2 GPUs", "双3090"), whether the run began at an
empty context, and whether the figure is single-stream llama.cpp generation at all (not
a prompt-processing figure, speculative decoding, concurrent requests or another
runtime). Pure regular expressions; the sentences come from phrases.toml.
"""

from __future__ import annotations

import re

from rules.phrases import say

# a number: "1,200" whole (a thousands separator is not the end of the figure), and
# never the exponent of another ("1e9 tok/s" is not 9 tokens/s)
_NOT_EXPONENT = r"(?<!\d[eE])(?<!\d[eE][+-])"
_NUM = r"(?<![\d.,])" + _NOT_EXPONENT + r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SPEED = re.compile(
    _NUM + r"\s*(?:tokens?|toks?|t|个?\s*token)\s*(?:/|per|每)\s*(?:s|sec|second|秒)\b|"
    + _NUM + r"\s*(?:tps|tok/sec|tokens/sec)\b|"
    r"(-?(?<![\d.,])" + _NOT_EXPONENT + r"\d+(?:\.\d+)?)\s*(?:tokens?|toks?|t)/s|"
    r"每秒\s*" + _NUM + r"\s*个?\s*tokens?", re.IGNORECASE)
# a figure that is not single-stream llama.cpp generation: the phrase key saying so.
# Prefill words count only when no generation word is there ("2k prompt, gen 40 t/s").
_PREFILL = re.compile(r"\bpp\s*\d*\b|\bprompt\b|\bprefill|\bprompt[- ]processing|预填充|提示词|提示处理", re.IGNORECASE)
_DECODE = re.compile(r"\btg\s*\d*\b|\bgen\b|generat|\bdecod|(?<!prompt )\beval rate|生成|输出", re.IGNORECASE)
_SPECULATIVE = re.compile(r"speculative|draft model|\bdraft\b|\bmtp\b|推测解码|投机", re.IGNORECASE)
# concurrent sequences: their tokens/s is a total. llama.cpp's -b / -ub / n_batch (the
# prompt batch, 128 and up) do not change generation and are not meant
_BATCHED_WORDS = re.compile(r"\bbatched\b|\bbatching\b|\bparallel\b(?!\s*[=:]?\s*1\b)|\bconcurren|\bsimultaneous"
                            r"|\baggregate\b|\bthroughput\b|并发", re.IGNORECASE)
_BATCH_SIZE = re.compile(r"(?<![\w-])(?:batch(?:[ _-]?size)?|bs)\s*[=:]?\s*(\d+)", re.IGNORECASE)
_SLOTS = re.compile(r"(?<!\w)-np\s*(\d+)|\b(\d+)\s+(?:users|requests|clients|streams|sequences|slots)\b"
                    r"|(\d+)\s*(?:个)?(?:用户|请求)", re.IGNORECASE)

# runtimes that are not llama.cpp (Ollama, LM Studio, koboldcpp, Jan run it and are kept)
_OTHER_RUNTIME = re.compile(
    r"\b(vllm|sglang|exllama(?:v2|v3)?|exl2|exl3|tabbyapi|tensorrt(?:-llm)?|trt-llm|mlx(?:[-_]lm)?|mlc(?:-llm)?"
    r"|aphrodite|transformers|awq|gptq|ktransformers|ik_llama)\b", re.IGNORECASE)
_RUNTIME_NAMES = {"exllama": "ExLlama", "exllamav2": "ExLlamaV2", "exllamav3": "ExLlamaV3", "exl2": "ExLlamaV2 (EXL2)",
                  "exl3": "ExLlamaV3 (EXL3)", "vllm": "vLLM", "sglang": "SGLang", "mlx": "MLX", "tabbyapi": "TabbyAPI",
                  "tensorrt": "TensorRT", "tensorrt-llm": "TensorRT-LLM", "trt-llm": "TensorRT-LLM", "awq": "AWQ",
                  "gptq": "GPTQ"}
# "with 2 GPUs", "on two cards", "双卡": a count the card's name may not carry
_GPU_COUNT_WORDS = re.compile(
    r"\b(\d+|two|three|four|five|six|seven|eight|dual|quad)\s*(?:x\s*)?(?:gpus?|cards?|graphics cards?)\b"
    r"|([两双二三四五六七八])\s*(?:张|块)?\s*(?:卡|显卡|(?:rtx|gtx|rx)?\s*\d{4})", re.IGNORECASE)
_COUNT_WORDS = {"two": 2, "dual": 2, "three": 3, "four": 4, "quad": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "两": 2, "双": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8}


# the run started from an empty context, whatever window was set ("-c 32768, short prompt")
_EMPTY_CONTEXT = re.compile(
    r"short prompt|empty context|new (?:chat|conversation)|fresh (?:chat|context)|first (?:message|reply|turn)"
    r"|start of (?:the |a )?(?:chat|conversation)|空上下文|短提示|新对话", re.IGNORECASE)
FILLED_DROP = 0.85  # a context whose filled speed is below this share of the empty one must be said


def _batched(text: str) -> bool:
    if _BATCHED_WORDS.search(text):
        return True
    if any(2 <= int(m.group(1)) < 128 for m in _BATCH_SIZE.finditer(text)):
        return True
    return any(int(next(g for g in m.groups() if g)) > 1 for m in _SLOTS.finditer(text))


def speeds_in(text: str) -> list[float]:
    """Every tokens/s figure a text states, in order ("1,200 t/s" is 1200)."""
    return [float(next(g for g in m.groups() if g).replace(",", "")) for m in _SPEED.finditer(text)]


def without_speeds(text: str) -> str:
    """The text with its tokens/s figures blanked, for the parser to read the rest."""
    return _SPEED.sub(" ", text)


def said_empty_context(text: str) -> bool:
    """Whether the report says the run began at an empty context ("short prompt")."""
    return bool(_EMPTY_CONTEXT.search(text))


def gpu_count_in_words(text: str) -> int | None:
    """The GPU count a text states apart from a card's name ("with 2 GPUs"), or None."""
    m = _GPU_COUNT_WORDS.search(text or "")
    if not m:
        return None
    word = (m.group(1) or m.group(2)).lower()
    return int(word) if word.isdigit() else _COUNT_WORDS.get(word)


def not_comparable(text: str, lang: str) -> str | None:
    """Why a typed figure is not single-stream llama.cpp generation speed (a sentence), or None."""
    if _PREFILL.search(text) and not _DECODE.search(text) and not said_empty_context(text):
        return say(lang, "report_error_prefill")
    if _SPECULATIVE.search(text):
        return say(lang, "report_error_speculative")
    if _batched(text):
        return say(lang, "report_error_batched")
    if m := _OTHER_RUNTIME.search(text):
        word = m.group(1)
        return say(lang, "report_error_runtime", runtime=_RUNTIME_NAMES.get(word.lower(), word))
    return None

