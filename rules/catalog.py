"""Catalogs of hardware, models and quantization types, read from `rules/data/*.toml`.

Figures live in the data files, each with its source; this module only validates
them (pydantic) and indexes them for lookup. Loaded once per process.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DATA_DIR = Path(__file__).parent / "data"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceClass(StrEnum):
    """Groups of devices that share one measured decode efficiency (see speeds.toml)."""

    CPU = "cpu"
    GPU_CONSUMER = "gpu_consumer"  # GDDR cards: GeForce, Radeon, Arc, workstation RTX
    GPU_DATACENTER = "gpu_datacenter"  # HBM cards: A100, H100, MI250 ...
    APPLE = "apple"  # Apple silicon, unified memory


class Gpu(_Strict):
    name: str  # display name, e.g. "RTX 3060 12GB"
    vendor: str  # nvidia | amd | intel | apple
    vram_gib: float = Field(gt=0, le=1024)
    bandwidth_gbs: float = Field(gt=0, le=20000)
    device_class: DeviceClass
    # Keys matched in questions ("3060", "rtx 3060"); variants of one card share keys.
    keys: list[str] = Field(min_length=1)
    # The variant chosen when a question names the card without its memory size.
    default_variant: bool = True
    unified_memory: bool = False
    # Apple silicon: the GPU core counts this memory variant is sold with ("40-core GPU"
    # picks the M3 Max at 400 GB/s), and the machines it ships in ("MacBook Pro").
    gpu_cores: list[int] = Field(default_factory=list)
    machines: list[str] = Field(default_factory=list)
    source: str = Field(min_length=3)

    @field_validator("keys", "machines")
    @classmethod
    def _lower_keys(cls, keys: list[str]) -> list[str]:
        return [k.lower().strip() for k in keys]

    @property
    def chip(self) -> str:
        """The name without its memory size: "Apple M3 Max 48GB" → "Apple M3 Max"."""
        return self.name.rsplit(" ", 1)[0] if self.name.endswith("GB") else self.name


class RamKind(_Strict):
    name: str  # "DDR4-3200"
    generation: str  # DDR4 | DDR5 | LPDDR5 ...
    mts: int = Field(gt=0)  # mega-transfers per second
    bus_bits: int = 64  # bits per channel: 64 per DIMM channel, 16 per LPDDR5 channel
    default_channels: int = Field(default=2, gt=0, le=32)  # dual channel; LPDDR: a 128-bit laptop bus
    source: str = Field(min_length=3)

    def bandwidth_gbs(self, channels: int) -> float:
        return self.mts * 1e6 * (self.bus_bits / 8) * channels / 1e9


class Cpu(_Strict):
    name: str
    keys: list[str] = Field(min_length=1)
    cores: int = Field(gt=0)
    threads: int = Field(gt=0)
    memory_channels: int = Field(gt=0, le=16)  # 64-bit channels per socket
    ram_kind: str  # default/typical memory, a RamKind name
    source: str = Field(min_length=3)

    @field_validator("keys")
    @classmethod
    def _lower_keys(cls, keys: list[str]) -> list[str]:
        return [k.lower().strip() for k in keys]


class ModelSpec(_Strict):
    name: str  # "Llama 2 13B"
    family: str  # "llama2"
    params_b: float = Field(gt=0)  # total parameters, billions
    active_params_b: float | None = None  # MoE: parameters read per token
    expert_params_b: float | None = None  # MoE: parameters inside expert FFNs
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int | None = None  # defaults to hidden_size / heads
    native_context: int = Field(gt=0)
    aliases: list[str] = Field(min_length=1)
    popular: bool = False  # offered in recommendations
    source: str = Field(min_length=3)

    @field_validator("aliases")
    @classmethod
    def _lower_aliases(cls, aliases: list[str]) -> list[str]:
        return [a.lower().strip() for a in aliases]

    @model_validator(mode="after")
    def _check_shape(self) -> ModelSpec:
        if self.kv_heads > self.heads:
            raise ValueError(f"{self.name}: kv_heads > heads")
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise ValueError(f"{self.name}: active parameters exceed total")
        return self

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None

    @property
    def kv_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.heads


class QuantType(_Strict):
    name: str  # "Q4_K_M"
    bits_per_weight: float = Field(gt=0, le=32)
    # K-quant mixes promote some dense tensors to higher types; MoE expert
    # tensors stay at the base type, so a MoE file is smaller per parameter.
    bits_per_weight_experts: float | None = None
    bits: int  # nominal bit class used for "4-bit" style questions
    kind: str  # k-quant | legacy | i-quant | float | gptq
    words: list[str] = Field(default_factory=list)  # extra spellings in questions
    source: str = Field(min_length=3)


class DeviceEfficiency(_Strict):
    device_class: DeviceClass
    efficiency: float = Field(gt=0, le=1)
    source: str = Field(min_length=3)


class Catalog(_Strict):
    gpus: list[Gpu]
    ram_kinds: list[RamKind]
    cpus: list[Cpu]
    models: list[ModelSpec]
    quants: list[QuantType]
    efficiencies: list[DeviceEfficiency]

    @model_validator(mode="after")
    def _check_links(self) -> Catalog:
        ram_names = {r.name for r in self.ram_kinds}
        for cpu in self.cpus:
            if cpu.ram_kind not in ram_names:
                raise ValueError(f"CPU {cpu.name}: unknown ram_kind {cpu.ram_kind}")
        for field, items in (("gpu", self.gpus), ("model", self.models), ("quant", self.quants)):
            names = [i.name for i in items]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"duplicate {field} names: {sorted(dupes)}")
        classes = {e.device_class for e in self.efficiencies}
        if classes != set(DeviceClass):
            raise ValueError(f"efficiencies must cover every device class, have {sorted(classes)}")
        return self

    def gpu(self, name: str) -> Gpu:
        return _index(self.gpus)[name]

    def model(self, name: str) -> ModelSpec:
        return _index(self.models)[name]

    def quant(self, name: str) -> QuantType:
        return _index(self.quants)[name.upper()]

    def ram_kind(self, name: str) -> RamKind:
        return _index(self.ram_kinds)[name.upper()]

    def efficiency(self, device_class: DeviceClass) -> float:
        return next(e.efficiency for e in self.efficiencies if e.device_class == device_class)


def _index(items):  # small lists, so a dict per call is cheap and keeps Catalog frozen
    return {i.name.upper() if isinstance(i, QuantType | RamKind) else i.name: i for i in items}


class CatalogError(ValueError):
    """A data file failed validation; the message names the file and the field."""


def _read(name: str, data_dir: Path) -> dict:
    path = data_dir / f"{name}.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    """Read and validate every data file; raises CatalogError naming what is wrong."""
    try:
        return Catalog(
            gpus=_read("gpus", data_dir)["gpu"],
            ram_kinds=_read("ram", data_dir)["ram"],
            cpus=_read("cpus", data_dir)["cpu"],
            models=_read("models", data_dir)["model"],
            quants=_read("quants", data_dir)["quant"],
            efficiencies=_read("speeds", data_dir)["efficiency"],
        )
    except (KeyError, ValueError) as exc:
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(f"catalog in {data_dir} is invalid: {exc}") from exc


_current: Catalog | None = None


def default_catalog() -> Catalog:
    """The catalog from the packaged data files, loaded on first use."""
    global _current
    if _current is None:
        _current = load_catalog()
    return _current


def reload_default_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    """Re-read the data files (admin reload). If they are broken, CatalogError is
    raised and the catalog in use stays as it was."""
    global _current
    fresh = load_catalog(data_dir)
    _current = fresh
    return fresh
