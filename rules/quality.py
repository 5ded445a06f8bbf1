"""Quality evidence as data: benchmark scores per model and use (`data/quality.toml`) and the
measured loss of each GGUF quant type (`data/quant_quality.toml`).

Both are validated on load and indexed once per catalog. A score row names the model it
evaluated by catalog name and by Hugging Face repo; it resolves to the catalog by name, then
by the repo's name among the aliases, and a row that matches no catalog model is kept but
ignored. Nothing here estimates a score: a model without a row has no score.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.catalog import DATA_DIR, Catalog, CatalogError

USES = ("coding", "reasoning", "general", "chinese", "long_context", "tool_use", "vision")
Use = Literal["coding", "reasoning", "general", "chinese", "long_context", "tool_use", "vision"]

# the benchmark a ranking prefers for each use when several cover the same models: the
# harder, less saturated and more recent first
BENCHMARK_PRIORITY: dict[str, tuple[str, ...]] = {
    "coding": ("LiveCodeBench v5 (2024.10-2025.02)", "LiveCodeBench", "LiveCodeBench (2024-10-01 to 2025-02-01)",
               "Aider polyglot", "HumanEval+", "HumanEval", "MBPP+", "MBPP EvalPlus (base)", "Codeforces rating (CodeElo)",
               "Codeforces rating"),
    "reasoning": ("GPQA-Diamond", "GPQA-Diamond (CoT)", "GPQA", "AIME 2024", "AIME 2025", "MATH-500", "MATH (CoT)",
                  "MATH"),
    "general": ("MMLU-Redux", "MMLU-Pro", "MMLU-Pro (CoT)", "LiveBench 2024-11-25", "MMLU"),
    "chinese": ("C-Eval",),
    "tool_use": ("BFCL v3", "BFCL v2", "BFCL"),
    "long_context": ("InfiniteBench/En.MC", "NIH/Multi-needle", "InfiniteBench/En.QA", "MTOB (half book) eng->kgv"),
    "vision": ("MMMU", "MMMU (val)", "MathVista"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Score(_Strict):
    model: str  # catalog name when the catalog had it at gathering time, else ""
    hf_repo: str  # the checkpoint evaluated; "" for API-only models
    evaluated_as: str = Field(min_length=1)  # the model as the source names it
    use: Use
    benchmark: str = Field(min_length=2)
    score: float = Field(ge=0)
    unit: Literal["%", "Elo", "chrF"]
    settings: str = Field(min_length=3)
    group: str = Field(min_length=3)  # scores run alike by one evaluator: only these are ranked together
    date: str = Field(min_length=4)
    source: str = Field(min_length=10)
    evaluated_by: str = Field(min_length=2)
    self_reported: bool  # the evaluator is the model's own vendor


class QuantLoss(_Strict):
    quant: str
    model: str  # the model the loss was measured on
    imatrix: str  # "" without an importance matrix
    size_gib: float | None = None
    ppl: float = Field(gt=0)
    delta_ppl: float
    delta_ppl_pct: float | None = None  # as the source prints it, where it does
    kld: float | None = Field(default=None, ge=0)
    baseline: str
    settings: str = Field(min_length=3)
    date: str = Field(min_length=4)
    source: str = Field(min_length=10)

    @property
    def ppl_increase_pct(self) -> float:
        """Perplexity increase over the 16-bit model, in percent."""
        if self.delta_ppl_pct is not None:
            return self.delta_ppl_pct
        return 100 * self.delta_ppl / (self.ppl - self.delta_ppl)


@dataclass
class Evidence:
    """The score rows resolved to one catalog, indexed by catalog model name."""

    scores: list[Score]
    losses: list[QuantLoss]
    by_model: dict[str, list[Score]] = field(default_factory=dict)
    unresolved: list[Score] = field(default_factory=list)
    _coverage: dict[str, int] | None = None

    def for_model(self, name: str, use: str | None = None) -> list[Score]:
        rows = self.by_model.get(name, [])
        return [s for s in rows if use is None or s.use == use]

    def score(self, name: str, group: str, benchmark: str) -> Score | None:
        """The model's score in one group and benchmark; the best when several versions or
        runs of it were measured (each row names what it evaluated)."""
        rows = [s for s in self.by_model.get(name, []) if s.group == group and s.benchmark == benchmark]
        return max(rows, key=lambda s: s.score) if rows else None

    def coverage(self) -> dict[str, int]:
        """Per use, how many catalog models have at least one score (counted once)."""
        if self._coverage is None:
            self._coverage = {use: sum(1 for rows in self.by_model.values() if any(s.use == use for s in rows))
                              for use in USES}
        return self._coverage

    def loss(self, quant: str, model: str = "Llama 3 8B", imatrix: bool = False) -> QuantLoss | None:
        rows = [q for q in self.losses if q.quant == quant.upper() and q.model == model and bool(q.imatrix) == imatrix]
        return rows[0] if rows else None


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc


def _score_rows(path: Path) -> list[dict]:
    """quality.toml's compact rows joined with their table and benchmark records."""
    data = _read(path)
    try:
        columns = data["columns"]
        tables = {t["id"]: t for t in data["table"]}
        benchmarks = {(b["name"], b["group"]): b for b in data["benchmark"]}
        rows = []
        for i, values in enumerate(data["scores"]):
            if len(values) != len(columns):
                raise ValueError(f"row {i + 1} has {len(values)} values for {len(columns)} columns")
            row = dict(zip(columns, values, strict=True))
            table = tables[row.pop("table")]
            bench = benchmarks[(row["benchmark"], table["group"])]
            vendor = row.pop("vendor")
            rows.append({**row, "use": bench["use"], "unit": bench["unit"], "group": table["group"],
                         "settings": f"{bench['metric']}; {table['setup']}", "date": table["date"],
                         "source": table["source"], "evaluated_by": table["evaluated_by"],
                         "self_reported": bool(vendor) and vendor == table["evaluated_by"]})
        return rows
    except (KeyError, ValueError, TypeError) as exc:
        raise CatalogError(f"{path}: {exc!r}") from exc


