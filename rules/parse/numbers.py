"""Numbers and units in English and Chinese: GPU counts ("六张", "six", "x6",
"6 cards"), context lengths ("at 8k", "1024-token", "32K上下文") and memory sizes."""

from __future__ import annotations

import re

from rules.parse.text import NUM, Text

MAX_CONTEXT = 10_000_000

ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EN_COUNTS = {
    "one": 1, "single": 1, "a single": 1, "two": 2, "dual": 2, "twin": 2, "a pair of": 2, "pair of": 2,
    "three": 3, "triple": 3, "four": 4, "quad": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
}
_ZH_NUMBER = r"(十[一二三四五六七八九]?|[一二三四五六七八九]十[一二三四五六七八九]?|[一二两俩三四五六七八九])"
# what may follow a count for it to count GPUs: a brand, a model number, or "GPUs"/"cards"
_GPU_AHEAD = (r"(?=\s*(?:x\s*)?(?:\d{1,3}\s*(?:gb|g|gib)\s+(?:of\s+vram\s+)?)?(?:nvidia|geforce|amd|radeon|intel|arc\b|tesla|quadro|rtx|gtx|rx[\s\-]*\d|titan|instinct|pro\s+w|"
              r"mi\d|[abhlmpvtw]\d|pro[\s\-]+[a-z]?\d|gpus?\b|cards?\b|graphics|\d{3,5}(?![\d.]*\s*(?:b\b|b[^a-z]|k\b|g\b|gb|bit|-bit|位|亿))))")


_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = "|".join(sorted([*_UNITS, *_TENS], key=len, reverse=True))
_SPELLED_SIZE = re.compile(rf"(?<![a-z])((?:(?:{_WORD})[\s-]+hundred(?:[\s-]+and)?[\s-]+)?(?:{_WORD})(?:[\s-]+(?:{_WORD}))?)"
                           r"\s+(?=(?:gb|gigs?|gigabytes?|tb|terabytes?)\b)")


def _spelled(words: str) -> int:
    """"thirty-two" → 32, "one hundred and twenty eight" → 128."""
    total = 0
    for word in re.split(r"[\s-]+", words):
        if word == "hundred":
            total *= 100
        elif word != "and":
            total += _UNITS.get(word) or _TENS.get(word, 0)
    return total


def zh_number(word: str) -> int:
    """一 … 九十九 (as written in counts and channel numbers)."""
    if word.isdigit():
        return int(word)
    if "十" not in word:
        return ZH_DIGITS[word]
    tens, _, ones = word.partition("十")
    return (ZH_DIGITS[tens] if tens else 1) * 10 + (ZH_DIGITS[ones] if ones else 0)


def normalise_counts(text: str) -> str:
    """Rewrite every way of counting GPUs as "Nx " before the card name."""
    # Chinese: 六张3090, 十二块4090, 八卡a100, 双卡, 两个4090
    # numbers in words before a memory size: "thirty-two gigabytes", "sixty four gb"
    text = _SPELLED_SIZE.sub(lambda m: f"{_spelled(m.group(1))} ", text)
    # Chinese numerals before a memory size: "六十四G" is 64 GB; "两根32G" is two modules
    text = re.sub(rf"{_ZH_NUMBER}\s*(?=(?:g|gb|t|tb)(?![a-z]))", lambda m: str(zh_number(m.group(1))), text)
    text = re.sub(rf"{_ZH_NUMBER}\s*(?:根|条)\s*(?=\d)", lambda m: f" {zh_number(m.group(1))}x ", text)
    # a space before "Nx" keeps it apart from a card's memory or number ("1060 3g两张", "p40一张")
    text = re.sub(rf"{_ZH_NUMBER}\s*(?:张|块|片|卡)", lambda m: f" {zh_number(m.group(1))}x ", text)
    text = re.sub(r"(?<![\d.])(\d{1,2})\s*(?:张|块|片|卡)(?!\s*[a-z]*\s*(?:内存|ram))", r" \1x ", text)
    text = re.sub(rf"{_ZH_NUMBER}\s*个{_GPU_AHEAD}", lambda m: f" {zh_number(m.group(1))}x ", text)
    text = text.replace("双显卡", "2x gpus ").replace("单显卡", "1x gpus ")
    text = re.sub(r"双\s*卡", "2x ", text)
    text = re.sub(r"单\s*卡", "1x ", text)
    # "four-bit", "eight bit": bit counts, not GPU counts
    text = re.sub(r"(?<![a-z])(two|three|four|five|six|eight|sixteen)[\s-]*bits?(?![a-z])",
                  lambda m: f"{EN_COUNTS[m.group(1)]}-bit", text)
    # English words: "six 3090s", "two RTX 4090", "a pair of 3090s"; not "four-bit" or "eight channels"
    words = "|".join(sorted(EN_COUNTS, key=len, reverse=True))
    text = re.sub(rf"(?<![a-z])({words})\s+(?:of\s+)?{_GPU_AHEAD}", lambda m: f"{EN_COUNTS[m.group(1)]}x ", text)
    # "6 cards of 3090", "6 gpus 3090" → "6x 3090"
    text = re.sub(r"(?<![\d.])(\d{1,2})\s*(?:cards?|gpus?)\s+(?:of\s+)?(?=[a-z]*\s*\d|nvidia|geforce|amd|radeon|rtx|gtx|rx|tesla)",
                  r"\1x ", text)
    return text


