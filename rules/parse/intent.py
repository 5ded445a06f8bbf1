"""What the question asks for, from its words and what was read from it."""

from __future__ import annotations

import re

from rules.parse.asks import follow_on_intent
from rules.schema import Intent

_SPEED_WORDS = re.compile(
    r"how fast|tokens?\s*/\s*s|tokens?\s*per\s*s|tok/s|t/s|\bspeed|\bfast\b|速度|多快|每秒|快吗|tps"
    r"|多少\s*tokens?|几\s*(?:个)?\s*tokens?|多少\s*t/s|how many tokens"
)
_RECOMMEND_WORDS = re.compile(
    r"what (?:model|llm|models|llms|size)|which (?:model|llm|models)|best (?:model|llm)|what can i run"
    r"|what could i run|biggest|largest|recommend|suggest|推荐|能跑什么|跑什么|什么模型|哪个模型|哪些模型|最大的模型|多大的模型"
)
_REQUIREMENT_WORDS = re.compile(
    r"what (?:gpu|card|graphics|hardware|pc|computer|setup|rig)|which (?:gpu|card)|how much (?:vram|ram|memory)"
    r"|requirement|need|minimum|file size|how big|how large|size of|文件大小|文件多大|有多大|要多少|需要|什么显卡|多少显存|多少内存|最低|配置"
)
_EXPLAIN_WORDS = re.compile(
    r"^\s*(?:why|how does|how do|explain|what is|what's|what are|difference|is it true)"
    r"|为什么|为何|什么是|区别|解释|原理|是什么"
)

# Opinion and "does X help" questions about hardware are explanations, not requests
# for a model list: "Is DDR5 worth it?", "Will a faster CPU make llama.cpp faster?"; also
# as the second sentence ("I have an RTX 3090. Will adding another one double my tokens/s?")
_OPINION_WORDS = re.compile(
    r"(?:^|(?<=[.!?。])\s*)\s*(?:is|are|does|do|did|will|would|should|could|can|how much does|how much will)\b.*?"
    r"(?:\bworth\b|\bhelps?\b|\bmatters?\b|\bimproves?\b|\bfaster\b|\bbenefits?\b|\bbottleneck"
    r"|\bbetter\b|\bdifference\b|\bimpact\b|\baffects?\b|\bspeed(?:s)? up\b"
    r"|\bdoubles?\b|\btwice\b|\bscales?\b|\bhalve)"
    # how speed scales with one more card, however the sentence starts ("If I add a second
    # RTX 3090, do I get twice the tokens per second?")
    r"|\b(?:another|second|extra|add(?:ing)?)\b[^.?!]*\b(?:doubles?|twice|scales?)\b"
    r"|值得|值不值|有用吗|有没有用|有帮助|帮助大吗|会更快|会快|更快吗|影响大|有影响|有区别|有必要|翻倍|加倍|快一倍|两倍"
)


def intent_of(raw: str, rest: str, q: dict) -> Intent:
    """`raw`: the question's words; `rest`: what is left once devices, models and numbers
    are read (the follow-on intents are judged on it)."""
    has_hw = bool(q.get("gpu_names") or q.get("cpu_only") or q.get("cpu_name") or q.get("ram_gib")
                  or q.get("ram_kind") or q.get("bandwidth_gbs"))
    has_model = bool(q.get("model_name") or q.get("params_b") or q.get("model_file_gb") or q.get("gguf_path"))
    if q.get("error"):
        return Intent.CAN_RUN
    follow_on = follow_on_intent(rest, q)
    if has_model and follow_on:  # max_context, fine_tune, serve, command
        return follow_on
    if has_hw and follow_on == Intent.SERVE and q.get("users"):  # "how many 8B users can 2x3090 serve"
        return Intent.SERVE
    if has_model and (q.get("prompt_tokens") or q.get("wants_first_token")):  # prefill, time to first token
        return Intent.SPEED
    if _SPEED_WORDS.search(raw) and (has_model or q.get("bandwidth_gbs")):
        return Intent.SPEED
    if q.get("bandwidth_gbs") and q.get("model_file_gb"):
        return Intent.SPEED
    if has_hw and not has_model:
        if (_EXPLAIN_WORDS.search(raw) or _OPINION_WORDS.search(raw)) and not _RECOMMEND_WORDS.search(raw):
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


# With a pasted run log: "why is it slow?", "is this speed normal?", "what -ngl should I use?"
_DIAGNOSE_WORDS = re.compile(
    r"\bslow|\bnormal\b|-ngl\b|\bngl\b|gpu.layers|fall(?:s|en|ing)? back|fallback|\bcpu instead|why|\bspeed|"
    r"tokens?\s*/\s*s|t/s|tok/s|\bexpected\b|diagnos|offload|慢|正常|为什么|为何|速度|回退|层|卸载"
)


def wants_diagnosis(raw: str) -> bool:
    """The question asks why a run went as it did (said with a pasted log)."""
    return bool(_DIAGNOSE_WORDS.search(raw))


def asks_something_else(raw: str) -> bool:
    """A question asked with a pasted log that is not about the run: "what is the biggest
    model I can run?", "how much context fits?", "can I fine-tune?"."""
    return bool(_RECOMMEND_WORDS.search(raw) or follow_on_intent(raw, {}) not in (None, Intent.COMMAND))
