"""Kept for importers: the parser lives in `rules.parse` (one module per thing it reads)."""

from rules.parse import MAX_CONTEXT, MAX_GPUS, MAX_PARAMS_B, MIN_PARAMS_B, parse

__all__ = ["parse", "MAX_GPUS", "MAX_PARAMS_B", "MIN_PARAMS_B", "MAX_CONTEXT"]
