"""Memory math: weights, KV cache, overhead, and where a model fits (the verdict).

Weights are sized tensor class by tensor class, the way llama-quantize types them
(rules/data/quants.toml), so a big vocabulary, a tied embedding or a mixture of experts
weighs what it weighs in the real GGUF file. The KV cache is what llama.cpp allocates:
sliding-window layers keep only their window, MLA layers keep the compressed latent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from rules.catalog import Catalog, ModelSpec, QuantType, default_catalog
from rules.rig import Rig
from rules.schema import GIB, Verdict

# A CUDA/Metal context plus llama.cpp's compute buffers, per GPU. Chosen so that
# the article's GPTQ 4-bit table (30B in 20 GB at 2048 context) holds.
GPU_OVERHEAD_GIB = 0.8
# llama.cpp's process, compute buffers and the OS working set on a CPU-only run.
# The article's RAM-per-quantization ranges need 1.5 GiB (13B 5-bit, 65B 8-bit).
CPU_OVERHEAD_GIB = 1.5

# bytes per cached element for llama.cpp's --cache-type-k/-v
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
# llama.cpp rounds the context up to a multiple of 256 cells (llama-context.cpp) and
# gives sliding-window layers min(context, window + n_ubatch) cells, padded to 256
# (llama-kv-cache-iswa.cpp); llama-server's default n_ubatch is 512.
KV_PAD = 256
N_UBATCH = 512

VERDICT_RANK = {
    Verdict.DOES_NOT_FIT: 0,
    Verdict.CPU_ONLY: 1,
    Verdict.PARTIAL_OFFLOAD: 2,
    Verdict.FITS_GPU: 3,
}


@dataclass(frozen=True)
class TensorGroup:
    """Tensors of one class: `params` elements in each of `layers` (or once, layer None),
    rows of `row` elements (the dimension a quant block must divide)."""

    cls: str  # a quant-mix class (token_embd, attn_v, ffn_down ...), "other" or "f32"
    params: int
    row: int
    layer: int | None = None
    expert: bool = False  # a routed-expert tensor (ffn_*_exps)


def tensor_groups(model: ModelSpec) -> Iterator[TensorGroup]:
    """The model's weight tensors by class, from its config figures."""
    yield from _global_groups(model)
    for i in range(model.layers):
        yield from _layer_groups(model, i)


def _global_groups(model: ModelSpec) -> Iterator[TensorGroup]:
    h = model.hidden_size
    if model.vocab_size:
        yield TensorGroup("token_embd", model.vocab_size * h, h)
        if not model.tied_embeddings:
            yield TensorGroup("output", model.vocab_size * h, h)


def _layer_groups(model: ModelSpec, i: int) -> Iterator[TensorGroup]:
    yield from _attention(model, i)
    yield from _ffn(model, i)
    yield TensorGroup("f32", 2 * model.hidden_size, model.hidden_size, i)  # attention and FFN norms


def _typed_groups(model: ModelSpec, quant: QuantType, catalog: Catalog) -> list[tuple[TensorGroup, str, int]]:
    """(tensor group, its ggml type, how many layers have it so): layers alike in shape and
    in every condition the quant's mix asks about are typed once, so a 90-layer MoE costs
    a few layers' work rather than ninety."""
    conditions = sorted({rule.partition("@")[2] for rules in quant.mix.values() for rule in rules if "@" in rule})
    out = [(g, tensor_type(g, model, quant, catalog), 1) for g in _global_groups(model)]
    alike: dict[tuple, list[int]] = {}
    for i in range(model.layers):
        key = (model.is_moe_layer(i), tuple(_holds(c, model, i) for c in conditions))
        alike.setdefault(key, []).append(i)
    for layers in alike.values():
        out += [(g, tensor_type(g, model, quant, catalog), len(layers)) for g in _layer_groups(model, layers[0])]
    return out


