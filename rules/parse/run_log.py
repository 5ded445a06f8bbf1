"""What a pasted llama.cpp run log says was allocated and measured: backends and devices
(with the free memory llama.cpp printed), layers offloaded (N/M) and the -ngl asked for,
model / KV / compute buffers per device, the KV cache type and whether it was offloaded,
n_ctx, the -np slots and the context each slot gets, flash attention, the model's own
name, size and file type, and the prompt and generation speeds.

Reads llama-cli and llama-server logs in the old (`llm_load_tensors:`,
`llama_new_context_with_model:`) and new (`load_tensors:`, `print_info:`, `llama_context:`,
`llama_kv_cache:`) wording, with or without the `-lv` timestamp prefix; Ollama server logs
(journal or docker prefixes, its `msg="offload to cuda" layers.requested=...` line and its
runner command line, `ollama run --verbose` timings) and LM Studio developer logs (the
llama.cpp lines they carry). Each fact keeps the line it came from (`RunLog.evidence`), so
a diagnosis can quote it. Pure: no I/O."""

from __future__ import annotations

import re

from rules.parse.ftype import quant_from_ftype
from rules.schema import LogDevice, RunLog

MIB_PER_GIB = 1024.0

# A line's prefix that is not llama.cpp's own text: `-lv` timestamps ("0.00.189.284 I "),
# journald ("Feb 28 12:44:32 host ollama[854770]: "), docker compose ("ollama  | "),
# LM Studio's dated level tags ("2025-11-18 14:26:51 [DEBUG] ").
_PREFIX = re.compile(
    r"^\s*(?:\d+\.\d+\.\d+\.\d+ [IWEDT] (?:(?:srv|cmn|slot|spec|cli|mtmd|gen|main)\s+)?|[A-Z][a-z]{2} +\d+ [\d:]+ \S+ \S+?\[\d+\]: |[\w.-]+\s+\| |"
    r"\d{4}-\d\d-\d\d[ T][\d:.]+\s*\[\w+\]\s*)")

# Lines that belong to a run log (after the prefix is cut): a subsystem tag, a device
# line, a server slot line, Ollama's key=value lines, LM Studio's bracketed tags,
# llama.cpp's progress dots and the llama-server timing block.
_LOG_LINE = re.compile(
    r"^\s*(?:(?:llama|llm|ggml|gguf|print_info|load|load_tensors|load_backend|main|common|system_info|build|"
    r"clip|srv|slot|sched|sched_reserve|resolve_fused_ops|init|cmn|create_memory|graph_reserve|set_abort_callback|"
    r"init_tokenizer|spec|generate|sampler|common_\w+|llama_\w+|ggml_\w+|get_\w+|operator\(\)|Llama\.generate)"
    r"[\w()]*:|(?:srv|slot|cmn|spec)\s+\w+:|[\w.-]+@[\w.-]+:\S*\$ |Device \d+:|\s*- (?:CPU|CUDA\d*|Metal|Vulkan\d*|ROCm\d*)\b|time=\S+ level=|\[(?:INFO|DEBUG|WARN|ERROR)\]|"
    r"\[[\w./-]+\]\s|\[LM STUDIO SERVER\]|\.{8,}\s*$|(?:prompt eval|eval|total|load|sampling) time\s*=|"
    r"(?:total duration|load duration|prompt eval (?:count|duration|rate)|eval (?:count|duration|rate))\s*:|"
    r"(?:en|de)coded\s+\d+ tokens in|n_(?:draft|predict|drafted|accept)\s+=|accept\s+=|(?:draft|target):\s*$|"
    r"\+ \./|\$ (?:\./)?(?:bin/)?(?:llama|ollama)|(?:\S*/)?llama-(?:speculative|cli|server|bench|simple)\s+-|(?:CUDA|Metal|CPU) : |Generate: |Sampling|"
    r"(?:Total prompt tokens|Prompt tokens to decode|Cache reuse summary|BeginProcessingPrompt|FinishedProcessingPrompt|"
    r"Target model llama_perf|Using fallback chat format|Model metadata)|== |model_path=|n_ctx=\d|\w+ token\s+=|"
    r"\"(?:model|created_at|response|done|done_reason|total_duration|load_duration|prompt_eval_count|"
    r"prompt_eval_duration|eval_count|eval_duration|context)\"\s*:|\$ curl |[{}]\s*$)")

