"""Memory as ktransformers places a mixture of experts: the routed experts stay in CPU RAM
(read from the GGUF at its own types and run by its CPU kernels), while attention (MLA for
DeepSeek), the shared experts, dense layers and the output head go to the GPU as 4-bit
Marlin weights, `kv_b_proj` left in BF16 (the optimize rules in
kvcache-ai/ktransformers ktransformers/optimize/optimize_rules/DeepSeek-V3-Chat.yaml:
experts `KExpertsCPU`, linear layers `KLinearMarlin` except `self_attn.kv_b_proj`,
`embed_tokens` on the CPU). The KV cache is MLA's compressed latent in BF16 on the GPU,
for `--cache_lens` tokens. There is no layer offload as in llama.cpp: the GPU holds every
non-expert weight or the model does not start. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec, QuantType
from rules.memory import kv_elements_per_cell
from rules.param_split import split
from rules.schema import GIB
from rules.speed import expert_weight_bytes

MARLIN_BITS = 4 + 16 / 128  # 4-bit weights, an FP16 scale per 128 (GPTQ symmetric, group 128)
# CUDA graphs for decode and the chunked-prefill buffers (chunk 8192), per GPU. The
# ktransformers DeepSeek-R1/V3 tutorial states "at least 14GB VRAM" for Q4_K_M at 8K
# context on one 4090 (doc/en/DeepseekR1_V3_tutorial.md), ~2.5 GiB above the weights and cache.
OVERHEAD_GIB = 2.5
# CPU side besides the experts: the embedding (BF16) and the process, in GiB
CPU_OVERHEAD_GIB = 2.0


@dataclass(frozen=True)
class KtFit:
    context: int
    gpu_weights_gib: float
    kv_gib: float
    gpu_overhead_gib: float
    vram_gib: float
    experts_ram_gib: float
    cpu_other_gib: float
    ram_gib: float | None

    @property
    def gpu_total_gib(self) -> float:
        return self.gpu_weights_gib + self.kv_gib + self.gpu_overhead_gib

    @property
    def ram_total_gib(self) -> float:
        return self.experts_ram_gib + self.cpu_other_gib

    @property
    def gpu_fits(self) -> bool:
        return self.gpu_total_gib <= self.vram_gib

    @property
    def ram_fits(self) -> bool | None:
        return None if self.ram_gib is None else self.ram_total_gib <= self.ram_gib


def kv_b_params(model: ModelSpec) -> float:
    """MLA's kv_b_proj (latent → per-head K-nope and V), kept in BF16."""
    if not model.is_mla:
        return 0.0
    v = model.v_head_dim or model.kv_head_dim
    return model.layers * model.kv_lora_rank * model.heads * ((model.qk_nope_head_dim or 0) + v)


def size(model: ModelSpec, quant: QuantType, context: int, vram_gib: float, ram_gib: float | None) -> KtFit:
    p = split(model)
    kvb = kv_b_params(model)
    gpu = ((p.rest - kvb + p.head) * MARLIN_BITS / 8 + kvb * 2) / GIB
    kv = kv_elements_per_cell(model) * model.layers * context * 2 / GIB
    experts = expert_weight_bytes(model, quant) / GIB
    return KtFit(context=context, gpu_weights_gib=gpu, kv_gib=kv, gpu_overhead_gib=OVERHEAD_GIB, vram_gib=vram_gib,
                 experts_ram_gib=experts, cpu_other_gib=p.embedding * 2 / GIB + CPU_OVERHEAD_GIB, ram_gib=ram_gib)


def command(model_repo: str, gguf_dir: str, context: int) -> str:
    """ktransformers' server (ktransformers/server/args.py: --model_path, --gguf_path,
    --cache_lens, --max_new_tokens, --cpu_infer, --port)."""
    return (f"ktransformers --model_path {model_repo} --gguf_path {gguf_dir} --cache_lens {context} "
            f"--cpu_infer 32 --max_new_tokens 1000 --port 10002")
