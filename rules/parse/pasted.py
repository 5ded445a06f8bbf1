"""Hardware from pasted tool output: `nvidia-smi` (table, -L and --query-gpu CSV, old
and new drivers), `rocm-smi`/`rocminfo`, macOS "Hardware Overview", `lscpu` with
`free`, and Windows `wmic`/`dxdiag` lines.

`cut_pasted` removes the lines it understood from the question and returns what they
said; the rest of the question is read as usual, and the pasted facts fill whatever
the words left open (see `rules.parse.parse`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rules.parse.bench import cut_llama_bench
from rules.parse.run_log import cut_run_log
from rules.schema import RunLog

GIB = 2**30


@dataclass
class ToolGpu:
    name: str
    vram_gib: float | None


@dataclass
class Pasted:
    tools: list[str] = field(default_factory=list)
    gpus: list[ToolGpu] = field(default_factory=list)
    apple_phrase: str | None = None  # "apple m2 max macbook pro 38-core gpu 64gb", read like a question
    ram_gib: float | None = None
    ram_kind: str | None = None  # "DDR5-4800" or a bare generation+speed guess, see wmic
    ram_kind_guessed: bool = False
    cpu_text: str | None = None
    sockets: int | None = None
    skipped: list[str] = field(default_factory=list)  # lines seen but not used (integrated GPUs)
    # from a llama.cpp log: the model's own name, its file type and the context it ran with
    metal_working_set_gib: float | None = None  # Metal's recommendedMaxWorkingSetSize
    model_text: str | None = None
    quant: str | None = None
    context: int | None = None
    run_log: RunLog | None = None  # what a pasted run log says was allocated and measured
    log_unknown_gpus: list[str] = field(default_factory=list)  # laptop cards: not sized as desktop ones
    unknown_model_error: tuple[str, str] | None = None  # (error, sentence) for a log's model the catalog lacks


# nvidia-smi ----------------------------------------------------------------------------
_SMI_NAME = re.compile(r"^\|\s*(\d+)\s+(.+?)\s+(?:On|Off)\s*\|", re.MULTILINE)
_SMI_MEMORY = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_SMI_LIST = re.compile(r"^\s*GPU\s+\d+:\s*(.+?)\s*\(UUID:[^)]*\)\s*$", re.MULTILINE)
_SMI_CSV = re.compile(r"^\s*([A-Za-z][^,\n]*?),\s*(\d+)\s*MiB\s*$", re.MULTILINE)
_SMI_TABLE_LINE = re.compile(r"^.*(?:\|.*\||NVIDIA-SMI|^\+[-=+]+\+).*$", re.MULTILINE)

# rocm-smi / rocminfo -------------------------------------------------------------------
_ROCM_NAME = re.compile(r"^\s*(?:GPU\[(\d+)\]\s*:\s*)?(?:Card [Ss]eries|Card [Mm]odel|Marketing Name)\s*:\s*(.+?)\s*$",
                        re.MULTILINE)
_ROCM_VRAM = re.compile(r"^\s*GPU\[(\d+)\]\s*:\s*VRAM Total Memory \(B\)\s*:\s*(\d+)\s*$", re.MULTILINE)
_ROCM_LINE = re.compile(r"^.*(?:GPU\[\d+\]|={5,}|ROCm System Management|Marketing Name).*$", re.MULTILINE)

# macOS System Information ---------------------------------------------------------------
_MAC_CHIP = re.compile(r"^\s*(?:Chip|Chipset Model)\s*:\s*(Apple M\d(?:\s+(?:Pro|Max|Ultra))?)\s*$", re.MULTILINE)
_MAC_MODEL = re.compile(r"^\s*Model Name\s*:\s*(Mac[A-Za-z ]*?)\s*$", re.MULTILINE)
_MAC_MEMORY = re.compile(r"^\s*Memory\s*:\s*(\d+)\s*(GB|TB)\s*$", re.MULTILINE)
_MAC_GPU_CORES = re.compile(r"Type\s*:\s*GPU[\s\S]{0,200}?Total Number of Cores\s*:\s*(\d+)")
_MAC_LINE = re.compile(r"^\s*(?:Hardware Overview|Graphics/Displays|Model Name|Model Identifier|Model Number|Chip|"
                       r"Chipset Model|Type|Bus|Total Number of Cores|Memory|System Firmware Version|OS Loader Version|"
                       r"Serial Number.*|Hardware UUID|Provisioning UDID|Activation Lock Status|Vendor|"
                       r"Metal Support|Displays|Apple M\d.*)\s*:.*$", re.MULTILINE)

# lscpu / free ---------------------------------------------------------------------------
_LSCPU_MODEL = re.compile(r"^\s*Model name\s*:\s*(.+?)\s*$", re.MULTILINE)
_LSCPU_SOCKETS = re.compile(r"^\s*Socket\(s\)\s*:\s*(\d+)\s*$", re.MULTILINE)
_LSCPU_LINE = re.compile(r"^\s*(?:Architecture|CPU op-mode\(s\)|Address sizes|Byte Order|CPU\(s\)|On-line CPU\(s\) list|"
                         r"Vendor ID|Model name|CPU family|Model|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|"
                         r"Stepping|Frequency boost|CPU(?:\(s\))? (?:max|min) MHz|CPU MHz|BogoMIPS|Flags|Virtualization|"
                         r"L[123][di]? cache|NUMA node\d*(?: CPU\(s\))?|NUMA node\(s\)|Vulnerability .*)\s*:.*$",
                         re.MULTILINE)
_FREE_MEM = re.compile(r"^\s*Mem:\s+(\d+(?:[.,]\d+)?)\s*(Ti|Gi|Mi|Ki|T|G|M|K)?\b.*$", re.MULTILINE)
_FREE_LINE = re.compile(r"^\s*(?:total\s+used\s+free.*|Swap:.*)$", re.MULTILINE)

# Windows --------------------------------------------------------------------------------
_WMIC_MEMORY_HEADER = re.compile(r"^\s*Capacity\s+(?:.*?\s)?(?:ConfiguredClockSpeed|Speed)\b.*$", re.MULTILINE)
_WMIC_ROW = re.compile(r"^\s*(\d{9,14})\s+(\d{3,5})(?:\s+(\d{1,2}))?\s*$", re.MULTILINE)
_WMIC_TYPE_HEADER = re.compile(r"SMBIOSMemoryType", re.IGNORECASE)
_WMIC_VIDEO = re.compile(r"^\s*(?:(\d{6,12})\s+)?((?:NVIDIA|AMD|Radeon|Intel|GeForce)(?![^\n]*(?:Processor|Ryzen|Core\(TM\)|Xeon|EPYC))"
                         r"[^\n]*?)\s*(?:\d{6,12})?\s*$", re.MULTILINE)
_COMMAND_LINE = re.compile(r"^\s*(?:[A-Za-z]:\\[^>\n]*>|\$|#|%)\s*(?:wmic|nvidia-smi|rocm-smi|rocminfo|lscpu|free|"
                           r"system_profiler|dxdiag)\b.*$", re.MULTILINE | re.IGNORECASE)
_WMIC_VIDEO_HEADER = re.compile(r"^\s*(?:AdapterRAM\s+Name|Name\s+AdapterRAM)\s*$", re.MULTILINE | re.IGNORECASE)
_WMIC_CPU = re.compile(r"^\s*((?:AMD|Intel)\S*\s.*?(?:Processor|CPU|Core|Ryzen|Xeon|EPYC).*?)\s*$", re.MULTILINE)
_WMIC_TOTAL = re.compile(r"^\s*TotalPhysicalMemory\s*\n\s*(\d{9,14})\s*$", re.MULTILINE)
_DX_CARD = re.compile(r"^\s*Card name\s*:\s*(.+?)\s*$", re.MULTILINE)
_DX_DEDICATED = re.compile(r"^\s*Dedicated Memory\s*:\s*(\d+)\s*MB\s*$", re.MULTILINE)
_DX_MEMORY = re.compile(r"^\s*Memory\s*:\s*(\d+)\s*MB RAM\s*$", re.MULTILINE)
_DX_PROCESSOR = re.compile(r"^\s*Processor\s*:\s*(.+?)\s*(?:\(\d+ CPUs\))?,?\s*(?:~[\d.]+GHz)?\s*$", re.MULTILINE)
_DX_LINE = re.compile(r"^\s*(?:Card name|Manufacturer|Chip type|DAC type|Device Type|Display Memory|Dedicated Memory|"
                      r"Shared Memory|Memory|Processor|Operating System|System Manufacturer|System Model|BIOS|"
                      r"Page File|DirectX Version|Current Mode)\s*:.*$", re.MULTILINE)

# llama.cpp logs (read in rules.parse.run_log) -------------------------------------------
_LLAMA_METAL = re.compile(r"^(Apple M\d(?:\s+(?:Pro|Max|Ultra))?)\s*$")
_LLAMA_WORKING_SET = re.compile(r"recommendedMaxWorkingSetSize\s*=\s*([\d.]+)\s*MB")
_NAME_GB = re.compile(r"(\d+)\s*GB\b", re.IGNORECASE)
_LAPTOP = re.compile(r"laptop|notebook|mobile|max-q", re.IGNORECASE)

_INTEGRATED = re.compile(r"uhd graphics|iris|hd graphics|microsoft basic|radeon\(tm\) graphics|radeon graphics|"
                         r"vega \d+ graphics|parsec|virtual|remote display", re.IGNORECASE)


def cut_pasted(question: str) -> tuple[str, Pasted]:
    """Tool output in the question → (the question without it, what it said)."""
    p = Pasted()
    text = question
    if "\n" not in text and not re.search(r"MiB\s*/|,\s*\d+\s*MiB\s*$|UUID:|Card name:|Chip: Apple|VRAM Total", text):
        return text, p  # a one-line question: nothing pasted
    text = _llama_bench(text, p)  # before nvidia-smi: both are tables of "|" lines
    text = _nvidia_smi(text, p)
    text = _rocm(text, p)
    text = _macos(text, p)
    text = _lscpu_free(text, p)
    text = _windows(text, p)
    text = _llama_log(text, p)
    if p.tools:
        text = _COMMAND_LINE.sub("", text)
    return text, p


def _strip(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub("", text)


def _nvidia_smi(text: str, p: Pasted) -> str:
    names = _SMI_NAME.findall(text)
    if names and ("NVIDIA-SMI" in text or _SMI_MEMORY.search(text)):
        sizes = [int(total) / 1024 for _, total in _SMI_MEMORY.findall(text)]
        for i, (_, name) in enumerate(names):
            p.gpus.append(ToolGpu(name, sizes[i] if i < len(sizes) else None))
        p.tools.append("nvidia-smi")
        text = _strip(text, _SMI_TABLE_LINE)
    elif listed := _SMI_LIST.findall(text):
        p.gpus += [ToolGpu(name, None) for name in listed]
        p.tools.append("nvidia-smi -L")
        text = _strip(text, _SMI_LIST)
    elif rows := _SMI_CSV.findall(text):
        p.gpus += [ToolGpu(name, int(mib) / 1024) for name, mib in rows if not name.lower().startswith("name")]
        p.tools.append("nvidia-smi --query-gpu")
        text = _strip(text, _SMI_CSV)
        text = re.sub(r"^\s*name\s*,\s*memory\.total.*$", "", text, flags=re.MULTILINE)
    return text


def _rocm(text: str, p: Pasted) -> str:
    names = _ROCM_NAME.findall(text)
    if not names:
        return text
    vram = {int(i): int(b) / GIB for i, b in _ROCM_VRAM.findall(text)}
    seen = set()
    for index, name in names:
        key = int(index) if index else len(seen)
        if key in seen:
            continue
        seen.add(key)
        p.gpus.append(ToolGpu(name, vram.get(key)))
    p.tools.append("rocm-smi")
    return _strip(text, _ROCM_LINE)


def _macos(text: str, p: Pasted) -> str:
    chip = _MAC_CHIP.search(text)
    if not chip:
        return text
    words = [chip.group(1).lower()]
    if model := _MAC_MODEL.search(text):
        words.append(model.group(1).lower())
    if cores := _MAC_GPU_CORES.search(text):
        words.append(f"{cores.group(1)}-core gpu")
    if memory := _MAC_MEMORY.search(text):
        words.append(f"{memory.group(1)}{memory.group(2).lower()}")
    p.apple_phrase = " ".join(words)
    p.tools.append("macOS System Information")
    return _strip(text, _MAC_LINE)


def _lscpu_free(text: str, p: Pasted) -> str:
    if (model := _LSCPU_MODEL.search(text)) and re.search(r"Architecture|CPU\(s\)|Socket\(s\)|Core\(s\)", text):
        p.cpu_text = model.group(1)
        if sockets := _LSCPU_SOCKETS.search(text):
            p.sockets = int(sockets.group(1))
        p.tools.append("lscpu")
        text = _strip(text, _LSCPU_LINE)
    if mem := _FREE_MEM.search(text):
        value = float(mem.group(1).replace(",", "."))
        unit = (mem.group(2) or "").upper()[:1]
        if not unit:  # plain numbers: -g unless the question says -m / -k / -b
            unit = "M" if re.search(r"free\s+-m", text) else "K" if re.search(r"free\s*$|free\s+-k", text, re.M) and value > 10**6 else "G"
        p.ram_gib = round(value * {"T": 1024, "G": 1, "M": 1 / 1024, "K": 1 / 1024**2}[unit], 1)
        p.tools.append("free")
        text = _strip(text, _FREE_MEM)
        text = _strip(text, _FREE_LINE)
    return text


def _windows(text: str, p: Pasted) -> str:
    if _WMIC_MEMORY_HEADER.search(text) and (rows := _WMIC_ROW.findall(text)):
        p.ram_gib = round(sum(int(cap) for cap, _, _ in rows) / GIB, 1)
        speed = max(int(s) for _, s, _ in rows)
        smbios = next((int(t) for _, _, t in rows if t), None)
        generation = {26: "DDR4", 34: "DDR5", 35: "LPDDR5"}.get(smbios or 0)
        if generation is None:
            generation = "DDR5" if speed >= 4400 else "DDR4"
            p.ram_kind_guessed = True
        p.ram_kind = f"{generation}-{speed}"
        p.tools.append("wmic memorychip")
        text = _strip(text, _WMIC_MEMORY_HEADER)
        text = _strip(text, _WMIC_ROW)
    if total := _WMIC_TOTAL.search(text):
        p.ram_gib = p.ram_gib or round(int(total.group(1)) / GIB)
        p.tools.append("wmic computersystem")
        text = text.replace(total.group(0), "")
    if cards := _DX_CARD.findall(text):
        dedicated = [int(mb) / 1024 for mb in _DX_DEDICATED.findall(text)]
        for i, name in enumerate(cards):
            _tool_gpu(p, name, dedicated[i] if i < len(dedicated) else None)
        if memory := _DX_MEMORY.search(text):
            p.ram_gib = p.ram_gib or round(int(memory.group(1)) / 1024)
        if processor := _DX_PROCESSOR.search(text):
            p.cpu_text = p.cpu_text or processor.group(1)
        p.tools.append("dxdiag")
        return _strip(text, _DX_LINE)
    if _WMIC_VIDEO_HEADER.search(text):
        for _adapter_ram, name in _WMIC_VIDEO.findall(text):
            # AdapterRAM is a 32-bit field: it tops out at 4 GiB, so the name decides
            _tool_gpu(p, name, None)
        p.tools.append("wmic path win32_VideoController")
        text = _strip(text, _WMIC_VIDEO_HEADER)
        text = _strip(text, _WMIC_VIDEO)
    elif cpu := _WMIC_CPU.search(text):
        if re.search(r"^\s*Name\s*$", text, re.MULTILINE):
            p.cpu_text = p.cpu_text or cpu.group(1)
            p.tools.append("wmic cpu")
            text = text.replace(cpu.group(0), "")
            text = re.sub(r"^\s*Name\s*$", "", text, flags=re.MULTILINE)
    return text


def _llama_log(text: str, p: Pasted) -> str:
    """A llama.cpp / Ollama / LM Studio log: its GPUs, model, file type and context fill the
    question; the whole log is kept as `p.run_log` for a diagnosis, and cut from the text."""
    rest, log = cut_run_log(text)
    if log is None or not (log.devices or log.model_name or log.has_run_facts or log.n_ctx):
        return text
    if p.run_log is not None:  # a llama-bench table came with it: its rows are kept with the log
        log.bench = p.run_log.bench
    p.run_log = log
    for device in log.devices:
        if device.backend == "Metal":
            if (chip := _LLAMA_METAL.match(device.name)) and not p.apple_phrase:
                p.apple_phrase = chip.group(1).lower()
                if working_set := _LLAMA_WORKING_SET.search(text):
                    p.metal_working_set_gib = float(working_set.group(1)) * 1e6 / GIB
        elif _LAPTOP.search(device.name):
            p.log_unknown_gpus.append(device.name)  # a laptop card is not the desktop card of its name
        elif not _INTEGRATED.search(device.name) and device.backend != "CPU":
            in_name = _NAME_GB.search(device.name)
            vram = int(in_name.group(1)) if in_name else (device.total_mib / 1024 if device.total_mib else None)
            p.gpus.append(ToolGpu(device.name, vram))
    p.model_text = log.model_name
    if p.model_text is None and log.model_file:  # the -m file, by its name (never opened)
        from rules.catalog import default_catalog
        from rules.gguf_file import match_file_name

        p.model_text = match_file_name(log.model_file, default_catalog()).model
    p.quant = log.ftype
    p.context = log.n_ctx
    p.tools.append(f"{log.tool} log")
    return rest


def _llama_bench(text: str, p: Pasted) -> str:
    """A llama-bench table (markdown, CSV, JSON): its rows go to a diagnosis as a run log;
    the GPU it names (CSV/JSON) and the catalog model its file name names fill the question.
    llama-bench's own model column ("llama 7B") names an architecture, not a model: not read."""
    from rules.catalog import default_catalog
    from rules.gguf_file import match_file_name

    rest, rows = cut_llama_bench(text)
    if not rows:
        return text
    p.run_log = RunLog(tool="llama-bench", bench=rows)
    gpus = {r.gpu_info for r in rows if r.gpu_info and not r.on_cpu}
    for name in sorted(gpus):
        for one in name.split(","):  # llama-bench joins several cards with ", "
            if _LAPTOP.search(one):
                p.log_unknown_gpus.append(one.strip())
            else:
                _tool_gpu(p, one, None)
    quants = {r.quant for r in rows}
    if len(quants) == 1 and None not in quants:
        p.quant = quants.pop()
    files = {r.model_filename for r in rows if r.model_filename}
    if len(files) == 1:
        match = match_file_name(files.pop(), default_catalog())
        p.model_text = match.model
    p.tools.append("llama-bench")
    return rest


def _tool_gpu(p: Pasted, name: str, vram: float | None) -> None:
    if _INTEGRATED.search(name):
        p.skipped.append(name.strip())
    else:
        p.gpus.append(ToolGpu(name.strip(), vram))