# Facts --------------------------------------------------------------------------------
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_MODEL_BUFFER = re.compile(r"(?:load_tensors|llm_load_tensors):\s+(\S+) (?:model )?buffer size\s*=\s*([\d.]+) MiB")
_KV_BUFFER = re.compile(r"(\S+) KV buffer size\s*=\s*([\d.]+) MiB")
_COMPUTE_BUFFER = re.compile(r"(\S+) compute buffer size\s*=\s*([\d.]+) MiB")
_KV_TYPES = re.compile(r"type_k = '(\w+)', type_v = '(\w+)'")
_KV_TYPES_SIZE = re.compile(r"K \((\w+)\):\s*[\d.]+ MiB, V \((\w+)\):")
_KV_OFFLOAD = re.compile(r"llama_kv_cache\w*:.*\boffload = (\d)")
_CONTEXT_LINE = re.compile(r"(?:llama_context|llama_new_context_with_model|llama_init_from_model):\s+(\w+)\s*=\s*(\S+)")
_GENERATE_CTX = re.compile(r"^(?:generate|Generate): n_ctx = (\d+)")
_SERVER_SLOTS = re.compile(r"n_slots = (\d+), n_ctx_slot = (\d+)")
_OLD_SLOT_CTX = re.compile(r"new slot,? n_ctx(?:_slot)? = (\d+)")
_CUDA_DEVICE = re.compile(r"^\s*Device (\d+): (.+?), compute capability")
_USING_DEVICE = re.compile(r"using device (\w+?)\d* \((.+?)\)(?: \([^)]*\))? - (\d+) MiB free")
_METAL_DEVICE = re.compile(r"ggml_metal_init: found device: (.+?)\s*$")
_BREAKDOWN = re.compile(r"memory_breakdown_print: \|\s+- (\w+?)\d* \((.+?)\)\s*\|\s*(\d+) =\s*(\d+) \+")
_NAME = re.compile(r"general\.name\s+(?:str\s+)?=\s*(.+?)\s*$")
_FTYPE = re.compile(r"(?:model ftype|file type)\s*=\s*(.+?)\s*$")
_PARAMS = re.compile(r"model params\s*=\s*([\d.]+) ([BMK])")
_SIZE = re.compile(r"(?:model size|file size)\s*=\s*([\d.]+) (GiB|MiB)")
_N_LAYER = re.compile(r"(?:print_info|llm_load_print_meta):\s+n_layer\s*=\s*(\d+)")
_N_EXPERT = re.compile(r"(?:print_info|llm_load_print_meta):\s+n_expert\s*=\s*(\d+)")
_PERF = re.compile(r"(prompt eval|(?<!prompt )eval) time\s*=\s*([\d.]+) ms /\s*(\d+) (?:runs|tokens)\s*"
                   r"\(\s*[\d.]+ ms per token,\s*([\d.]+|inf|nan) tokens per second\)")
# llama-speculative: the speed of the whole run; the perf blocks after "draft:" and "target:"
# count the draft model's tokens and the target's batches, not generated tokens
_SPEC_SPEED = re.compile(r"^(en|de)coded\s+(\d+) tokens in\s+[\d.]+ seconds, speed:\s+([\d.]+) t/s")
_SPEC_SECTION = re.compile(r"^(draft|target):\s*$")
_OLLAMA_RATE = re.compile(r"^\s*(prompt eval|eval) rate:\s*([\d.]+) tokens/s")
_OLLAMA_COUNT = re.compile(r"^\s*eval count:\s*(\d+)")
# Ollama's API JSON: counts, and durations in nanoseconds
_OLLAMA_JSON = re.compile(r'"(prompt_eval_count|prompt_eval_duration|eval_count|eval_duration)"\s*:\s*(\d+)')
_OLLAMA_TAG_QUANT = re.compile(r"[:-]((?:i?q\d_\w+?)|fp16|q8_0)$", re.IGNORECASE)
_OLLAMA_JSON_MODEL = re.compile(r'^\s*"model"\s*:\s*"([^"]+)"')
_OLLAMA_OFFLOAD = re.compile(r'msg="?offload(?: to (\w+))?"?.*?layers\.requested=(-?\d+) layers\.model=(\d+) '
                             r'layers\.offload=(\d+)')