def _attention(m: ModelSpec, i: int) -> Iterator[TensorGroup]:
    h, heads = m.hidden_size, m.heads
    if m.is_mla:
        qk = (m.qk_nope_head_dim or 0) + m.qk_rope_head_dim
        if m.q_lora_rank:
            yield TensorGroup("other", h * m.q_lora_rank, h, i)  # attn_q_a
            yield TensorGroup("other", m.q_lora_rank * heads * qk, m.q_lora_rank, i)  # attn_q_b
        else:
            yield TensorGroup("attn_q", h * heads * qk, h, i)
        yield TensorGroup("other", h * (m.kv_lora_rank + m.qk_rope_head_dim), h, i)  # attn_kv_a_mqa
        v = m.v_head_dim or m.kv_head_dim
        yield TensorGroup("other", heads * (m.qk_nope_head_dim or 0) * m.kv_lora_rank,
                          m.qk_nope_head_dim or 1, i)  # attn_k_b
        yield TensorGroup("other", heads * m.kv_lora_rank * v, m.kv_lora_rank, i)  # attn_v_b
        yield TensorGroup("attn_output", heads * v * h, heads * v, i)
        return
    d = m.kv_head_dim
    yield TensorGroup("attn_q", h * heads * d, h, i)
    yield TensorGroup("attn_k", h * m.kv_heads * d, h, i)
    yield TensorGroup("attn_v", h * m.kv_heads * d, h, i)
    yield TensorGroup("attn_output", heads * d * h, heads * d, i)


def _ffn(m: ModelSpec, i: int) -> Iterator[TensorGroup]:
    h = m.hidden_size
    if m.is_moe_layer(i):
        ff, n = m.moe_intermediate_size, m.experts
        for cls in ("ffn_gate", "ffn_up"):
            yield TensorGroup(cls, n * h * ff, h, i, expert=True)
        yield TensorGroup("ffn_down", n * ff * h, ff, i, expert=True)
        if m.shared_experts:
            sff = m.shared_experts * ff
            yield TensorGroup("ffn_gate", h * sff, h, i)
            yield TensorGroup("ffn_up", h * sff, h, i)
            yield TensorGroup("ffn_down", sff * h, sff, i)
        yield TensorGroup("f32", h * n, h, i)  # the router
    elif m.intermediate_size:
        ff = m.intermediate_size
        if m.gated_ffn:
            yield TensorGroup("ffn_gate", h * ff, h, i)
        yield TensorGroup("ffn_up", h * ff, h, i)
        yield TensorGroup("ffn_down", ff * h, ff, i)


def modelled_params(model: ModelSpec) -> int:
    """Parameters the architecture figures account for (checked against params_b)."""
    return sum(g.params for g in tensor_groups(model))


