"""Memory as vLLM (and SGLang and TensorRT-LLM, sized alike) allocates it on GPUs.

vLLM takes `--gpu-memory-utilization` (0.9) of each GPU up front, loads its share of
the weights (tensor parallel splits them across ranks), profiles one forward pass for
the activation peak, and fills every byte left with PagedAttention
KV blocks of 16 tokens. So the question is not "does it fit at this context" but "how
many KV tokens are left": from them follow the largest `--max-model-len` and how many
sequences of the question's context run at once (`--max-num-seqs`). There is no partial
offload: a model whose weights do not fit the GPUs does not start.

Pure: no I/O. Figures and their sources are in the comments.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec, QuantType
from rules.memory import kv_elements_per_cell, weights_bytes
from rules.param_split import split
from rules.schema import GIB

# vLLM's default `--gpu-memory-utilization` (vllm/config/cache.py: gpu_memory_utilization
# = 0.9); SGLang's `--mem-fraction-static` plays the same part (its default depends on
# the card; 0.9 is what RigBot's command sets so both are sized alike).
GPU_MEMORY_UTILIZATION = 0.9
# PagedAttention's default block size on CUDA (vllm/config/cache.py: block_size 16).
BLOCK_SIZE = 16
# Per GPU, inside the 0.9: non-torch memory (NCCL, cuBLAS workspaces) and the profiling
# run's activation peak; the CUDA graphs are captured after the KV cache is sized, in the
# 10% left over. Fitted on start-up logs (rules/data/runtime_memory_cases.toml):
#  * non-torch: 0.13 GiB at TP 1, 0.54-0.55 GiB at TP 2 (vLLM 0.11 on H100, DEBUG logs).
#  * the activation peak is the larger of the forward pass over one batch of
#    --max-num-batched-tokens (per token 3 x intermediate / TP + 4 x hidden, 2 bytes each)
#    and the logits of the profiled rows in fp32 with the sampler's working copies, about
#    1.2 x rows x vocab x 4 bytes. vLLM 0.11 and later profile logits for every batched token
#    (H100, 8192 tokens: Llama 3.1 8B 4.76 GiB, Qwen3-0.6B 5.56, Qwen3-32B 5.64, gpt-oss
#    7.38; this gives 4.70, 5.57, 5.57, 7.37); 0.10 and V0 for one token per sequence
#    (--max-num-seqs), where the forward pass dominates (vllm-project/vllm#10517: Llama 3.1
#    8B at 20,000 batched tokens, peaks 2.07 GiB; this gives 2.21).
#  Not modelled: connectors' buffers (vllm-project/vllm#21348, Qwen3-235B-A22B-FP8 on 4x
#  H100 with LMCache: 8.11 GiB of KV per GPU where this gives 10.4), and SGLang's own
#  split (its static fraction holds weights and KV only; on that rig "K size: 8.23 GB,
#  V size: 8.23 GB" at 0.93, 20% above what this sizes): SGLang is sized as vLLM.
NON_TORCH_GIB = {1: 0.15, 2: 0.55}  # TP 1, TP 2 and more
ACTIVATION_ELEMENTS = (3, 4)  # (x intermediate, x hidden) per batched token, 2 bytes each
LOGIT_COPIES = 1.2
# --max-num-batched-tokens and --max-num-seqs vLLM's API server defaults to: 8192 and 1024
# on GPUs of 70 GiB or more (A100 excepted), 2048 and 256 below
# (vllm/engine/arg_utils.py, get_batch_defaults).
BIG_GPU_GIB = 70
BATCHED_TOKENS = {"big": 8192, "small": 2048}
MAX_NUM_SEQS = {"big": 1024, "small": 256}
# The old flat figure, kept for callers that pass no model shape
OVERHEAD_GIB = 1.5
# bytes per cached element: `--kv-cache-dtype auto` keeps the model's dtype (BF16/F16),
# `fp8` (fp8_e4m3 / fp8_e5m2) one byte: twice the tokens.
KV_BYTES = {"auto": 2.0, "fp8": 1.0}
# vLLM `--quantization` values for the catalog's non-GGUF quants (vLLM detects them from
# the checkpoint's config too; the flag says it plainly).
QUANTIZATION_FLAG = {"awq": "awq", "gptq": "gptq", "fp8": "fp8", "bnb": "bitsandbytes"}
# quant kinds that exist only as GGUF files (llama.cpp's own types); BF16/F16 and MXFP4
# are also published as safetensors checkpoints vLLM loads natively
GGUF_ONLY_KINDS = ("k-quant", "legacy", "i-quant")


def is_gguf_only(quant: QuantType) -> bool:
    return quant.kind in GGUF_ONLY_KINDS


def weights_bytes_vllm(model: ModelSpec, quant: QuantType) -> float:
    """The checkpoint as vLLM loads it: BF16/F16 2 bytes a parameter, FP8 one, AWQ/GPTQ
    4-bit ~4.15 bits (group size 128 scales and zeros), a GGUF at its own bits."""
    if quant.kind == "mxfp4":
        # gpt-oss as published: routed experts in MXFP4 (4 bits + an 8-bit scale per 32),
        # everything else BF16 (vLLM loads the checkpoint, not llama.cpp's Q8_0 mix)
        p = split(model)
        return p.experts * 4.25 / 8 + (p.total - p.experts) * 2
    if quant.is_gguf:
        return weights_bytes(model, quant)  # vLLM's GGUF loader dequantizes per layer, not the file
    return model.params_b * 1e9 * quant.bits_per_weight / 8


def tp_sizes(model: ModelSpec, gpus: int) -> list[int]:
    """Tensor-parallel sizes vLLM accepts up to `gpus`: attention heads divisible by the
    size, and KV heads either divisible by it or dividing it (vLLM then replicates them)."""
    out = []
    for tp in range(1, gpus + 1):
        if model.heads % tp:
            continue
        if not model.is_mla and model.kv_heads % tp and tp % model.kv_heads:
            continue
        out.append(tp)
    return out


def kv_bytes_per_token(model: ModelSpec, kv_dtype: str = "auto") -> float:
    """K and V for one token over all layers (the whole model, not one rank).
    Sliding-window layers are counted in full: vLLM's hybrid allocator can keep less,
    so for those models this is the safe side."""
    return kv_elements_per_cell(model) * model.layers * KV_BYTES[kv_dtype]


def kv_bytes_per_token_per_gpu(model: ModelSpec, tp: int, pp: int, kv_dtype: str = "auto") -> float:
    """A rank holds kv_heads / tp heads (at least one: replicated when tp > kv_heads) of
    layers / pp layers; MLA's latent is the same on every rank."""
    per_layer = kv_elements_per_cell(model) * KV_BYTES[kv_dtype]
    if not model.is_mla:
        per_layer = per_layer * max(1, model.kv_heads // tp) / model.kv_heads
    return per_layer * -(-model.layers // pp)


def _big(vram_gib: float, gpu_name: str) -> bool:
    return vram_gib >= BIG_GPU_GIB and "a100" not in gpu_name.lower()


def default_batched_tokens(vram_gib: float, gpu_name: str = "") -> int:
    return BATCHED_TOKENS["big" if _big(vram_gib, gpu_name) else "small"]


def default_max_num_seqs(vram_gib: float, gpu_name: str = "") -> int:
    return MAX_NUM_SEQS["big" if _big(vram_gib, gpu_name) else "small"]


def activation_gib(model: ModelSpec, batched_tokens: int, tp: int = 1, logit_rows: int | None = None) -> float:
    """The profiling run's peak over the weights, per GPU: the forward pass over one batch
    or the fp32 logits of `logit_rows` rows (default: every batched token), the larger."""
    ffn = model.intermediate_size or 0
    if model.is_moe:
        ffn = (model.moe_intermediate_size or 0) * (model.experts_active + model.shared_experts)
    forward = batched_tokens * (ACTIVATION_ELEMENTS[0] * ffn / tp + ACTIVATION_ELEMENTS[1] * model.hidden_size) * 2
    rows = batched_tokens if logit_rows is None else logit_rows
    logits = LOGIT_COPIES * rows * (model.vocab_size or 0) * 4
    return max(forward, logits) / GIB


def overhead_gib(model: ModelSpec, batched_tokens: int, tp: int = 1, logit_rows: int | None = None) -> float:
    """Per GPU, inside the utilization budget: non-torch memory and the activation peak."""
    return NON_TORCH_GIB[min(tp, 2)] + activation_gib(model, batched_tokens, tp, logit_rows)


@dataclass(frozen=True)
class VllmFit:
    gpus: int
    tp: int  # tensor-parallel size sized
    pp: int  # pipeline-parallel size (1 unless the GPU count does not divide the heads)
    tp_ok: bool  # the GPU count works as the tensor-parallel size
    tp_options: list[int]  # tensor-parallel sizes that work with this many GPUs
    vram_gib: float  # per GPU (the smallest card in a mixed rig)
    budget_gib: float  # gpu_memory_utilization x VRAM, per GPU
    weights_gib: float  # the whole model
    weights_per_gpu_gib: float
    overhead_gib: float  # per GPU
    kv_pool_gib: float  # per GPU, what the KV blocks get
    kv_bytes_per_token: float  # whole model, at the KV dtype
    blocks: int  # KV blocks (each BLOCK_SIZE tokens); every rank holds the same number
    tokens: int  # KV tokens that fit
    max_model_len: int  # largest --max-model-len: native context or tokens, the smaller
    max_num_seqs: int  # sequences of `context` tokens that fit at once
    context: int
    kv_dtype: str

    @property
    def weights_fit(self) -> bool:
        return self.weights_per_gpu_gib + self.overhead_gib < self.budget_gib and self.blocks > 0

    @property
    def fits(self) -> bool:
        """Starts, and holds at least one sequence of the question's context."""
        return self.weights_fit and self.tokens >= self.context


def size(model: ModelSpec, quant: QuantType, gpus: int, vram_gib: float, context: int,
         kv_dtype: str = "auto", utilization: float = GPU_MEMORY_UTILIZATION,
         overhead_gib: float | None = None, batched_tokens: int | None = None, logit_rows: int | None = None,
         of_free: bool = False) -> VllmFit:
    """vLLM on `gpus` GPUs of `vram_gib` each, tensor parallel over all of them when the
    heads allow, else the largest tensor-parallel size that divides the count with
    pipeline parallel over the rest (--pipeline-parallel-size). `overhead_gib` None: non-torch
    memory and the activation peak of `batched_tokens` (vLLM's default for the card) with
    `logit_rows` rows of logits (None: every batched token, as vLLM 0.11 and later profile).
    `of_free`: the KV pool is `utilization` of what the weights and overhead leave
    (TensorRT-LLM's --kv_cache_free_gpu_memory_fraction) rather than of the whole GPU."""
    options = tp_sizes(model, gpus)
    tp_ok = gpus in options
    tp = gpus if tp_ok else max(t for t in options if gpus % t == 0)  # 1 always works
    pp = gpus // tp
    weights = weights_bytes_vllm(model, quant) / GIB
    per_gpu = weights / gpus
    if overhead_gib is None:
        overhead_gib = overhead_gib_for(model, vram_gib, tp, batched_tokens, logit_rows)
    if of_free:
        budget = vram_gib
        pool = max(0.0, utilization * (vram_gib - per_gpu - overhead_gib))
    else:
        budget = utilization * vram_gib
        pool = max(0.0, budget - per_gpu - overhead_gib)
    per_token_gpu = kv_bytes_per_token_per_gpu(model, tp, pp, kv_dtype)
    blocks = int(pool * GIB // (per_token_gpu * BLOCK_SIZE))
    tokens = blocks * BLOCK_SIZE
    max_len = min(model.native_context, tokens)
    return VllmFit(
        gpus=gpus, tp=tp, pp=pp, tp_ok=tp_ok, tp_options=options, vram_gib=vram_gib, budget_gib=budget,
        weights_gib=weights, weights_per_gpu_gib=per_gpu, overhead_gib=overhead_gib, kv_pool_gib=pool,
        kv_bytes_per_token=kv_bytes_per_token(model, kv_dtype), blocks=blocks, tokens=tokens,
        max_model_len=max_len, max_num_seqs=tokens // context if context else 0, context=context,
        kv_dtype=kv_dtype)


def overhead_gib_for(model: ModelSpec, vram_gib: float, tp: int, batched_tokens: int | None = None,
                     logit_rows: int | None = None) -> float:
    return overhead_gib(model, batched_tokens or default_batched_tokens(vram_gib), tp, logit_rows)


def quantization_flag(quant: QuantType, written: str | None = None) -> str | None:
    """`--quantization` for this checkpoint: awq or gptq as the question wrote it (one
    catalog entry covers both), fp8; None for BF16/F16 and GGUF (read from the file)."""
    if quant.kind == "gptq":
        return "awq" if written and "awq" in written.lower() else "gptq"
    return QUANTIZATION_FLAG.get(quant.kind)


def vllm_command(repo: str, f: VllmFit, quant_flag: str | None) -> str:
    parts = ["vllm serve", repo]
    if quant_flag:
        parts.append(f"--quantization {quant_flag}")
    parts.append(f"--tensor-parallel-size {f.tp}")
    if f.pp > 1:
        parts.append(f"--pipeline-parallel-size {f.pp}")
    parts.append(f"--max-model-len {f.max_model_len}")
    if f.max_num_seqs:
        parts.append(f"--max-num-seqs {f.max_num_seqs}")
    if f.kv_dtype == "fp8":
        parts.append("--kv-cache-dtype fp8")
    parts.append(f"--gpu-memory-utilization {GPU_MEMORY_UTILIZATION}")
    return " ".join(parts)


def trtllm_command(repo: str, f: VllmFit, quant_flag: str | None) -> str:
    """trtllm-serve's flags (NVIDIA/TensorRT-LLM tensorrt_llm/commands/serve.py: --tp_size,
    --pp_size, --max_seq_len, --max_batch_size, --kv_cache_free_gpu_memory_fraction,
    --kv_cache_dtype); the PyTorch backend is the default and reads the quantization from the
    checkpoint, so there is no quantization flag."""
    parts = ["trtllm-serve", repo, f"--tp_size {f.tp}"]
    if f.pp > 1:
        parts.append(f"--pp_size {f.pp}")
    parts.append(f"--max_seq_len {f.max_model_len}")
    if f.max_num_seqs:
        parts.append(f"--max_batch_size {f.max_num_seqs}")
    if f.kv_dtype == "fp8":
        parts.append("--kv_cache_dtype fp8")
    parts.append(f"--kv_cache_free_gpu_memory_fraction {GPU_MEMORY_UTILIZATION}")
    return " ".join(parts)


def sglang_command(repo: str, f: VllmFit, quant_flag: str | None) -> str:
    parts = ["python -m sglang.launch_server --model-path", repo]
    if quant_flag:
        parts.append(f"--quantization {quant_flag}")
    parts.append(f"--tp {f.tp}")
    if f.pp > 1:
        parts.append(f"--pp-size {f.pp}")
    parts.append(f"--context-length {f.max_model_len}")
    if f.max_num_seqs:
        parts.append(f"--max-running-requests {f.max_num_seqs}")
    if f.kv_dtype == "fp8":
        parts.append("--kv-cache-dtype fp8_e4m3")
    parts.append(f"--mem-fraction-static {GPU_MEMORY_UTILIZATION}")
    return " ".join(parts)