_OLLAMA_AVAILABLE = re.compile(r'memory\.available="\[([^\]]*)\]"')
_OLLAMA_FULL = re.compile(r'memory\.required\.full="([\d.]+) (GiB|MiB)"')
_NGL = re.compile(r"(?:^|\s)(?:-ngl|--n-gpu-layers|--gpu-layers)[ =](-?\d+)|\bn_gpu_layers\s*[=:]\s*(-?\d+)")
_MODEL_FLAG = re.compile(r"(?:^|\s)(?:-m|--model)[ =]+(\S+\.gguf)\b")
_PARALLEL_FLAG = re.compile(r"(?:^|\s)(?:-np|--parallel)[ =](\d+)")
_NO_KV_OFFLOAD = re.compile(r"(?:^|\s)(?:-nkvo|--no-kv-offload)\b")
_COMMAND = re.compile(r"llama-server|llama-cli|llama-bench|llama-speculative|/main\b|ollama_llama_server|--ctx-size|-ngl\b")
_CTX_FLAG = re.compile(r"(?:^|\s)(?:-c|--ctx-size)[ =](\d+)")
_CTK_FLAG = re.compile(r"(?:^|\s)(?:-ctk|--cache-type-k)[ =](\w+)")
_CTV_FLAG = re.compile(r"(?:^|\s)(?:-ctv|--cache-type-v)[ =](\w+)")
_FA_FLAG = re.compile(r"(?:^|\s)(?:-fa|--flash-attn)(?:[ =](?:on|1|true))?(?:\s|$)")
_AUTO_PARALLEL = re.compile(r"n_parallel is set to auto, using n_parallel = (\d+)")
# the build has no GPU backend, or had one and could not use the card
_NO_GPU = re.compile(r"no usable GPU found|--gpu-layers option will be ignored|failed to initialize CUDA|"
                     r"no CUDA-capable device|ggml_cuda_init: no CUDA devices|CUDA driver version is insufficient|"
                     r'no compatible GPUs were discovered|library=cpu\b|not compiled with GPU offload support')
_SYSTEM_INFO = re.compile(r"system_info:.*\|")
_GPU_BACKEND_WORDS = {"CUDA": "CUDA", "Metal": "Metal", "Vulkan": "Vulkan", "ROCm": "ROCm", "HIP": "ROCm",
                      "SYCL": "SYCL", "MTL": "Metal", "OpenCL": "OpenCL", "CANN": "CANN", "MUSA": "MUSA"}
_BUFFER_BACKEND = re.compile(r"^(CUDA|Metal|MTL|Vulkan|ROCm|SYCL|OpenCL|CANN|MUSA)\d*(?:_Mapped)?$")

def strip_prefix(line: str) -> str:
    return _PREFIX.sub("", line.rstrip())


_DATED = re.compile(r"^\s*\d{4}-\d\d-\d\d[ T][\d:.]+\s*\[(?:INFO|DEBUG|WARN|WARNING|ERROR)\]")


def is_log_line(line: str) -> bool:
    return bool(_LOG_LINE.search(strip_prefix(line)) or _DATED.search(line))


def ftype_to_quant(text: str) -> str | None:
    """llama.cpp's "Q4_K - Medium" / "Q8_0" / "IQ2_XSS - 2.0625 bpw" → a GGUF quant name, or
    None for "all F32 (guessed)" (a guess by llama.cpp itself: not a fact to size from)."""
    if "guessed" in text.lower():
        return None
    raw = re.sub(r"\s*\(.*\)\s*$", "", text).strip()
    if quant := quant_from_ftype(raw):
        return quant
    return raw.split()[0].upper() if re.match(r"(?:i?q|tq)\d", raw, re.IGNORECASE) else None


def _mib(value: str, unit: str) -> float:
    return float(value) * (MIB_PER_GIB if unit.lower().startswith("g") else 1.0)


# where a model load begins (a second run in one paste starts with one of these)
_LOAD_START = re.compile(r"^(?:main: build|build:|ggml_cuda_init: found|llama_model_load_from_file|llama_load_model_from_file|"
                         r"llama_model_loader: loaded meta data|system_info:|\+ \./|\$ (?:\./)?(?:bin/)?llama)")


def _first_run(lines: list[str]) -> tuple[list[str], int]:
    """(the lines of the first run, how many runs of that model the paste holds). A paste of
    several runs ("-ngl 20, then -ngl 99") is read as its first run, never a mix of the
    layers of one and the speed of another; a draft model (another layer count) is no run."""
    loads = [(i, m.group(2)) for i, line in enumerate(lines) if (m := _OFFLOADED.search(line))]
    same = [i for i, total in loads if total == loads[0][1]] if loads else []
    if len(same) < 2:
        return lines, 1
    first, second = same[0], same[1]
    timed = [i for i in range(first, second) if _PERF.search(lines[i]) or _OLLAMA_RATE.search(lines[i])]
    after = timed[-1] + 1 if timed else first + 1
    cut = next((i for i in range(after, second) if _LOAD_START.search(lines[i].strip())), second)
    return lines[:cut], len(same)


