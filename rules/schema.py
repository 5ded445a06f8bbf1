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
    DIAGNOSE = "diagnose"  # a pasted llama.cpp / Ollama / LM Studio run log: why is it slow?


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
    # the class's own rows when it has too few for a band and the range is all rows' spread
    class_measurements: int | None = None
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
    # set when ranking by quality evidence for a use: the model's score in the benchmark
    # ranked by (`Answer.quality` names it); null where the model has no score there
    quality_score: float | None = None


class QualityScore(_Model):
    """One benchmark score, with where it comes from (rules/data/quality.toml)."""

    model: str  # catalog name
    evaluated_as: str  # the model as the source names it (a version or a run setup)
    benchmark: str
    score: float
    unit: str  # % | Elo
    settings: str
    group: str  # scores in one group were run alike; only these are compared
    evaluated_by: str
    self_reported: bool  # the evaluator is the model's own vendor
    date: str
    source: str


class QuantLossInfo(_Model):
    """What a GGUF quant type costs against 16 bits, as measured (rules/data/quant_quality.toml)."""

    quant: str
    measured_on: str  # the model the figures were measured on
    kld: float | None  # mean KL divergence from the 16-bit model's token distribution
    ppl_increase_pct: float  # perplexity increase, percent
    imatrix: bool
    source: str


class QualityInfo(_Model):
    """The quality evidence an answer used: for a ranking, the benchmark it ranked by, the
    scores and the models whose score is unknown; for a comparison, the shared scores and
    the option recommended. Scores are never estimated: a model without one is in `unknown`."""

    use: str | None = None  # coding | reasoning | general | chinese | long_context | tool_use | vision
    benchmark: str | None = None  # the benchmark ranked by
    group: str | None = None
    scores: list[QualityScore] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    quant_loss: list[QuantLossInfo] = Field(default_factory=list)
    recommendation: str | None = None  # a comparison: the option label recommended
    reason: str | None = None  # bigger_model | same_quality | smaller_scores_higher | quant_loss_large | fit | no_evidence


class LogDevice(_Model):
    """A device a run log names: "CUDA0" / "NVIDIA GeForce RTX 3090", with the free memory
    llama.cpp printed for it when it did."""

    backend: str  # CUDA | Metal | Vulkan | ROCm | SYCL | CPU
    name: str
    free_mib: float | None = None
    total_mib: float | None = None


class BenchRow(_Model):
    """One llama-bench result row, as rules/parse/bench.py reads it from any output format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str  # markdown | csv | json | jsonl
    model_type: str  # llama-bench's model column: "llama 8B Q4_K - Medium"
    model_words: str  # its architecture and size words: "llama 8B"
    quant: str | None  # GGUF name read from it: "Q4_K_M"; None when it does not say
    size_gib: float | None = None  # the weights, as llama-bench reports them
    params_b: float | None = None
    backend: str | None = None  # "CUDA", "Metal,BLAS", "CPU", "Vulkan", "ROCm", "SYCL"
    gpu_layers: int | None = None  # ngl (not printed for CPU backends)
    n_cpu_moe: int | None = None
    threads: int | None = None
    flash_attn: bool | None = None
    type_k: str | None = None
    type_v: str | None = None
    no_kv_offload: bool | None = None
    n_prompt: int = 0
    n_gen: int = 0
    n_depth: int = 0
    tokens_per_s: float
    stddev: float | None = None
    model_filename: str | None = None
    cpu_info: str | None = None  # CSV and JSON only
    gpu_info: str | None = None
    build: str | None = None

    @property
    def test(self) -> str:
        """The test as llama-bench names it: pp512, tg128, pp512+tg128, tg128 @ d4096."""
        if self.n_prompt and not self.n_gen:
            name = f"pp{self.n_prompt}"
        elif self.n_gen and not self.n_prompt:
            name = f"tg{self.n_gen}"
        else:
            name = f"pp{self.n_prompt}+tg{self.n_gen}"
        return name + (f" @ d{self.n_depth}" if self.n_depth else "")

    @property
    def is_decode(self) -> bool:
        """A text-generation test: decode speed, what RigBot's tokens/s figures predict."""
        return self.n_gen > 0 and self.n_prompt == 0

    @property
    def is_prefill(self) -> bool:
        return self.n_prompt > 0 and self.n_gen == 0

    @property
    def on_cpu(self) -> bool:
        """Weights on the CPU: a CPU-only build, or a GPU build told -ngl 0."""
        backend = (self.backend or "").upper()
        cpu_build = not backend or all(b.strip() in {"CPU", "BLAS", "ZENDNN"} for b in backend.split(","))
        return cpu_build or self.gpu_layers == 0


