"""What a question asks for beyond a model and hardware: users to serve, a prompt length,
fine-tuning numbers (method, batch, sequence length), where MoE experts live, time to
first token, the full native context, and a runtime it names.

Read first, from the shared buffer, so their numbers are taken before any other reader
sees them: "batch 4" is not four GPUs, "a 4k-token prompt" is not the context, "--n-cpu-moe
40" and "experts on the CPU" keep the GPU instead of making the question CPU-only.
"""

from __future__ import annotations

import re

from rules.parse.reading import Reading
from rules.parse.text import Text
from rules.schema import Intent

_NUMBER = r"(\d{1,3}(?:,\d{3})+(?![\d])|\d+(?:\.\d+)?)\s*(k)?"  # "2048,5个用户" is 2048 then 5

_USERS = re.compile(
    rf"(?:for\s+|with\s+|serve\s+|serving\s+)?{_NUMBER}\s*(?:concurrent\s+|simultaneous\s+|parallel\s+|active\s+)?"
    r"(?:users|clients|people|persons|requests|sessions|slots|seqs|sequences\s+in\s+parallel)(?![a-z])"
    rf"|{_NUMBER}\s*(?:个|位|人)?\s*(?:用户|并发|人同时|路并发)"
    rf"|{_NUMBER}\s*(?:个|位)?\s*人\s*(?:用|使用|同时|一起用|共用)|给\s*{_NUMBER}\s*(?:个|位)?\s*人"
    rf"|(?:team|group|office|company|class)\s+of\s+{_NUMBER}(?![\d.])"
    rf"|(?:并发|并发数|用户数)\s*[:：=为是]?\s*{_NUMBER}"
    rf"|(?<![a-z0-9])-np\s*{_NUMBER}(?![\d.])|--parallel\s*[= ]?\s*{_NUMBER}"
)
_PROMPT = re.compile(
    rf"{_NUMBER}[- ]?(?:token|tok)s?[- ](?:long\s+)?(?:prompt|input|document|doc|file|codebase|text|article|paper|pdf"
    r"|system prompt)"
    rf"|prompts?\s+(?:of|with)\s+{_NUMBER}\s*tokens?"
    rf"|{_NUMBER}\s*(?:个)?\s*token\s*的?\s*(?:提示词?|输入|prompt)"
    rf"|(?:prompt|提示词?|输入)\s*(?:length|长度)?\s*(?:了)?\s*[:：=为是]?\s*{_NUMBER}\s*(?:个)?\s*(?:tokens?)?(?![a-z0-9])"
    rf"|(?:pasting|paste|feed|feeding|send|sending)\s+(?:in\s+)?(?:a\s+)?{_NUMBER}[- ]?(?:token|tok)s?\b",
)
_BATCH = re.compile(r"(?<![a-z])(?:micro[- _]?)?(?:batch(?:[- _]?size)?|bs)\s*(?:of\s*|=\s*|:\s*)?(\d+)(?![\d.])"
                    r"|批(?:大小|次大小|量)\s*[:：=为是]?\s*(\d+)")
_BATCH_AFTER = re.compile(r"(?<![\d.])(\d+)\s*(?:per\s+)?batch\b")  # "4 per batch": only when no "batch 4"
_SEQUENCE = re.compile(
    rf"(?:seq(?:uence)?[-_ ]?len(?:gth)?|sequences?(?:\s+length)?|seq|cutoff[-_ ]?len|max[-_ ]?seq[-_ ]?len|max[-_ ]?len)"
    rf"\s*(?:of\s*|=\s*|:\s*)?{_NUMBER}(?![a-z0-9])|(?:序列长度|序列长)\s*[:：=为是]?\s*{_NUMBER}(?![a-z0-9])"
)
_QLORA = re.compile(r"(?<![a-z])q[- ]?lora(?![a-z])")
_LORA = re.compile(r"(?<![a-z])lora(?![a-z])")
_FULL_TUNE = re.compile(r"\bfull(?:[- ]parameter)?\s+(?:fine[- ]?tun\w*|training|finetun\w*)|全量|全参")
_FINE_TUNE_WORDS = re.compile(r"fine[- ]?tun\w*|\bfinetun\w*|\btrain(?:ing)?\b(?! data)|微调|训练")
_SERVE_WORDS = re.compile(
    r"\bserv(?:e|ing)\b|\bhow many (?:concurrent |simultaneous |parallel )?(?:users|people|clients|requests)\b"
    r"|\bparallel slots?\b|多少(?:个)?(?:用户|人|并发)|同时.{0,4}(?:用户|人)")