def read_run_log(text: str) -> RunLog | None:
    """The run log in `text`, or None when it holds no llama.cpp/Ollama/LM Studio line."""
    lines = [strip_prefix(line) for line in text.splitlines()]
    if not any(_LOG_LINE.search(line) for line in lines):
        return None
    lines, runs = _first_run(lines)
    log = RunLog(tool=_tool(text), runs=runs)
    ev = log.evidence
    loads = 0  # "offloaded N/M" lines seen: buffers after the second belong to a draft model
    spec_section: str | None = None

    def keep(key: str, line: str) -> None:
        ev.setdefault(key, line.strip())

    perf: list[tuple[str, float, int, str]] = []
    ollama_eval_count = 0  # `ollama run --verbose` prints the count before the rate
    api: dict[str, int] = {}
    for line in lines:
        if m := _OFFLOADED.search(line):  # the first load wins (a draft model loads after)
            loads += 1
            if log.gpu_layers is None:
                log.gpu_layers, log.total_layers = int(m.group(1)), int(m.group(2))
                keep("offloaded", line)
        elif (m := _MODEL_BUFFER.search(line)) and loads <= 1:
            # a split or large file maps as several buffers of one name: their sum is the weights there
            name = m.group(1)
            log.model_buffers_mib[name] = log.model_buffers_mib.get(name, 0.0) + float(m.group(2))
            keep(f"model_buffer:{name}", line)
        elif (m := _KV_BUFFER.search(line)) and loads <= 1:
            log.kv_buffers_mib[m.group(1)] = float(m.group(2))
            keep(f"kv_buffer:{m.group(1)}", line)
        elif (m := _COMPUTE_BUFFER.search(line)) and loads <= 1:
            log.compute_buffers_mib[m.group(1)] = float(m.group(2))
        if loads > 1:
            pass  # a draft model's context: not the context of the model diagnosed
        elif m := _KV_TYPES.search(line) or _KV_TYPES_SIZE.search(line):
            log.kv_type_k, log.kv_type_v = m.group(1), m.group(2)
            keep("kv_type", line)
        if loads <= 1 and (m := _KV_OFFLOAD.search(line)):
            log.kv_offload = m.group(1) == "1"
            keep("kv_offload", line)
        if loads > 1:
            pass
        elif m := _CONTEXT_LINE.search(line):
            _context_fact(log, m.group(1), m.group(2), line, keep)
        elif m := _GENERATE_CTX.search(line.strip()):
            if log.n_ctx is None:
                log.n_ctx = int(m.group(1))
                keep("n_ctx", line)
        if m := _SERVER_SLOTS.search(line):
            log.n_seq_max = log.n_seq_max or int(m.group(1))
            log.n_ctx_per_seq = log.n_ctx_per_seq or int(m.group(2))
            keep("slots", line)
        if m := _AUTO_PARALLEL.search(line):
            log.n_seq_max = log.n_seq_max or int(m.group(1))
            keep("slots", line)
        _device(log, line, keep)
        _model_fact(log, line, keep)
        if m := _SPEC_SECTION.search(line.strip()):
            spec_section = m.group(1)
        if m := _SPEC_SPEED.search(line.strip()):
            perf.append(("eval" if m.group(1) == "de" else "prompt eval", float(m.group(3)), int(m.group(2)), line))
        elif spec_section and _PERF.search(line):
            pass  # the draft model's or the target's batches: not the speed of the reply
        elif m := _PERF.search(line):
            rate = m.group(4)
            if rate not in ("inf", "nan") and int(m.group(3)) > 1:
                perf.append((m.group(1), float(rate), int(m.group(3)), line))
        elif m := _OLLAMA_RATE.search(line):
            perf.append((m.group(1), float(m.group(2)), 0, line))
        elif m := _OLLAMA_COUNT.search(line):
            ollama_eval_count = int(m.group(1))
        for key, value in _OLLAMA_JSON.findall(line):
            api[key] = int(value)
            keep(f"api:{key}", line)
        if (m := _OLLAMA_JSON_MODEL.search(line)) and log.model_name is None:
            log.model_name = m.group(1)  # an Ollama tag: "gemma2:9b-instruct-q4_0"
            keep("model_name", line)
            if tag := _OLLAMA_TAG_QUANT.search(m.group(1)):  # Ollama spells q4_K_M, q8_0, fp16
                log.ftype = log.ftype or ("F16" if tag.group(1).lower() == "fp16" else tag.group(1).upper())
        _ollama(log, line, keep)
        _flags(log, line, keep)
        if _NO_GPU.search(line):
            log.cpu_only_build = True
            keep("no_gpu", line)
        if _SYSTEM_INFO.search(line):
            keep("system_info", line)
            for word, backend in _GPU_BACKEND_WORDS.items():
                if re.search(rf"\b{word} : ", line) and backend not in log.backends:
                    log.backends.append(backend)
    perf = [(k, r, n or (ollama_eval_count if k == "eval" else 0), line) for k, r, n, line in perf]
    for kind, prefix in (("eval", "eval"), ("prompt eval", "prompt_eval")):
        count, ns = api.get(f"{prefix}_count"), api.get(f"{prefix}_duration")
        if count and ns and count > 1:
            perf.append((kind, round(count / (ns / 1e9), 2), count, ev[f"api:{prefix}_count"] + " " + ev[f"api:{prefix}_duration"]))
    if api:
        log.tool = "ollama"
    _speeds(log, perf, keep)
    _backends(log)
    return log


