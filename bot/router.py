"""Which engine answers: the sizing rules or the knowledge base."""

from __future__ import annotations

from typing import Literal

from rules.schema import Intent, Query

Route = Literal["rules", "knowledge"]


def route(query: Query) -> Route:
    """Sizing questions (something to size, or an unknown GPU to correct) go to the
    rules; everything else (why, what is, does X matter) to the knowledge base."""
    if query.error:
        return "rules"
    if query.intent == Intent.DIAGNOSE:  # a pasted run log: the rules read it, with or without a model
        return "rules"
    if query.intent == Intent.EXPLAIN:
        return "knowledge"
    if query.has_model or query.has_hardware:
        return "rules"
    return "knowledge"
