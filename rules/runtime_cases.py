"""Public memory figures of runtimes other than llama.cpp (rules/data/runtime_memory_cases.toml)
and what RigBot's sizing for each runtime predicts for the same configuration: the
check that vLLM, ExLlama, MLX and ktransformers are sized as they allocate. Loaded and
validated on first use; pure otherwise."""

from __future__ import annotations

import tomllib
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from rules import exllama, ktransformers, mlx
from rules.catalog import DATA_DIR, CatalogError, default_catalog
from rules.schema import GIB
from rules.vllm import size as vllm_size
from rules.vllm import weights_bytes_vllm

LOGGED_KEYS = {"weights_gib", "kv_cache_gib", "kv_tokens", "total_mib", "peak_gb", "peak_gib", "vram_gb", "ram_gb"}


class MemoryCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    runtime: str
    model: str
    format: str
    gpus: int = Field(ge=1)
    vram_gib: float = Field(gt=0)
    ram_gib: float | None = None
    settings: dict[str, float | int | str]
    logged: dict[str, float]
    source: str = Field(min_length=10)
    note: str | None = None


@cache
def cases() -> tuple[MemoryCase, ...]:
    path = DATA_DIR / "runtime_memory_cases.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
        out = tuple(MemoryCase(**c) for c in raw)
    except (OSError, KeyError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    catalog = default_catalog()
    for c in out:
        catalog.model(c.model)  # raises on a name the catalog lacks
        if not set(c.logged) <= LOGGED_KEYS:
            raise CatalogError(f"{path}: {c.id}: unknown logged keys {sorted(set(c.logged) - LOGGED_KEYS)}")
    return out


def predict(case: MemoryCase) -> dict[str, float]:
    """RigBot's figure for every key the case logged."""
    catalog = default_catalog()
    model = catalog.model(case.model)
    s = case.settings
    if case.runtime == "vllm":
        quant = catalog.quant(case.format)
        f = vllm_size(model, quant, case.gpus, case.vram_gib, int(s["max_model_len"]),
                      utilization=float(s["gpu_memory_utilization"]),
                      batched_tokens=int(s["batched_tokens"]) if "batched_tokens" in s else None,
                      logit_rows=int(s["logit_rows"]) if "logit_rows" in s else None)
        return {"weights_gib": weights_bytes_vllm(model, quant) / GIB / f.tp / f.pp, "kv_cache_gib": f.kv_pool_gib,
                "kv_tokens": f.tokens}
    if case.runtime == "exllama":
        f = exllama.size(model, float(s["bpw"]), int(s["context"]), case.gpus, case.vram_gib * case.gpus,
                         int(s["cache_bits"]), float(s.get("head_bits", exllama.HEAD_BITS)))
        return {"total_mib": f.total_gib * 1024}
    if case.runtime == "mlx":
        f = mlx.size(model, int(s["bits"]), int(s["context"]), case.vram_gib, int(s["group_size"]),
                     prompt_tokens=int(s["prompt_tokens"]))
        return {"peak_gb": f.total_gb, "peak_gib": f.total_gib}
    if case.runtime == "ktransformers":
        f = ktransformers.size(model, catalog.quant(case.format), int(s["context"]), case.vram_gib, case.ram_gib)
        return {"vram_gb": f.gpu_total_gib * GIB / 1e9, "ram_gb": f.ram_total_gib * GIB / 1e9}
    raise ValueError(f"{case.id}: no sizing for runtime {case.runtime}")


def ratios() -> list[tuple[MemoryCase, str, float, float]]:
    """(case, key, logged, RigBot) for every logged figure."""
    out = []
    for c in cases():
        predicted = predict(c)
        out += [(c, key, value, predicted[key]) for key, value in c.logged.items()]
    return out