def load_evidence(catalog: Catalog, data_dir: Path = DATA_DIR) -> Evidence:
    """Read, validate and resolve both files; raises CatalogError naming the bad row."""
    scores, losses = [], []
    loss_path = data_dir / "quant_quality.toml"
    try:
        loss_rows = _read(loss_path)["rows"]
    except KeyError as exc:
        raise CatalogError(f"{loss_path}: {exc!r}") from exc
    for kind, path, rows, out in ((Score, data_dir / "quality.toml", _score_rows(data_dir / "quality.toml"), scores),
                                  (QuantLoss, loss_path, loss_rows, losses)):
        for i, row in enumerate(rows):
            try:
                out.append(kind(**row))
            except (ValidationError, TypeError) as exc:
                raise CatalogError(f"{path}: row {i + 1}: {exc}") from exc
    evidence = Evidence(scores=scores, losses=losses)
    names = {m.name for m in catalog.models}
    aliases = {a.replace("_", "-").replace(" ", "-"): m.name for m in catalog.models for a in m.aliases}
    for s in scores:
        name = s.model if s.model in names else None
        if name is None and s.hf_repo:
            repo_name = s.hf_repo.split("/")[-1].lower()
            name = aliases.get(repo_name) or aliases.get(repo_name.removesuffix("-instruct"))
        if name is None:
            evidence.unresolved.append(s)
        else:
            evidence.by_model.setdefault(name, []).append(s)
    return evidence


# catalog id → (catalog, evidence): resolved once per catalog, holding the catalog so its id
# is not reused while the entry lives
_LOADED: dict[int, tuple[Catalog, Evidence]] = {}


def evidence_for(catalog: Catalog) -> Evidence:
    entry = _LOADED.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_LOADED) > 8:
            _LOADED.clear()
        entry = _LOADED[id(catalog)] = (catalog, load_evidence(catalog))
    return entry[1]
