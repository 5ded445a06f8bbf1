"""Memory to fine-tune a model: full (mixed precision AdamW), LoRA on a 16-bit base,
QLoRA on a 4-bit base. Activations assume gradient checkpointing (one saved input per
layer plus one layer's working set, flash attention). Checked against LLaMA-Factory's
hardware-requirement table (tests/test_intents_training.py)."""

from __future__ import annotations

from rules.catalog import ModelSpec
from rules.schema import GIB, TrainingInfo

METHODS = ("full", "lora", "qlora")
DEFAULT_BATCH = 1
DEFAULT_SEQUENCE = 512
LORA_RANK = 8
# CUDA context, cuBLAS workspaces and the allocator's slack in a PyTorch training run
TRAINING_OVERHEAD_GIB = 1.0
# bytes per base-model parameter: bf16 weights; NF4 with double-quantised scales plus the
# 16-bit embeddings and norms that QLoRA leaves unquantised (about 4.5 bits in all)
BASE_BYTES = {"full": 2.0, "lora": 2.0, "qlora": 4.5 / 8}
# per trainable parameter: bf16 gradient; AdamW's fp32 master copy, momentum and variance
GRADIENT_BYTES = 2.0
OPTIMIZER_BYTES = 12.0
# saved activations per token per hidden unit: the checkpointed layer input (2 bytes per
# layer) and the recomputed layer's working set (about 34 bytes, Korthikanti et al. 2022)
CHECKPOINT_BYTES = 2.0
LAYER_WORKING_BYTES = 34.0


def _ffn_size(model: ModelSpec) -> float:
    """Feed-forward width: the catalog's, or else from the parameter count."""
    if model.intermediate_size:
        return float(model.intermediate_size)
    h = model.hidden_size
    kv_dim = model.kv_heads * model.kv_head_dim
    attention = 2 * h * h + 2 * h * kv_dim
    per_layer = model.params_b * 1e9 / model.layers
    return max(h, (per_layer - attention) / (3 * h))


def lora_parameters(model: ModelSpec, rank: int = LORA_RANK) -> float:
    """Rank-r adapters on every linear layer (q, k, v, o, gate, up, down)."""
    h = model.hidden_size
    kv_dim = model.kv_heads * model.kv_head_dim
    f = _ffn_size(model)
    per_layer = 2 * h + 2 * (h + kv_dim) + 2 * h + 2 * (h + f) + (f + h)
    return rank * per_layer * model.layers


def training_memory(model: ModelSpec, method: str, batch_size: int = DEFAULT_BATCH,
                    sequence_length: int = DEFAULT_SEQUENCE) -> TrainingInfo:
    if method not in METHODS:
        raise ValueError(f"unknown fine-tuning method {method!r}")
    params = model.params_b * 1e9
    weights = params * BASE_BYTES[method]
    if method == "full":
        trainable, adapters = params, 0.0
    else:
        trainable = lora_parameters(model)
        adapters = trainable * 2.0
    tokens = batch_size * sequence_length
    activations = tokens * model.hidden_size * (CHECKPOINT_BYTES * model.layers + LAYER_WORKING_BYTES)
    parts = {
        "weights_gib": weights / GIB,
        "adapters_gib": adapters / GIB,
        "gradients_gib": trainable * GRADIENT_BYTES / GIB,
        "optimizer_gib": trainable * OPTIMIZER_BYTES / GIB,
        "activations_gib": activations / GIB,
        "overhead_gib": TRAINING_OVERHEAD_GIB,
    }
    return TrainingInfo(method=method, total_gib=sum(parts.values()), batch_size=batch_size,
                        sequence_length=sequence_length, lora_rank=None if method == "full" else LORA_RANK,
                        **parts)
