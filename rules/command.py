"""The command line that realises an answer: llama.cpp's `llama-server` with the layers,
context, KV cache type, MoE expert offload and tensor split the answer assumed, and the
Ollama equivalent where the model is in Ollama's library."""

from __future__ import annotations

import re
import tomllib
from functools import cache

from rules.catalog import DATA_DIR, ModelSpec, QuantType
from rules.rig import Rig

ALL_LAYERS = 99  # llama.cpp convention for "every layer" (more than the model has is fine)


def gguf_name(model: ModelSpec, quant: QuantType) -> str:
    stem = re.sub(r"[^A-Za-z0-9.]+", "-", model.name).strip("-")
    return f"{stem}-{quant.name}.gguf"


def llama_server(model: ModelSpec, quant: QuantType, rig: Rig, *, context: int, gpu_layers: int | None,
                 total_layers: int, kv_type: str = "f16", cpu_moe_layers: int | None = None,
                 parallel: int | None = None) -> str:
    parts = ["llama-server", "-m", gguf_name(model, quant)]
    if rig.gpus:
        full = gpu_layers is None or gpu_layers >= total_layers
        parts += ["-ngl", str(max(ALL_LAYERS, total_layers + 1) if full else gpu_layers)]
    else:
        parts += ["-ngl", "0"]
    parts += ["-c", str(context * (parallel or 1))]
    if parallel and parallel > 1:
        parts += ["-np", str(parallel)]
    if kv_type != "f16":
        parts += ["-fa", "on", "-ctk", kv_type, "-ctv", kv_type]  # a quantized V cache needs flash attention
    if cpu_moe_layers:
        parts += ["--n-cpu-moe", str(cpu_moe_layers)]
    if len(rig.gpus) > 1:  # mixed cards
        # llama.cpp splits by free memory; stating the split makes the answer's assumption explicit
        split = [f"{g.vram_gib:g}" for g, count in rig.gpus for _ in range(count)]
        parts += ["-ts", ",".join(split)]
    return " ".join(parts)


@cache
def _ollama_tags() -> dict[str, dict]:
    data = tomllib.loads((DATA_DIR / "ollama.toml").read_text(encoding="utf-8"))
    return {entry["model"]: entry for entry in data["tag"]}


def ollama(model: ModelSpec, quant: QuantType) -> str | None:
    """`ollama run` for models in Ollama's library at a quant it publishes. The context is
    set inside the session (`/set parameter num_ctx`): OLLAMA_CONTEXT_LENGTH only acts on
    `ollama serve`, not on the `ollama run` client."""
    entry = _ollama_tags().get(model.name)
    if not entry or quant.name not in entry["quants"]:
        return None
    suffix = "fp16" if quant.name == "F16" else "q" + quant.name[1:]  # Ollama spells q4_K_M, q8_0, fp16
    tag = f"{entry['tag']}-{suffix}"
    return f"ollama run {tag}"