_EXPERTS_IN_RAM = re.compile(
    r"--?n[-_]cpu[-_]moe(?:\s*[= ]\s*\d+)?|--?cpu[-_]moe|-ot\s+\S*exps\S*=cpu|override[-_]tensors?\s+\S*exps\S*"
    r"|(?:the\s+)?(?:moe\s+)?(?:experts?|expert\s+layers|moe\s+layers)\s+(?:layers\s+)?(?:kept\s+|offloaded\s+|left\s+|placed\s+|put\s+)?"
    r"(?:in|on|to|into)\s+(?:the\s+)?(?:system\s+)?(?:ram|cpu|memory)"
    r"|(?:offload|put|keep|place)\s+(?:the\s+)?(?:moe\s+)?experts?\s+(?:layers\s+)?(?:in|on|to|into)\s+(?:the\s+)?(?:system\s+)?(?:ram|cpu|memory)"
    r"|(?:把\s*)?(?:moe\s*)?(?:专家|moe)\s*(?:层|权重)?\s*(?:都|全部|全)?\s*(?:放|放在|放到|放进|卸载到|卸载|在|留在|跑在|offload到|丢到|扔到)\s*(?:系统)?\s*(?:内存|cpu)(?:里|上)?")
_FIRST_TOKEN = re.compile(r"first (?:token|word)|\bttft\b|time to first|before it starts answering"
                          r"|首个?\s*token|首字")
_FULL_CONTEXT = re.compile(
    r"(?:at|with|using|on|use)\s+(?:the\s+)?(?:full|whole|entire|native|maximum|max)\s+(?:context|ctx)(?:\s+(?:length|window))?"
    r"|(?:full|native)\s+(?:context|ctx)(?:\s+(?:length|window))?"
    r"|满上下文|上下文\s*(?:拉满|开满|全开|满)|全上下文|原生上下文|最大上下文\s*(?:跑|运行|下)")

# runtimes as people name them → the `Answer.runtime` value (DESIGN.md)
_B = r"(?<![a-z0-9])"  # a word's start, also right after Chinese ("用ollama")
_E = r"(?![a-z0-9])"
_RUNTIMES = [
    (re.compile(rf"{_B}k[- ]?transformers{_E}"), "ktransformers"),
    (re.compile(rf"{_B}vllm{_E}"), "vllm"),
    (re.compile(rf"{_B}sglang{_E}"), "sglang"),
    (re.compile(rf"{_B}(?:tensorrt[- ]?llm|trt[- ]?llm){_E}"), "tensorrt_llm"),
    (re.compile(rf"{_B}(?:exllama(?:v[23]|\s*v?[23])?|tabby\s*api){_E}"), "exllama"),
    (re.compile(rf"{_B}mlx(?:[- _]lm)?{_E}"), "mlx"),
    (re.compile(rf"{_B}(?:lm\s*studio|lmstudio){_E}"), "lm_studio"),
    (re.compile(rf"{_B}ollama{_E}"), "ollama"),
    (re.compile(rf"{_B}(?:(?:hf\s+)?transformers|bitsandbytes|bnb|load_in_[48]bit){_E}"), "transformers"),
    (re.compile(rf"{_B}(?:llama[.\-_ ]?cpp|llama-server|llama-cli|koboldcpp){_E}"), "llama.cpp"),
]