class RunLog(_Model):
    """What a llama.cpp (or Ollama / LM Studio) log says was allocated and measured.
    Every field is None when the log does not print it; `evidence` keeps, per fact, the
    log line it was read from (without its timestamp), to quote in the diagnosis."""

    tool: str = "llama.cpp"  # llama.cpp | ollama | lm studio
    backends: list[str] = Field(default_factory=list)  # GPU backends the build/log shows
    devices: list[LogDevice] = Field(default_factory=list)
    gpu_layers: int | None = None  # offloaded N/M
    total_layers: int | None = None
    requested_gpu_layers: int | None = None  # -ngl / --n-gpu-layers / layers.requested (-1: all)
    model_buffers_mib: dict[str, float] = Field(default_factory=dict)  # "CUDA0": 5049.7, "CPU_Mapped": 245.6
    kv_buffers_mib: dict[str, float] = Field(default_factory=dict)
    compute_buffers_mib: dict[str, float] = Field(default_factory=dict)
    kv_type_k: str | None = None
    kv_type_v: str | None = None
    kv_offload: bool | None = None  # False: --no-kv-offload
    n_ctx: int | None = None
    n_seq_max: int | None = None  # -np slots
    n_ctx_per_seq: int | None = None
    kv_unified: bool | None = None
    flash_attn: str | None = None  # on | off | auto
    model_name: str | None = None  # general.name
    model_params_b: float | None = None
    model_size_gib: float | None = None
    ftype: str | None = None  # GGUF quant name (Q4_K_M) when the log names one
    n_layer: int | None = None
    n_expert: int | None = None
    prompt_tokens_per_s: float | None = None
    eval_tokens_per_s: float | None = None
    eval_tokens: int | None = None  # tokens the eval speed was measured over
    cpu_only_build: bool = False  # no GPU backend in the build, or the GPU was not usable
    ollama_memory_required_gib: float | None = None  # memory.required.full
    ollama_memory_available_gib: list[float] = Field(default_factory=list)
    evidence: dict[str, str] = Field(default_factory=dict)
    bench: list[BenchRow] = Field(default_factory=list)  # a pasted llama-bench table
    runs: int = 1  # runs of the model in the paste; only the first is read
    model_file: str | None = None  # the -m file name on a pasted command line

    @property
    def has_run_facts(self) -> bool:
        """The log shows what was allocated or measured, not only which model and GPU."""
        return bool(self.bench or self.gpu_layers is not None or self.model_buffers_mib or self.kv_buffers_mib
                    or self.eval_tokens_per_s or self.prompt_tokens_per_s or self.cpu_only_build
                    or self.n_seq_max)


class DiagnosisCause(_Model):
    code: str  # partial_offload | kv_on_cpu | cpu_fallback | np_slots | slower_than_predicted
    evidence: str  # the log line that shows it
    sentence: str


class DiagnosisRow(_Model):
    """One llama-bench generation row against RigBot's prediction for it."""

    model: str
    test: str
    gpu_layers: int | None = None
    measured_tokens_per_s: float
    predicted_tokens_per_s: float | None = None
    predicted_range: list[float] | None = None
    verdict: str  # normal | slow | fast | no_prediction


class Diagnosis(_Model):
    """A run log compared with RigBot's own prediction for the same hardware and model."""

    measured_tokens_per_s: float | None = None
    predicted_tokens_per_s: float | None = None  # for the layout the log shows
    predicted_range: list[float] | None = None
    predicted_corrected_tokens_per_s: float | None = None  # with the corrected command
    verdict: str  # normal | slow | fast | no_speed | no_prediction
    causes: list[DiagnosisCause] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # facts the log lacks, said
    command: str | None = None  # corrected llama-server command
    rows: list[DiagnosisRow] = Field(default_factory=list)  # llama-bench generation rows


class QueryOption(_Model):
    """One side of a comparison ("4090 vs 5090", "Q4_K_M vs Q8_0", "… what about a 4090?"):
    the fields it changes in the question's `Query`; the rest is shared."""

    label: str  # as the question wrote it, for the table's row
    gpu_names: list[str] | None = None
    gpu_counts: list[int] | None = None
    model_name: str | None = None
    params_b: float | None = None
    quant: str | None = None
    runtime: str | None = None  # "llama.cpp or vLLM?": one answer per runtime


class Query(_Model):
    """What the parser understood from a question; everything optional. The engine answers
    from this alone: nothing downstream reads the question's text again."""

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
    quant_written: str | None = None  # the quant as the question wrote it ("awq", "gptq"): one catalog entry covers both
    context: int | None = None
    kv_cache_type: str | None = None  # f16 | q8_0 | q4_0
    bits_per_weight: float | None = None  # "4.65bpw" (EXL2/EXL3): a format sized at any bits per weight
    group_size: int | None = None  # "group size 32" (MLX, GPTQ): one scale (and bias) per this many weights
    cache_bits: int | None = None  # ExLlama's cache: 4, 6 or 8 ("Q4 cache", "cache_mode: Q6"); None: FP16
    unknown_model: str | None = None  # a model name the catalog lacks, as written ("Zorblax-13B")
    # a family named without a size or version ("devstral on a 4090", "qwen3 on my 3090"):
    # the catalog's family key the recommendation is restricted to
    model_family: str | None = None
    also_named: str | None = None  # a second catalog model in the question; the answer covers the first
    run_log: RunLog | None = None  # a pasted llama.cpp / Ollama / LM Studio log
    full_context: bool = False  # "at full context", "满上下文": the model's native context
    # what else the question asks for
    users: int | None = None  # concurrent users / parallel sequences to serve
    prompt_tokens: int | None = None  # "a 4k-token prompt": prefill and time to first token
    wants_first_token: bool = False  # "time to first token", "首字"
    train_method: str | None = None  # fine-tuning: full | lora | qlora
    batch_size: int | None = None
    sequence_length: int | None = None
    experts_in_ram: bool = False  # MoE experts kept in RAM (--n-cpu-moe, "experts on the CPU")
    runtime: str | None = None  # a runtime the question names (vllm, mlx, exllama, ollama, ...)
    use: str | None = None  # what the model is for: coding | reasoning | general | chinese | long_context | tool_use | vision
    options: list[QueryOption] = Field(default_factory=list)  # a comparison: one answer per option
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
    diagnosis: Diagnosis | None = None  # a pasted run log, explained
    runtime: str | None = None  # the runtime the figures are for: llama.cpp unless the question named another
    quality: QualityInfo | None = None  # quality evidence: a ranking for a use, or two options weighed
    answer: str
    error: str | None = None
