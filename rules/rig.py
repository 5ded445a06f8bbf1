"""A resolved machine: the GPUs, the memory pool and RAM bandwidth, with the
assumptions made to fill what a question left out."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from rules.catalog import Catalog, Cpu, DeviceClass, Gpu, RamKind
from rules.phrases import say
from rules.schema import GpuInfo, HardwareInfo, Query

ASSUMED_RAM_GIB = 32.0  # the common desktop for local LLMs; said in the answer
ASSUMED_RAM_KIND = "DDR4-3200"
ASSUMED_CHANNELS = 2


def unified_gpu_share(memory_gib: float) -> float:
    """macOS lets the GPU wire about 2/3 of unified memory, 3/4 on 64 GiB and up
    (Metal's recommendedMaxWorkingSetSize)."""
    return memory_gib * (0.75 if memory_gib >= 64 else 0.67)


class Rig(BaseModel):
    model_config = ConfigDict(frozen=True)

    gpus: list[tuple[Gpu, int]] = Field(default_factory=list)
    unified_memory: bool = False
    ram_gib: float
    ram_bandwidth_gbs: float
    cpu: str | None = None
    # CPU sockets whose memory ram_bandwidth_gbs adds up (a 2-socket server: both sockets'
    # channels); the speed model gives llama.cpp one socket's share times its fitted factor
    sockets: int = Field(1, ge=1)
    assumptions: list[str] = Field(default_factory=list)

    @property
    def gpu_count(self) -> int:
        return sum(count for _, count in self.gpus)

    @property
    def gpu_budget_gib(self) -> float:
        if self.unified_memory:
            return unified_gpu_share(self.ram_gib)
        return sum(g.vram_gib * count for g, count in self.gpus)

    def describe(self, lang: str = "en") -> str:
        if not self.gpus:
            return say(lang, "rig_cpu_only", ram=self.ram_gib)
        return " + ".join(f"{count}× {g.name}" if count > 1 else g.name for g, count in self.gpus)

    def hardware_info(self) -> HardwareInfo:
        return HardwareInfo(
            gpus=[
                GpuInfo(name=g.name, vram_gib=g.vram_gib, bandwidth_gbs=g.bandwidth_gbs, count=c)
                for g, c in self.gpus
            ],
            unified_memory=self.unified_memory,
            ram_gib=self.ram_gib,
            ram_bandwidth_gbs=round(self.ram_bandwidth_gbs, 1),
            cpu=self.cpu,
        )

    @property
    def gpu_device_class(self) -> DeviceClass | None:
        return self.gpus[0][0].device_class if self.gpus else None


def rig_from_query(query: Query, catalog: Catalog) -> Rig:
    """Turn what the question said about hardware into a Rig, stating every guess."""
    assumptions: list[str] = []
    gpus = [(catalog.gpu(n), c) for n, c in zip(query.gpu_names, query.gpu_counts, strict=True)]
    if query.cpu_only:
        gpus = []
    unified = any(g.unified_memory for g, _ in gpus)
    cpu = catalog_cpu = None
    if query.cpu_name:
        catalog_cpu = catalog.cpu(query.cpu_name)
        cpu = catalog_cpu.name

    if unified and gpus[0][0].system_memory:
        return _igpu_rig(query, catalog, gpus[0][0], catalog_cpu)
    if unified:
        chip = gpus[0][0]
        return Rig(
            gpus=[(chip, 1)],
            unified_memory=True,
            ram_gib=chip.vram_gib,
            ram_bandwidth_gbs=chip.bandwidth_gbs,
            cpu=cpu,
            assumptions=[say(query.lang, "note_unified", chip=chip.name, memory=chip.vram_gib,
                             share=unified_gpu_share(chip.vram_gib))],
        )

    ram_gib = query.ram_gib
    if ram_gib is None:
        ram_gib = ASSUMED_RAM_GIB
        assumptions.append(say(query.lang, "note_ram_assumed", ram=ASSUMED_RAM_GIB))

    bandwidth = query.bandwidth_gbs
    sockets = 1
    if bandwidth is None:
        bandwidth = _ram_bandwidth(query, catalog, catalog_cpu, assumptions)
        if catalog_cpu is not None and not query.ram_channels and not query.ram_bus_bits:
            sockets = catalog_cpu.sockets  # the bandwidth counted every socket's channels
    return Rig(
        gpus=gpus,
        ram_gib=ram_gib,
        ram_bandwidth_gbs=bandwidth,
        cpu=cpu,
        sockets=sockets,
        assumptions=assumptions,
    )


def _igpu_rig(query: Query, catalog: Catalog, chip: Gpu, cpu: Cpu | None) -> Rig:
    """An integrated GPU: system RAM is its memory, at the bandwidth the question, the CPU
    or (failing both) the iGPU's usual platform gives."""
    assumptions: list[str] = []
    ram_gib = query.ram_gib
    if ram_gib is None:
        ram_gib = ASSUMED_RAM_GIB
        assumptions.append(say(query.lang, "note_ram_assumed", ram=ASSUMED_RAM_GIB))
    bandwidth = query.bandwidth_gbs
    if bandwidth is None and (query.ram_kind or cpu is not None):
        bandwidth = _ram_bandwidth(query, catalog, cpu, assumptions)
    if bandwidth is None:
        bandwidth = chip.bandwidth_gbs
    sized = chip.model_copy(update={"vram_gib": ram_gib, "bandwidth_gbs": bandwidth})
    assumptions.append(say(query.lang, "note_unified", chip=chip.name, memory=ram_gib,
                           share=unified_gpu_share(ram_gib)))
    return Rig(gpus=[(sized, 1)], unified_memory=True, ram_gib=ram_gib, ram_bandwidth_gbs=bandwidth,
               cpu=cpu.name if cpu else None, assumptions=assumptions)


def _ram_kind(name: str, catalog: Catalog) -> RamKind:
    """A catalog RAM kind, or one built from a real speed the catalog lacks ("DDR5-3900");
    the parser has already said so in the answer."""
    try:
        return catalog.ram_kind(name)
    except KeyError:
        m = re.fullmatch(r"((?:LP)?DDR\dX?)-(\d+)", name.upper())
        generation, mts = (m.group(1), int(m.group(2))) if m else ("DDR4", 3200)
        lp = generation.startswith("LP")
        return RamKind(name=name, generation=generation, mts=mts, bus_bits=16 if lp else 64,
                       default_channels=8 if lp else 2, source="computed from the stated MT/s")


def _ram_bandwidth(query: Query, catalog: Catalog, cpu: Cpu | None, assumptions: list[str]) -> float:
    """RAM bandwidth from the kind and channels asked about, the CPU's usual setup, or
    the common desktop (dual-channel DDR4-3200), saying what was assumed."""
    kind_name = query.ram_kind or (cpu.ram_kind if cpu else None)
    channels = query.ram_channels or (cpu.memory_channels * cpu.sockets if cpu else None)
    if kind_name is None:
        kind_name = ASSUMED_RAM_KIND
        if channels is None:
            assumptions.append(say(query.lang, "note_ram_speed_assumed", kind=ASSUMED_RAM_KIND))
    kind = _ram_kind(kind_name, catalog)
    if query.ram_bus_bits:
        return kind.mts * 1e6 * query.ram_bus_bits / 8 / 1e9
    if channels is None:
        channels = kind.default_channels
        if kind.bus_bits < 64:
            assumptions.append(say(query.lang, "note_bus_assumed", bits=channels * kind.bus_bits, kind=kind.name))
        elif query.ram_kind:
            assumptions.append(say(query.lang, "note_channels_assumed"))
    elif kind.bus_bits < 64 and channels <= 4:
        channels = channels * 64 // kind.bus_bits  # "dual-channel LPDDR5X" means 2 x 64 bits
    bandwidth = kind.bandwidth_gbs(channels)
    if cpu is not None and not query.ram_kind and not query.ram_channels:
        shown = channels * kind.bus_bits // 64 if kind.bus_bits < 64 else channels
        assumptions.append(say(query.lang, "note_cpu_platform", cpu=cpu.name, channels=shown, kind=kind.name,
                               bandwidth=bandwidth))
    if cpu is not None and cpu.sockets > 1:
        assumptions.append(say(query.lang, "note_cpu_numa", cpu=cpu.name, sockets=cpu.sockets, bandwidth=bandwidth))
    return bandwidth
