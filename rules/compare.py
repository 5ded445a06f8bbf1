"""One model across common GPUs and quantizations: memory and expected tokens/s with
their ranges, the data behind `/compare` and `rigbot compare` (drawn by bot/charts.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from rules.catalog import Catalog, default_catalog
from rules.memory import fit
from rules.parser import parse
from rules.recommend import default_context
from rules.rig import Rig
from rules.schema import Verdict
from rules.speed import speed

# Cards people compare for local LLMs, small to large, across vendors.
COMPARE_GPUS = ["RTX 3060 12GB", "RTX 4060 Ti 16GB", "Arc B580", "Radeon RX 7900 XTX", "RTX 3090",
                "RTX 4090", "RTX 5090", "Apple M3 Max 64GB", "H100 PCIe"]
COMPARE_QUANTS = ["Q4_K_M", "Q5_K_M", "Q8_0", "F16"]
ASSUMED_RAM_GIB = 64.0  # for partial offload on discrete cards; said in the chart


class ComparePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    gpu: str
    quant: str
    verdict: Verdict
    total_gib: float
    vram_gib: float
    expected_tokens_per_s: float | None
    expected_range: list[float] | None


class QuantSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    quant: str
    total_gib: float  # on one GPU
    fastest: ComparePoint | None  # the fastest card that holds it whole


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str | None
    context: int | None
    points: list[ComparePoint]
    ram_gib: float = ASSUMED_RAM_GIB
    error: str | None = None
    message: str | None = None

    def summary(self) -> list[QuantSummary]:
        out = []
        for quant in dict.fromkeys(p.quant for p in self.points):
            of_quant = [p for p in self.points if p.quant == quant]
            fitting = [p for p in of_quant if p.verdict == Verdict.FITS_GPU]
            fastest = max(fitting, key=lambda p: p.expected_tokens_per_s or 0) if fitting else None
            out.append(QuantSummary(quant=quant, total_gib=of_quant[0].total_gib, fastest=fastest))
        return out


def compare(model_text: str, catalog: Catalog | None = None) -> Comparison:
    """`model_text` as a person types it ("llama 3.1 8b"); an unknown model is answered
    with the parser's own "did you mean" sentence, never swapped for another."""
    catalog = catalog or default_catalog()
    query = parse(model_text, catalog)
    if query.error or not query.model_name:
        return Comparison(model=None, context=None, points=[], error=query.error or "unknown_model",
                          message=query.error_message or f"I don't know a model called '{model_text}'.")
    model = catalog.model(query.model_name)
    context = default_context(model)
    points = []
    for gpu_name in COMPARE_GPUS:
        gpu = catalog.gpu(gpu_name)
        ram = gpu.vram_gib if gpu.unified_memory else ASSUMED_RAM_GIB
        rig = Rig(gpus=[(gpu, 1)], unified_memory=gpu.unified_memory, ram_gib=ram,
                  ram_bandwidth_gbs=gpu.bandwidth_gbs if gpu.unified_memory else 51.2)
        for quant_name in COMPARE_QUANTS:
            quant = catalog.quant(quant_name)
            f = fit(model, quant, context, rig)
            s = speed(model, quant, f, rig, catalog)
            points.append(ComparePoint(
                gpu=gpu_name, quant=quant_name, verdict=f.verdict, total_gib=round(f.total_gib, 2),
                vram_gib=rig.gpu_budget_gib,
                expected_tokens_per_s=round(s.expected_tokens_per_s, 1) if s else None,
                expected_range=[round(v, 1) for v in s.expected_range] if s else None))
    return Comparison(model=model.name, context=context, points=points)