def size_gib(value: float, unit: str) -> float:
    """A memory size as written ("64gb", "1tb", "24576mib") in GiB; a "12GB" card has 12 GiB."""
    unit = unit.lower()
    if unit.startswith("t"):
        return value * 1024
    if unit.startswith("m"):
        return value / 1024
    return value


SIZE_UNIT = r"(tb|tib|terabytes?|gb|gib|gigs?|gigabytes?|g|mb|mib|megabytes?)(?![a-z0-9/])"

# contexts, most explicit first
_CTX_WORD = r"(?:context|ctx|上下文|context\s*window|window)"
_CONTEXTS = [
    # llama.cpp / Ollama flags: -c 8192, --ctx-size 16384, n_ctx=4096, num_ctx 8192
    re.compile(rf"(?:(?<![a-z0-9])-c|--ctx[-_]size|n_ctx|num_ctx|context_length)\s*[=:]?\s*{NUM}\s*(k|m)?(?![a-z0-9])"),
    # "8k context", "8192 tokens of context", "1024-token context", "32K上下文", "8k的上下文", "8k ctx"
    re.compile(rf"{NUM}\s*(k|m)?\s*[-\s]?(?:tokens?\s*)?(?:of\s*)?(?:的\s*)?{_CTX_WORD}"),
    # "context of 16384", "context length: 32k", "上下文 32k", "上下文长度为8192"
    re.compile(rf"{_CTX_WORD}(?:\s*(?:length|window|size|len|of|=|:|：|长度|窗口|为|是|设为|开到|设置为|到))*\s*{NUM}\s*(k|m)?"
               r"(?![a-z0-9])"),
    # "at 8k", "at 32K"
    re.compile(rf"(?<![a-z])at\s+{NUM}\s*(k|m)(?![a-z0-9])"),
    # "1024-token", "8k tokens", "16384 tokens" (not "tokens/s", "tokens per second")
    re.compile(rf"(?<![\d.]){NUM}\s*(k|m)?[-\s]*tokens?(?![a-z])(?!\s*(?:/|per\b|a\s+sec|每|/s))"),
]
_MIN_TOKENS_ALONE = 256  # "100 tokens" alone is an output length, not a context
# "… 32k?" standing alone: read as context, and said so
_BARE_K = re.compile(r"(?<![\w.$¥€£])(1|2|4|8|16|32|64|128|256|512|1024)\s*k(?![a-z0-9])"
                     r"(?!\s*(?:monitor|display|screen|resolution|budget|usd|dollars|元|块|屏|显示器|分辨率))")


def read_context(t: Text) -> int | None:
    """The context length asked for in so many words ("at 8k", "1024-token", "上下文 32k")."""
    for pattern in _CONTEXTS:
        for m in pattern.finditer(t.text):
            value = _tokens(m.group(1), m.group(2))
            if pattern is _CONTEXTS[-1] and value < _MIN_TOKENS_ALONE:
                continue
            if not _plausible_context(m.group(1), m.group(2), strict=pattern is _CONTEXTS[1]) and (
                    pattern is not _CONTEXTS[0] or m.group(2) == "m"):
                continue  # "3090 ctx 65536": the card's number stands before the word
            t.take(m)
            return value
    return None


def _plausible_context(number: str, unit: str | None, strict: bool = False) -> bool:
    """A context written without "k" is a round number of tokens (4096, 32768, 16000, 2500);
    a model number such as 3090, 4060 or 7900 is a card's, not a context. `strict`: the number
    stands before the word ("fp16 context", "0324 上下文"), where it is most often a name's."""
    if unit == "m":  # "1m context" is a million tokens; "gemma-3-270m context" is a model's size
        return float(number) <= 10
    if unit:
        return True
    if "." in number:  # "mistral-small-3.2 上下文": a version, not a context
        return False
    value = int(number)
    if strict:  # huge numbers pass, to be refused by the range check with a sentence
        return value >= 100_000 or (value >= 256 and (value % 256 == 0 or value % 500 == 0))
    if not 1000 <= value < 100_000:  # a model number has 4-5 digits; others are judged by range later
        return True
    return value % 256 == 0 or value % 500 == 0


def read_bare_context(t: Text) -> int | None:
    """A bare "32k" left over once models are read ("phi-3-mini-4k" is a name): a context,
    which the answer says it assumed."""
    if m := t.find(_BARE_K):
        return _tokens(m.group(1), "k")
    return None


def _tokens(number: str, unit: str | None) -> int:
    value = float(number)
    if unit == "k":
        value *= 1024
    elif unit == "m":
        value *= 1024 * 1024
    return int(value)