_EXL_FILE = re.compile(rf"{_B}exl[23]{_E}")
_ANY_RUNTIME = re.compile(r"vllm|sglang|tensorrt|trt|exllama|tabby|exl[23]|mlx|studio|lmstudio|ollama|transformers"
                          r"|bitsandbytes|bnb|load_in|llama|kobold")
# a choice between the runtimes named
_CHOICE = re.compile(r"\bor\b|\bvs\.?|\bversus\b|\bcompared?\b|\bbetter\b|还是|或者|或|对比|比较|哪个")
_LABELS = {"llama.cpp": "llama.cpp", "ollama": "Ollama", "lm_studio": "LM Studio", "vllm": "vLLM", "sglang": "SGLang",
           "tensorrt_llm": "TensorRT-LLM", "exllama": "ExLlama", "mlx": "MLX", "transformers": "transformers",
           "ktransformers": "ktransformers"}


def _runtimes_named(text: str) -> list[tuple[int, str]]:
    """The runtimes a question names, in the order written, each once; the first named is
    the question's runtime ("ktransformers" is not also "transformers")."""
    if not _ANY_RUNTIME.search(text):  # most questions name none: one scan instead of ten
        return []
    found: dict[str, int] = {}
    taken: list[tuple[int, int]] = []
    for pattern, name in _RUNTIMES:  # longer names first in _RUNTIMES
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.setdefault(name, m.start())
    if not found and (m := _EXL_FILE.search(text)):
        found["exllama"] = m.start()  # "exl2" alone names its runtime; beside "vllm" it is only the file
    return sorted(((pos, name) for name, pos in found.items()))


# what the model is for ("best model for coding", "写代码用什么模型"): the use a ranking by
# quality evidence is for (rules/rank.py). The first use named wins. Not taken from the buffer:
# these words name nothing else, and a model's own name ("Qwen2.5-Coder") must stay readable.
_USES = [
    ("coding", re.compile(
        r"(?<![a-z])(?:coding|programming|(?:to|for|writing|write|generate|generating|review(?:ing)?)\s+code"
        r"|code\s+(?:completion|generation|assistant|review|editing)|software\s+(?:development|engineering)"
        r"|(?:a\s+)?coding\s+(?:model|assistant|agent))(?![a-z])"
        r"|写代码|编程|写程序|编码|代码补全|代码生成|敲代码|程序员")),
    ("reasoning", re.compile(r"(?<![a-z])(?:reasoning|math|maths|mathematics|logic|problem[- ]solving)(?![a-z])"
                             r"|推理|数学|逻辑|解题|做题")),
    ("chinese", re.compile(r"(?<![a-z])(?:chinese|mandarin)(?![a-z])|中文|汉语|国语|普通话")),
    ("tool_use", re.compile(r"(?<![a-z])(?:tool[- ]?(?:use|using|calling|calls?)|function[- ]calling|agents?"
                            r"|agentic|mcp)(?![a-z])|工具调用|函数调用|智能体|调用工具")),
    ("vision", re.compile(r"(?<![a-z])(?:vision|images?|pictures?|photos?|screenshots?|multimodal|ocr)(?![a-z])"
                          r"|看图|图片|图像|视觉|多模态|识图|照片|截图")),
    ("long_context", re.compile(r"(?<![a-z])(?:long[- ]context|long\s+documents?|long\s+texts?|whole\s+books?)(?![a-z])"
                                r"|长上下文|长文本|长文档|整本书")),
    ("general", re.compile(r"(?<![a-z])(?:general(?:[- ]purpose|\s+knowledge|\s+use|\s+questions)|knowledge|trivia"
                           r"|everyday\s+(?:use|questions))(?![a-z])|通用|常识|知识问答|日常使用|日常问答")),
]


def read_use(text: str) -> str | None:
    """The use a question names, at the earliest position when it names several."""
    found = [(m.start(), use) for use, pattern in _USES if (m := pattern.search(text))]
    return min(found)[1] if found else None