def _context_fact(log: RunLog, key: str, value: str, line: str, keep) -> None:
    if key == "n_ctx" and value.isdigit():
        log.n_ctx = int(value)
        keep("n_ctx", line)
    elif key == "n_seq_max" and value.isdigit():
        log.n_seq_max = int(value)
        keep("n_seq_max", line)
    elif key in ("n_ctx_per_seq", "n_ctx_seq") and value.isdigit():
        log.n_ctx_per_seq = int(value)
        keep("n_ctx_per_seq", line)
    elif key == "kv_unified":
        log.kv_unified = value.strip("'").lower() == "true"
    elif key == "flash_attn":
        v = value.strip("'").lower()
        log.flash_attn = {"1": "on", "0": "off", "true": "on", "false": "off", "enabled": "on",
                          "disabled": "off"}.get(v, v)
        keep("flash_attn", line)


def _device(log: RunLog, line: str, keep) -> None:
    known = {d.name for d in log.devices}
    if m := _USING_DEVICE.search(line):
        backend, name, free = _backend_name(m.group(1)), m.group(2), float(m.group(3))
        for d in log.devices:
            if d.name == name and d.free_mib is None:
                d.free_mib = free
                break
        else:
            if not any(d.name == name for d in log.devices):
                log.devices.append(LogDevice(backend=backend, name=name, free_mib=free))
        keep("device", line)
    elif (m := _CUDA_DEVICE.search(line)) and f"device:{m.group(1)}" not in log.evidence:
        # "Device 0", "Device 1": two cards of one name are two devices (a log of several runs lists them again)
        backend = "ROCm" if re.search(r"radeon|instinct|\bmi\d{2,3}\b|gfx\d", m.group(2), re.I) else "CUDA"
        log.devices.append(LogDevice(backend=backend, name=m.group(2)))
        keep(f"device:{m.group(1)}", line)
    elif (m := _METAL_DEVICE.search(line)) and m.group(1) not in known:
        log.devices.append(LogDevice(backend="Metal", name=m.group(1)))
        keep("device", line)
    elif m := _BREAKDOWN.search(line):
        if m.group(2) not in known:
            log.devices.append(LogDevice(backend=_backend_name(m.group(1)), name=m.group(2),
                                         total_mib=float(m.group(3)), free_mib=float(m.group(4))))
            keep("device", line)


def _backend_name(word: str) -> str:
    return _GPU_BACKEND_WORDS.get(word, word)


def _model_fact(log: RunLog, line: str, keep) -> None:
    if m := _NAME.search(line):
        log.model_name = log.model_name or m.group(1).strip()
        keep("model_name", line)
    elif m := _FTYPE.search(line):
        if log.ftype is None and (quant := ftype_to_quant(m.group(1))):
            log.ftype = quant
            keep("ftype", line)
    elif m := _PARAMS.search(line):
        log.model_params_b = float(m.group(1)) * {"B": 1.0, "M": 1e-3, "K": 1e-6}[m.group(2)]
        keep("params", line)
    elif m := _SIZE.search(line):
        log.model_size_gib = _mib(m.group(1), m.group(2)) / MIB_PER_GIB
        keep("size", line)
    elif m := _N_LAYER.search(line):
        log.n_layer = int(m.group(1))
    elif m := _N_EXPERT.search(line):
        log.n_expert = int(m.group(1))


