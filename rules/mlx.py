"""Memory as MLX (mlx-lm: `mlx_lm.generate`, `mlx_lm.server`) allocates it on Apple silicon.

MLX quantizes every linear layer and the embedding in groups: each group of `group_size`
weights (64 by default) carries its own scale and bias in the model's 16-bit dtype, so
n-bit weights cost n + 32 / group_size bits (4-bit, group 64: 4.5; group 32: 5.0;
mlx/python/mlx/nn/layers/quantized.py, `mx.quantize`). Norms stay 16-bit (negligible).
The KV cache is 16-bit, grown in steps of 256 tokens (mlx_lm/models/cache.py, KVCache.step),
or quantized with `--kv-bits` (same group scheme). A prompt is processed in chunks of
2048 tokens (`prefill_step_size`), whose activations and logits add to the peak.
mlx-lm reports "Peak memory: X GB" in 10^9 bytes. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec
from rules.memory import kv_elements_per_cell

DEFAULT_GROUP_SIZE = 64
KV_STEP = 256
PREFILL_STEP = 2048
# mlx-lm's "Peak memory" is MLX's own allocator peak (mx.get_peak_memory): weights, cache
# and the arrays of the forward pass, not the Python process or the Metal context. Nothing
# is added for those here.
BASE_GB = 0.0


def effective_bits(bits: float, group_size: int = DEFAULT_GROUP_SIZE) -> float:
    """Bits per weight with the per-group 16-bit scale and bias; 16-bit weights have none."""
    return bits if bits >= 16 else bits + 32 / group_size


@dataclass(frozen=True)
class MlxFit:
    bits: int
    group_size: int
    context: int
    weights_gb: float
    kv_gb: float
    activations_gb: float
    overhead_gb: float
    budget_gib: float  # what the GPU may wire (the catalog's share of unified memory)

    @property
    def total_gb(self) -> float:
        return self.weights_gb + self.kv_gb + self.activations_gb + self.overhead_gb

    @property
    def total_gib(self) -> float:
        return self.total_gb * 1e9 / 2**30

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.budget_gib


def weights_gb(model: ModelSpec, bits: float, group_size: int = DEFAULT_GROUP_SIZE) -> float:
    return model.params_b * effective_bits(bits, group_size) / 8


def kv_gb(model: ModelSpec, context: int, kv_bits: int | None = None) -> float:
    cells = -(-context // KV_STEP) * KV_STEP
    per_element = 2.0 if kv_bits is None else effective_bits(kv_bits) / 8
    return kv_elements_per_cell(model) * model.layers * cells * per_element / 1e9


def activations_gb(model: ModelSpec, prompt_tokens: int) -> float:
    """One prefill chunk: the FFN's gate, up and product, a few hidden-size tensors and the
    chunk's logits, 16-bit. A MoE computes its active experts' FFN."""
    chunk = min(max(prompt_tokens, 1), PREFILL_STEP)
    ffn = model.intermediate_size or 0
    if model.is_moe:
        ffn = (model.moe_intermediate_size or 0) * (model.experts_active + model.shared_experts)
    return chunk * (3 * ffn + 4 * model.hidden_size + (model.vocab_size or 0)) * 2 / 1e9


def size(model: ModelSpec, bits: int, context: int, budget_gib: float, group_size: int = DEFAULT_GROUP_SIZE,
         prompt_tokens: int | None = None, kv_bits: int | None = None) -> MlxFit:
    return MlxFit(bits=bits, group_size=group_size, context=context,
                  weights_gb=weights_gb(model, bits, group_size), kv_gb=kv_gb(model, context, kv_bits),
                  activations_gb=activations_gb(model, prompt_tokens if prompt_tokens is not None else context),
                  overhead_gb=BASE_GB, budget_gib=budget_gib)


def longest_context(model: ModelSpec, bits: int, budget_gib: float, group_size: int = DEFAULT_GROUP_SIZE) -> int:
    """The longest context whose peak (prefill of the whole prompt) fits the budget."""
    room = budget_gib * 2**30 / 1e9 - weights_gb(model, bits, group_size) - BASE_GB \
        - activations_gb(model, PREFILL_STEP)
    per_token = kv_gb(model, KV_STEP) / KV_STEP
    if room <= 0:
        return 0
    tokens = int(room / per_token) // KV_STEP * KV_STEP
    return min(tokens, model.native_context)


def server_command(repo: str, bits: int, group_size: int) -> str:
    """mlx-lm's server (mlx_lm/server.py: --model, --host, --port). A group size other than 64
    is a converted repo of its own (`mlx_lm.convert -q --q-bits N --q-group-size G`)."""
    suffix = f"-{bits}bit" + (f"-g{group_size}" if group_size != DEFAULT_GROUP_SIZE else "")
    return f"mlx_lm.server --model mlx-community/{repo}{suffix}"