def _first_pair(groups: tuple) -> tuple[str, str | None]:
    """The (digits, k) pair of whichever alternative matched."""
    for i in range(0, len(groups) - 1, 2):
        if groups[i]:
            return groups[i], groups[i + 1]
    return next(g for g in groups if g), None


def read_asks(t: Text, r: Reading) -> None:
    f = r.fields
    if use := read_use(t.text):
        f["use"] = use
    named = _runtimes_named(t.text)
    if named:
        f["runtime"] = named[0][1]
    if len(named) > 1 and _CHOICE.search(t.text):
        # "llama.cpp or vLLM for 10 users?", "MLX 还是 llama.cpp": one answer per runtime
        f["options"] = [{"label": _LABELS[name], "runtime": name} for _, name in named]
    if t.find(_EXPERTS_IN_RAM):
        f["experts_in_ram"] = True
    if m := t.find(_PROMPT):
        digits, k = _first_pair(m.groups())
        f["prompt_tokens"] = _prompt_tokens(digits, k)
    if m := t.find(_USERS):
        digits, _ = _first_pair(m.groups())
        users = int(float(digits.replace(",", "")))
        if users >= 1:
            f["users"] = users
    if t.find(_QLORA):
        f["train_method"] = "qlora"
    elif t.find(_LORA):
        f["train_method"] = "lora"
    elif t.find(_FULL_TUNE):
        f["train_method"] = "full"
    if m := t.find(_SEQUENCE):  # before the batch: "序列长度2048 batch size 16"
        digits, k = _first_pair(m.groups())
        f["sequence_length"] = _tokens(digits, k)
    if m := (t.find(_BATCH) or t.find(_BATCH_AFTER)):
        f["batch_size"] = int(next(g for g in m.groups() if g))
    if _FIRST_TOKEN.search(t.text):
        f["wants_first_token"] = True
    if t.find(_FULL_CONTEXT):
        f["full_context"] = True


def _prompt_tokens(digits: str, k: str | None) -> int:
    """"a 4000-token prompt", "a 4k prompt" (4,000: prompts are counted in thousands)."""
    value = float(digits.replace(",", ""))
    return int(round(value * 1000)) if k else int(round(value))


def _tokens(digits: str, k: str | None) -> int:
    """A sequence or context length: "4k" is 4,096."""
    value = float(digits.replace(",", ""))
    return int(round(value * 1024)) if k else int(round(value))


_MAX_CONTEXT = re.compile(
    r"\b(longest|largest|biggest|max(?:imum)?|most)\s+(?:\w+\s+){0,2}(context|ctx|context window)\b"
    r"|\bhow (?:much|long|big|large) (?:a )?context\b|\bmax[_ -]?ctx\b"
    r"|最长.{0,6}上下文|最大.{0,6}上下文|上下文.{0,6}最(长|大|多)|能开多(长|大).{0,4}上下文")
_COMMAND = re.compile(
    r"\b(?:llama\.?cpp|llama-server|ollama)\b.{0,20}\b(?:command|flags?|cli|command line|args|arguments)\b"
    r"|\b(?:command|flags|command line)\b.{0,20}\b(?:llama\.?cpp|llama-server|ollama)\b"
    r"|\bgive me the command\b|启动命令|命令行|什么命令|的命令|参数怎么")


def follow_on_intent(text: str, fields: dict) -> Intent | None:
    """The follow-on question asked (fine-tuning, serving, longest context, the command).
    `text` is what is left once devices and models are read, so the "Max" of "M2 Max 64GB
    context 32k" is the chip's, not "max context". Order matters: "fine-tune … longest
    context" is a fine-tuning question."""
    if fields.get("train_method") or _FINE_TUNE_WORDS.search(text):
        return Intent.FINE_TUNE
    if fields.get("users") or _SERVE_WORDS.search(text):
        return Intent.SERVE
    if _MAX_CONTEXT.search(text):
        return Intent.MAX_CONTEXT
    if _COMMAND.search(text):
        return Intent.COMMAND
    return None
