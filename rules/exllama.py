"""Memory as ExLlamaV2/V3 (and TabbyAPI on top of them) allocate it on NVIDIA (or ROCm) GPUs.

EXL2/EXL3 files come at any bits per weight: the decoder layers at the bpw the repo names
("4.65bpw"), the output head at 6 bits (the `h6` of turboderp's repo names; `h8` for 8),
and the token embedding stays in system RAM, not VRAM (exllamav2 loads it on the CPU).
The cache is allocated for the whole `max_seq_len` up front, in FP16 or one of the
quantized modes (exllamav2/cache.py, turboderp-org/exllamav2):
  FP16: 2 bytes per element; Q8: K and V 1 byte each; Q6: K 1 byte, V half a byte (its
  6 bits average); Q4: half a byte each; every quantized mode adds an FP16 scale per 32
  elements, plus one FP16 layer of K and V per GPU as the dequantization buffer.
Layers are split over several GPUs (autosplit), each GPU with its own CUDA context.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec
from rules.memory import kv_elements_per_cell
from rules.param_split import split
from rules.schema import GIB

HEAD_BITS = 6.0  # turboderp's -h6- repos; the default of exllamav2's convert.py (-hb 6)
DEFAULT_BPW = 4.0  # when a question names EXL2 but no bpw: said in the answer
# bytes per cached element (K and V averaged) by cache mode, scales included (1 FP16 per 32)
_SCALE = 2 / 32
CACHE_BYTES = {16: 2.0, 8: 1.0 + _SCALE, 6: 0.75 + _SCALE, 4: 0.5 + _SCALE}
CACHE_MODE = {16: "FP16", 8: "Q8", 6: "Q6", 4: "Q4"}
# CUDA context, torch and exllamav2's scratch buffers (chunk of 2048 tokens), per GPU:
# Llama 2 7B FP16 with a 4096-token FP16 cache took 15,162 MiB in all against 12.3 GiB of
# weights and 2.0 GiB of cache (oobabooga/textgen PR #5645), 0.5 GiB over.
OVERHEAD_GIB = 0.5


@dataclass(frozen=True)
class ExllamaFit:
    bpw: float
    cache_bits: int
    context: int
    gpus: int
    vram_gib: float  # all GPUs together
    weights_gib: float  # on the GPUs (head included, embedding not)
    embedding_ram_gib: float  # the token embedding, in system RAM
    cache_gib: float
    overhead_gib: float
    largest_bpw: float | None  # the largest bpw whose weights and cache fit at this context
    largest_context: int  # the longest cache that fits at this bpw (0: the weights alone do not fit)

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.cache_gib + self.overhead_gib

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.vram_gib


def weights_gib(model: ModelSpec, bpw: float, head_bits: float = HEAD_BITS) -> tuple[float, float]:
    """(on the GPU, embedding in RAM) in GiB."""
    p = split(model)
    body = (p.rest + p.experts) * bpw / 8
    head = (p.head or p.embedding) * head_bits / 8  # a tied head is quantized as its own tensor
    return (body + head) / GIB, p.embedding * 2 / GIB


def cache_gib(model: ModelSpec, context: int, cache_bits: int = 16, gpus: int = 1) -> float:
    per_token = kv_elements_per_cell(model) * model.layers
    total = per_token * context * CACHE_BYTES[cache_bits]
    if cache_bits != 16:  # one FP16 layer of K and V per GPU to dequantize into
        total += kv_elements_per_cell(model) * context * 2 * gpus
    return total / GIB


def size(model: ModelSpec, bpw: float, context: int, gpus: int, vram_gib: float,
         cache_bits: int = 16, head_bits: float = HEAD_BITS) -> ExllamaFit:
    """`vram_gib`: all GPUs together."""
    on_gpu, embedding = weights_gib(model, bpw, head_bits)
    cache = cache_gib(model, context, cache_bits, gpus)
    overhead = OVERHEAD_GIB * gpus
    room = vram_gib - overhead - cache
    head_only, _ = weights_gib(model, 0.0, head_bits)
    body_params = (split(model).rest + split(model).experts)
    largest = (room - head_only) * GIB * 8 / body_params if body_params else None
    largest = round(largest - 0.005, 2) if largest and largest >= 2.0 else None  # EXL2 starts near 2 bpw
    per_token = cache_gib(model, 1, cache_bits, gpus)
    left = vram_gib - overhead - on_gpu
    longest = int(left / per_token) if left > 0 else 0
    return ExllamaFit(bpw=bpw, cache_bits=cache_bits, context=context, gpus=gpus, vram_gib=vram_gib,
                      weights_gib=on_gpu, embedding_ram_gib=embedding, cache_gib=cache, overhead_gib=overhead,
                      largest_bpw=min(largest, 8.0) if largest else None,
                      largest_context=min(longest - longest % 256, model.native_context) if longest > 0 else 0)


def tabby_config(repo: str, f: ExllamaFit, gpus: int) -> str:
    """TabbyAPI's config.yml, model section (theroyallab/tabbyAPI config_sample.yml: model_name,
    max_seq_len, cache_mode FP16|Q8|Q6|Q4, gpu_split_auto), as one line a chat shows."""
    parts = [f"model_name: {repo}", f"max_seq_len: {f.context}", f"cache_mode: {CACHE_MODE[f.cache_bits]}"]
    if gpus > 1:
        parts.append("gpu_split_auto: true")
    return "config.yml → model: {" + ", ".join(parts) + "}"
