"""Memory as Hugging Face transformers allocates it, with bitsandbytes (NF4/FP4 4-bit,
LLM.int8 8-bit) or in BF16.

bitsandbytes replaces the linear layers only: the token embedding and `lm_head` stay in
the model's 16-bit dtype (transformers' `llm_int8_skip_modules` default keeps the output
layer unquantized). 4-bit weights carry one fp32 absmax per 64 (4.5 bits; 4.127 with
`bnb_4bit_use_double_quant`); 8-bit weights one scale per row (8 bits). The KV cache is a
`DynamicCache` in the compute dtype, growing with the tokens held. There is no paging
and no CPU offload unless `device_map` spills layers to the CPU (very slow).
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec, QuantType
from rules.memory import kv_elements_per_cell
from rules.param_split import split
from rules.schema import GIB

BITS = {"bnb": 4.5, "int8": 8.0, "float": 16.0}  # per linear weight, by quant kind
DOUBLE_QUANT_BITS = 4 + (8 + 32 / 256) / 64
# CUDA context and torch's allocator, per GPU, plus activations of one forward pass
OVERHEAD_GIB = 0.6


@dataclass(frozen=True)
class HfFit:
    weights_gib: float
    kv_gib: float
    overhead_gib: float
    vram_gib: float

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.kv_gib + self.overhead_gib

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.vram_gib


def weights_gib(model: ModelSpec, quant: QuantType, double_quant: bool = False) -> float:
    p = split(model)
    bits = DOUBLE_QUANT_BITS if (quant.kind == "bnb" and double_quant) else BITS.get(quant.kind, 16.0)
    return ((p.rest + p.experts) * bits / 8 + (p.embedding + p.head) * 2) / GIB


def size(model: ModelSpec, quant: QuantType, context: int, vram_gib: float, gpus: int = 1) -> HfFit:
    kv = kv_elements_per_cell(model) * model.layers * context * 2 / GIB
    return HfFit(weights_gib=weights_gib(model, quant), kv_gib=kv, overhead_gib=OVERHEAD_GIB * gpus,
                 vram_gib=vram_gib)


def command(repo: str, quant: QuantType) -> str:
    """from_pretrained with a BitsAndBytesConfig (transformers' documented arguments)."""
    if quant.kind == "bnb":
        config = ", quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', " \
                 "bnb_4bit_compute_dtype=torch.bfloat16)"
    elif quant.kind == "int8":
        config = ", quantization_config=BitsAndBytesConfig(load_in_8bit=True)"
    else:
        config = ", torch_dtype=torch.bfloat16"
    return ("python -c \"import torch; from transformers import AutoModelForCausalLM, BitsAndBytesConfig; "
            f"AutoModelForCausalLM.from_pretrained('{repo}'{config}, device_map='auto')\"")