def _ollama(log: RunLog, line: str, keep) -> None:
    if m := _OLLAMA_OFFLOAD.search(line):
        if m.group(1) and m.group(1) != "cpu":
            log.backends.append(_backend_name(m.group(1).upper() if m.group(1) == "cuda" else m.group(1)))
        log.requested_gpu_layers = int(m.group(2))
        if log.gpu_layers is None:
            log.gpu_layers, log.total_layers = int(m.group(4)), int(m.group(3))
            keep("offloaded", line)
        keep("requested", line)
        if a := _OLLAMA_AVAILABLE.search(line):
            log.ollama_memory_available_gib = [_mib(v, u) / MIB_PER_GIB
                                               for v, u in re.findall(r"([\d.]+) (GiB|MiB)", a.group(1))]
        if f := _OLLAMA_FULL.search(line):
            log.ollama_memory_required_gib = _mib(f.group(1), f.group(2)) / MIB_PER_GIB


def _flags(log: RunLog, line: str, keep) -> None:
    """Flags on a pasted command line (llama-server, Ollama's runner, llama-cpp-python config)."""
    if m := _NGL.search(line):
        log.requested_gpu_layers = int(m.group(1) or m.group(2))
        keep("requested", line)
    if m := _PARALLEL_FLAG.search(line):
        log.n_seq_max = log.n_seq_max or int(m.group(1))
        keep("slots", line)
    if _NO_KV_OFFLOAD.search(line):
        log.kv_offload = False
        keep("kv_offload", line)
    if not _COMMAND.search(line):
        return
    if (m := _MODEL_FLAG.search(line)) and log.model_file is None:
        log.model_file = m.group(1).rsplit("/", 1)[-1]
        keep("model_file", line)
    if (m := _CTX_FLAG.search(line)) and log.n_ctx is None:
        log.n_ctx = int(m.group(1))
        keep("n_ctx", line)
    if (m := _CTK_FLAG.search(line)) and log.kv_type_k is None:
        log.kv_type_k = m.group(1)
        log.kv_type_v = (_CTV_FLAG.search(line) or m).group(1)
        keep("kv_type", line)
    if _FA_FLAG.search(line) and log.flash_attn is None:
        log.flash_attn = "on"
        keep("flash_attn", line)


def _speeds(log: RunLog, perf: list[tuple[str, float, int, str]], keep) -> None:
    """The generation speed measured over the most tokens (a warm-up of 7 tokens says
    less than a run of 127); the prompt speed likewise."""
    for kind, field in (("eval", "eval_tokens_per_s"), ("prompt eval", "prompt_tokens_per_s")):
        rows = [p for p in perf if p[0] == kind]
        if rows:
            best = max(rows, key=lambda p: p[2])
            setattr(log, field, best[1])
            keep(field, best[3])
            if kind == "eval":
                log.eval_tokens = best[2] or None


def _backends(log: RunLog) -> None:
    found = list(log.backends)
    for name in [*log.model_buffers_mib, *log.kv_buffers_mib]:
        if m := _BUFFER_BACKEND.match(name):
            found.append(_backend_name(m.group(1)))
    found += [d.backend for d in log.devices if d.backend != "CPU"]
    log.backends = list(dict.fromkeys(found))


def _tool(text: str) -> str:
    if re.search(r"\[LM STUDIO SERVER\]|Target model llama_perf stats", text):
        return "lm studio"
    if re.search(r"ollama\[\d+\]:|^ollama\s+\||source=\w+\.go:\d+|ollama_llama_server|^\s*eval rate:", text,
                 re.MULTILINE):
        return "ollama"
    return "llama.cpp"


def cut_run_log(text: str) -> tuple[str, RunLog | None]:
    """(the question without the log, the log). The log is the block from its first to its
    last log line; what lies between (generated text, blank lines) goes with it, so only
    the words before and after the block are read as the question."""
    lines = text.split("\n")  # not splitlines: a \x85 or \x0c inside a line is not a line break
    marks = [i for i, line in enumerate(lines) if is_log_line(line)]
    if not marks:
        return text, None
    log = read_run_log(text)
    first, last = marks[0], marks[-1]
    rest = "\n".join(lines[:first] + lines[last + 1:])
    return rest, log


def brief_lines(log: RunLog) -> list[str]:
    """The log lines a diagnosis quotes: what is kept of a paste (not the whole log)."""
    return list(dict.fromkeys(log.evidence.values()))
