"""Structured query and result types shared by the parser, the math and the `Answer`.

Memory is in GiB (2^30 bytes); bandwidth in GB/s (10^9 bytes/s).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

GIB = 2**30
GB = 10**9


class Verdict(StrEnum):
    FITS_GPU = "fits_gpu"
    PARTIAL_OFFLOAD = "partial_offload"
    CPU_ONLY = "cpu_only"
    DOES_NOT_FIT = "does_not_fit"


class Intent(StrEnum):
    CAN_RUN = "can_run"
    REQUIREMENTS = "requirements"
    SPEED = "speed"
    RECOMMEND = "recommend"
    EXPLAIN = "explain"
    MAX_CONTEXT = "max_context"
    FINE_TUNE = "fine_tune"
    SERVE = "serve"
    COMMAND = "command"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GpuInfo(_Model):
    name: str
    vram_gib: float
    bandwidth_gbs: float
    count: int = 1


class HardwareInfo(_Model):
    gpus: list[GpuInfo] = Field(default_factory=list)
    unified_memory: bool = False
    ram_gib: float | None = None
    ram_bandwidth_gbs: float | None = None
    cpu: str | None = None


class ModelInfo(_Model):
    name: str
    params_b: float
    quant: str
    bits_per_weight: float
    context: int


class MemoryInfo(_Model):
    weights_gib: float
    kv_cache_gib: float
    overhead_gib: float
    total_gib: float
    available_gib: float | None
    gpu_layers: int | None
    total_layers: int


class SpeedInfo(_Model):
    theoretical_max_tokens_per_s: float
    expected_tokens_per_s: float  # at the start of a conversation (what benchmarks report)
    bottleneck: str
    # near the end of a full context, where each token also reads the whole KV cache
    full_context_tokens_per_s: float | None = None
    # [low, high] from the calibration residuals of the device class (rules/calibration.py)
    expected_range: list[float] | None = None
    measurements: int | None = None  # calibration rows the range comes from
    device_class: str | None = None  # the class whose fitted figures were used
    prompt_tokens_per_s: float | None = None  # prefill (compute-bound); None when compute is unknown
    prompt_tokens_per_s_range: list[float] | None = None
    time_to_first_token_s: float | None = None  # for `prompt_tokens`
    prompt_tokens: int | None = None


class ServingInfo(_Model):
    """N users, each with its own llama.cpp slot (`-np N`, `-c N × context`)."""

    users: int
    context_per_user: int
    kv_cache_gib: float  # all slots together
    kv_cache_per_user_gib: float
    aggregate_tokens_per_s: float | None
    per_user_tokens_per_s: float | None
    max_users: int  # users that fit at this context per user


class TrainingInfo(_Model):
    """Memory to fine-tune; `memory.total_gib` carries the total."""

    method: str  # full | lora | qlora
    weights_gib: float
    adapters_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    overhead_gib: float
    total_gib: float
    batch_size: int
    sequence_length: int
    lora_rank: int | None = None


class Recommendation(_Model):
    model: str
    params_b: float
    quant: str
    verdict: Verdict
    total_gib: float
    expected_tokens_per_s: float | None
    expected_range: list[float] | None = None  # [low, high], as in SpeedInfo
    hardware: str | None = None  # set when recommending GPUs for a given model
    # set when recommending models to serve several users: the speed above is then per
    # user with all `users` generating, this their total
    users: int | None = None
    aggregate_tokens_per_s: float | None = None


class Query(_Model):
    """What the parser understood from a question; everything optional."""

    intent: Intent = Intent.CAN_RUN
    lang: str = "en"  # the question's language, which the answer is written in: en | zh
    # hardware
    gpu_names: list[str] = Field(default_factory=list)  # catalog names, one per card kind
    gpu_counts: list[int] = Field(default_factory=list)
    vram_only: bool = False  # "12GB VRAM" without a card: gpu_names holds a typical card
    cpu_only: bool = False
    cpu_name: str | None = None
    ram_gib: float | None = None
    ram_kind: str | None = None
    ram_channels: int | None = None
    ram_bus_bits: int | None = None  # "256-bit LPDDR5X": total memory bus width
    bandwidth_gbs: float | None = None  # "100 GB/s" in a pure speed question
    # model
    model_name: str | None = None  # catalog name
    params_b: float | None = None  # a bare size ("13B") when no catalog model matched
    model_file_gb: float | None = None  # "a 13 GB model" in a pure speed question
    gguf_path: str | None = None  # a local .gguf file named in the question
    quant: str | None = None
    context: int | None = None
    kv_cache_type: str | None = None  # f16 | q8_0 | q4_0
    unknown_model: str | None = None  # a model name the catalog lacks, as written ("Zorblax-13B")
    # what the parser assumed and what it could not read, worded for the answer
    assumptions: list[str] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)
    # what went wrong, if anything (machine-readable reason and a sentence)
    error: str | None = None
    error_message: str | None = None

    @property
    def has_hardware(self) -> bool:
        return bool(
            self.gpu_names or self.cpu_only or self.cpu_name or self.ram_gib or self.ram_kind
            or self.bandwidth_gbs
        )

    @property
    def has_model(self) -> bool:
        return bool(self.model_name or self.params_b or self.model_file_gb)


class SizingResult(_Model):
    """Everything the rules engine produced for one question."""

    intent: Intent
    hardware: HardwareInfo | None = None
    model: ModelInfo | None = None
    verdict: Verdict | None = None
    memory: MemoryInfo | None = None
    speed: SpeedInfo | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    serving: ServingInfo | None = None
    training: TrainingInfo | None = None
    command: str | None = None  # the llama.cpp command line that realises the answer
    answer: str
    error: str | None = None
