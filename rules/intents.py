"""Words that ask for one of the follow-on questions (longest context, fine-tuning,
serving several users, the llama.cpp command) and the numbers that go with them.

Kept apart from the parser so the parser can call `detect_intent` from its intent step,
and the engine can read the extra numbers (users, prompt length, batch size) from the
question text without new `Query` fields.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from rules.schema import Intent

_MAX_CONTEXT = re.compile(
    r"\b(longest|largest|biggest|max(?:imum)?|most)\s+(?:\w+\s+){0,2}(context|ctx|context window)\b"
    r"|\bhow (?:much|long|big|large) (?:a )?context\b|\bmax[_ -]?ctx\b"
    r"|最长.{0,6}上下文|最大.{0,6}上下文|上下文.{0,6}最(长|大|多)|能开多(长|大).{0,4}上下文",
    re.I)
_FINE_TUNE = re.compile(r"\bfine[- ]?tun\w*|\bfinetun\w*|\bq?lora\b|\btrain(?:ing)?\b(?! data)|微调|训练", re.I)
_SERVE = re.compile(
    r"\bserv(?:e|ing)\b|\bhow many (?:concurrent |simultaneous |parallel )?(?:users|people|clients|requests)\b"
    r"|\b\d+\s*(?:concurrent |simultaneous |parallel )?(?:users|clients|people)\b|\bparallel slots?\b"
    r"|多少(?:个)?(?:用户|人|并发)|\d+\s*(?:个)?(?:用户|并发)|同时.{0,4}(?:用户|人)",
    re.I)
_COMMAND = re.compile(
    r"\b(?:llama\.?cpp|llama-server|ollama)\b.{0,20}\b(?:command|flags?|cli|command line|args|arguments)\b"
    r"|\b(?:command|flags|command line)\b.{0,20}\b(?:llama\.?cpp|llama-server|ollama)\b"
    r"|\bgive me the command\b|启动命令|命令行|什么命令|的命令|参数怎么",
    re.I)

_USERS = re.compile(r"(\d+)\s*(?:concurrent |simultaneous |parallel )?(?:users|clients|people|slots)\b"
                    r"|(\d+)\s*(?:个)?(?:用户|并发|人同时)", re.I)
_PROMPT = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)\s*(k)?[- ]?(?:token|tok)s?[- ](?:long )?(?:prompt|input|document)"
    r"|prompt (?:of|with) (\d[\d,]*(?:\.\d+)?)\s*(k)?\s*tokens"
    r"|(\d[\d,]*(?:\.\d+)?)\s*(k)?\s*(?:个)?\s*token\s*的?\s*(?:提示|输入|prompt)",
    re.I)
_BATCH = re.compile(r"batch(?:[- ]?size)?\s*(?:of\s*|=\s*|:\s*)?(\d+)|(\d+)\s*(?:per )?batch\b|批大小\s*(\d+)", re.I)
# "sequence length 4096", and "sequence 4096" / "seq 4k" (the word alone, before a number)
_SEQ = re.compile(r"(?:\bseq(?:uence)?(?:[- _]?len(?:gth)?)?|cutoff[- ]?len|max[- ]?len)\s*(?:of\s*|=\s*|:\s*)?(\d+)(k)?"
                  r"|序列(?:长度)?\s*(\d+)(k)?", re.I)
_EXPERTS_IN_RAM = re.compile(r"n-cpu-moe|cpu-moe|experts? (?:in|on|to) (?:system )?(?:ram|cpu|memory)|专家.{0,4}(?:内存|CPU)", re.I)
_FIRST_TOKEN = re.compile(r"first token|\bttft\b|time to first|首个?\s*token|首字", re.I)


class Extras(BaseModel):
    """What a question says beyond the `Query`: the follow-on intent and its numbers."""

    model_config = ConfigDict(frozen=True)

    intent: Intent | None = None
    users: int | None = None
    prompt_tokens: int | None = None
    method: str | None = None  # full | lora | qlora
    batch_size: int | None = None
    sequence_length: int | None = None
    experts_in_ram: bool = False
    wants_first_token: bool = False


def detect_intent(text: str) -> Intent | None:
    """The follow-on intent a question asks for, or None (the parser decides then).
    Order matters: "fine-tune … longest context" is a fine-tuning question."""
    if _FINE_TUNE.search(text):
        return Intent.FINE_TUNE
    if _SERVE.search(text):
        return Intent.SERVE
    if _MAX_CONTEXT.search(text):
        return Intent.MAX_CONTEXT
    if _COMMAND.search(text):
        return Intent.COMMAND
    return None


def _number(digits: str, k: str | None) -> int:
    value = float(digits.replace(",", ""))
    return int(round(value * 1000)) if k else int(round(value))


def read_extras(text: str | None) -> Extras:
    if not text:
        return Extras()
    fields: dict = {"intent": detect_intent(text)}
    if m := _USERS.search(text):
        fields["users"] = int(m.group(1) or m.group(2))
    if m := _PROMPT.search(text):
        g = m.groups()
        digits, k = next((g[i], g[i + 1]) for i in (0, 2, 4) if g[i])
        fields["prompt_tokens"] = _number(digits, k)
    if re.search(r"\bqlora\b", text, re.I):
        fields["method"] = "qlora"
    elif re.search(r"\blora\b", text, re.I):
        fields["method"] = "lora"
    elif re.search(r"\bfull(?:[- ]parameter)?\s+fine[- ]?tun|\bfull\s+(?:training|finetun)|全量|全参", text, re.I):
        fields["method"] = "full"
    if m := _BATCH.search(text):
        fields["batch_size"] = int(next(g for g in m.groups() if g))
    if m := _SEQ.search(text):
        g = m.groups()
        digits, k = (g[0], g[1]) if g[0] else (g[2], g[3])
        fields["sequence_length"] = _number(digits, k)
    fields["experts_in_ram"] = bool(_EXPERTS_IN_RAM.search(text))
    fields["wants_first_token"] = bool(_FIRST_TOKEN.search(text))
    return Extras(**fields)
