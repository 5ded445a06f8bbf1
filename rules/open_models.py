"""The open model catalog: models whose published configs (litgpt, mlc-llm, maxtext, GenZ
transcriptions of each model's config.json) give their whole shape, generated into
data/models_generated.json by scripts/gen_models_from_configs.py from the inputs kept in
scripts/model_configs/.

It is read once, when the first question is parsed (its aliases join the own ones in one
index), not when the catalog loads. Each row is validated as a `ModelSpec`; RigBot's own
models.toml wins on every name and alias. The file also carries extra aliases (HF repo ids,
Ollama tags) for own models, which the generator found in the same configs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rules.catalog import DATA_DIR, CatalogError, ModelSpec

OPEN_FILE = "models_generated.json"


@dataclass
class OpenModels:
    models: list[ModelSpec]
    own_aliases: dict[str, list[str]]  # own model name → aliases the generated file adds
    meta: dict
    by_name: dict[str, ModelSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {m.name: m for m in self.models}


@cache
def open_models(data_dir: Path = DATA_DIR) -> OpenModels:
    path = data_dir / OPEN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = [ModelSpec(**row) for row in data["model"]]
        own_aliases = {name: [a.lower().strip() for a in aliases] for name, aliases in data.get("own_aliases", {}).items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise CatalogError(f"{path}: duplicate model names")
    seen: set[str] = set()
    twice = {a for m in models for a in m.aliases if a in seen or seen.add(a)}
    twice |= {a for aliases in own_aliases.values() for a in aliases if a in seen or seen.add(a)}
    if twice:
        raise CatalogError(f"{path}: aliases naming more than one model: {sorted(twice)[:5]}")
    if any(m.origin != "generated" or len(m.source) < 20 for m in models):
        raise CatalogError(f"{path}: every generated row needs origin 'generated' and its source")
    return OpenModels(models=models, own_aliases=own_aliases, meta=data.get("meta", {}))


def all_models(catalog) -> list[ModelSpec]:
    """Own models first, then the generated ones whose names and aliases the own lack."""
    own_names = {m.name for m in catalog.models}
    own_aliases = {a for m in catalog.models for a in m.aliases}
    extra = [m for m in open_models().models if m.name not in own_names and not set(m.aliases) & own_aliases]
    return [*catalog.models, *extra]