def _more_bits(i: int, n: int) -> bool:  # llama.cpp's use_more_bits()
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _holds(condition: str, model: ModelSpec, layer: int | None) -> bool:
    name, _, arg = condition.partition(":")
    n = model.layers
    i = layer if layer is not None else 0
    if name == "more_bits":
        return _more_bits(i, n)
    if name == "first":
        return i < int(arg)
    if name == "first_frac":
        return i < n // int(arg)
    if name == "middle":
        return n // 8 <= i < 7 * n // 8
    if name == "gqa4":
        return (model.heads // model.kv_heads if not model.is_mla else 1) >= 4
    if name == "experts4":
        return (model.experts or 0) >= 4
    if name == "experts8":
        return model.experts == 8
    raise KeyError(name)


def tensor_type(group: TensorGroup, model: ModelSpec, quant: QuantType, catalog: Catalog) -> str:
    """The ggml type llama-quantize gives this tensor in this quant mix."""
    if group.cls == "f32":
        return "F32"
    if group.expert and model.expert_type:
        return model.expert_type
    cls = group.cls
    if cls == "token_embd" and model.tied_embeddings:
        cls = "output"
    base = catalog.ggml_type(quant.base)
    if cls == "output" and base.block > 1 and group.row % base.block:
        return "Q8_0"  # llama.cpp: an output row that does not divide the block stays Q8_0
    rules = quant.mix.get("experts", []) if group.expert and "experts" in quant.mix else quant.mix.get(cls, [])
    chosen = quant.base
    for rule in rules:
        kind, _, condition = rule.partition("@")
        if not condition or _holds(condition, model, group.layer):
            chosen = kind
            break
    return _fallback(chosen, group.row, catalog)


def _fallback(type_name: str, row: int, catalog: Catalog) -> str:
    t = catalog.ggml_type(type_name)
    if row % t.block == 0:
        return type_name
    if t.fallback and row % catalog.ggml_type(t.fallback).block == 0:
        return t.fallback
    return "F16"


def tensor_bytes(model: ModelSpec, quant: QuantType, catalog: Catalog | None = None) -> dict[str, float]:
    """Bytes per ggml type for this model at this quant (the GGUF's tensor data)."""
    catalog = catalog or default_catalog()
    out: dict[str, float] = {}
    counted = 0
    for g, t, times in _typed_groups(model, quant, catalog):
        out[t] = out.get(t, 0.0) + g.params * times * catalog.ggml_type(t).bits / 8
        counted += g.params * times
    # Biases, attention sinks, an MTP layer ...: what the figures do not model, at the base type.
    rest = model.params_b * 1e9 - counted
    if rest > 0:
        out[quant.base] = out.get(quant.base, 0.0) + rest * catalog.ggml_type(quant.base).bits / 8
    return out


def _memo(cache: dict, objects: tuple, extra: tuple, compute):
    """compute() once per identity of `objects` and value of `extra`. The objects are kept
    in the entry so their ids cannot be reused; recommendations and fits size the same
    model, quant and context many times (once per card in a GPU list)."""
    key = (*map(id, objects), *extra)
    hit = cache.get(key)
    if hit is None:
        if len(cache) > 4096:
            cache.clear()
        hit = cache[key] = (objects, compute())
    return hit[1]


_weights_cache: dict = {}
_kv_cache: dict = {}
_experts_cache: dict = {}


def weights_bytes(model: ModelSpec, quant: QuantType, catalog: Catalog | None = None) -> float:
    """Size of the model's weights at this quantization (≈ the GGUF file size)."""
    if not quant.is_gguf or model.vocab_size is None:
        return model.params_b * 1e9 * quant.bits_per_weight / 8
    catalog = catalog or default_catalog()
    return _memo(_weights_cache, (model, quant, catalog), (),
                 lambda: sum(tensor_bytes(model, quant, catalog).values()))


def effective_bits_per_weight(model: ModelSpec, quant: QuantType, catalog: Catalog | None = None) -> float:
    return weights_bytes(model, quant, catalog) * 8 / (model.params_b * 1e9)


def kv_cells(model: ModelSpec, context: int, layer: int, swa_full: bool = False) -> int:
    """Cells llama.cpp allocates for one layer (llama-server defaults: one sequence, no
    --swa-full; llama-cpp-python's Llama() defaults to swa_full=True)."""
    padded = -(-context // KV_PAD) * KV_PAD
    if model.is_swa_layer(layer) and not swa_full:
        window = min(padded, model.sliding_window + N_UBATCH)
        return -(-window // KV_PAD) * KV_PAD
    return padded


def kv_elements_per_cell(model: ModelSpec) -> int:
    """K plus V elements one layer stores per token."""
    if model.is_mla:
        # llama.cpp's MLA path caches only the latent and the RoPE key; V is read from it
        return model.kv_lora_rank + model.qk_rope_head_dim
    return model.kv_heads * (model.kv_head_dim + (model.v_head_dim or model.kv_head_dim))


def kv_cache_bytes(model: ModelSpec, context: int, kv_type: str = "f16", swa_full: bool = False) -> float:
    """What llama.cpp's KV cache takes at this context: full-attention layers hold every
    position, sliding-window layers their window, MLA layers the compressed latent.
    Grouped-query attention shares KV heads, which is why Llama 3 8B's cache is 4x
    smaller than Llama 2 7B's."""
    per_cell = kv_elements_per_cell(model) * KV_BYTES_PER_ELEMENT[kv_type]
    return _memo(_kv_cache, (model,), (context, kv_type, swa_full),
                 lambda: sum(kv_cells(model, context, i, swa_full) for i in range(model.layers)) * per_cell)


def read_bytes_per_token(model: ModelSpec, quant: QuantType, catalog: Catalog | None = None) -> float:
    """Weights read to generate one token: all of them for a dense model; for a mixture
    of experts the dense part plus the share of routed experts in use."""
    weights = weights_bytes(model, quant, catalog)
    if not model.is_moe:
        return weights
    if not quant.is_gguf or model.vocab_size is None:
        return weights * model.active_params_b / model.params_b
    catalog = catalog or default_catalog()
    experts = _memo(_experts_cache, (model, quant, catalog), (),
                    lambda: sum(g.params * times * catalog.ggml_type(t).bits / 8
                                for g, t, times in _typed_groups(model, quant, catalog) if g.expert))
    return weights - experts * (1 - model.experts_active / model.experts)


class Fit(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    weights_gib: float
    kv_cache_gib: float
    overhead_gib: float
    total_gib: float
    available_gib: float | None
    gpu_layers: int | None
    total_layers: int
    gpu_budget_gib: float  # memory the GPU(s) may use for the model
    ram_needed_gib: float  # for the part that stays in system RAM


def fit(model: ModelSpec, quant: QuantType, context: int, rig: Rig, kv_type: str = "f16",
        weights_override_bytes: float | None = None) -> Fit:
    """Where does this model go on this rig? GPU first, then GPU + RAM, then RAM.
    `weights_override_bytes`: exact weights read from a GGUF file."""
    weights = (weights_override_bytes if weights_override_bytes is not None
               else weights_bytes(model, quant)) / GIB
    kv = kv_cache_bytes(model, context, kv_type) / GIB
    layers = model.layers
    per_layer = (weights + kv) / layers

    def result(verdict, overhead, available, gpu_layers, ram_needed):
        return Fit(
            verdict=verdict,
            weights_gib=weights,
            kv_cache_gib=kv,
            overhead_gib=overhead,
            total_gib=weights + kv + overhead,
            available_gib=available,
            gpu_layers=gpu_layers,
            total_layers=layers,
            gpu_budget_gib=rig.gpu_budget_gib,
            ram_needed_gib=ram_needed,
        )

    if not rig.gpus:
        need = weights + kv + CPU_OVERHEAD_GIB
        verdict = Verdict.CPU_ONLY if need <= rig.ram_gib else Verdict.DOES_NOT_FIT
        return result(verdict, CPU_OVERHEAD_GIB, rig.ram_gib, None, need)

    gpu_overhead = GPU_OVERHEAD_GIB * rig.gpu_count
    if weights + kv + gpu_overhead <= rig.gpu_budget_gib:
        return result(Verdict.FITS_GPU, gpu_overhead, rig.gpu_budget_gib, layers, 0.0)

    gpu_layers = max(0, min(layers - 1, math.floor((rig.gpu_budget_gib - gpu_overhead) / per_layer)))
    on_gpu = gpu_layers * per_layer + (gpu_overhead if gpu_layers else 0.0)
    ram_needed = (layers - gpu_layers) * per_layer + CPU_OVERHEAD_GIB
    # On unified memory the GPU's share comes out of the same pool as "RAM".
    ram_free = rig.ram_gib - on_gpu if rig.unified_memory else rig.ram_gib
    overhead = (gpu_overhead if gpu_layers else 0.0) + CPU_OVERHEAD_GIB
    available = rig.ram_gib if rig.unified_memory else rig.gpu_budget_gib + rig.ram_gib
    if ram_needed > ram_free:
        return result(Verdict.DOES_NOT_FIT, overhead, available, gpu_layers, ram_needed)
    verdict = Verdict.PARTIAL_OFFLOAD if gpu_layers else Verdict.CPU_ONLY
    return result(verdict, overhead, available, gpu_layers, ram_needed)
