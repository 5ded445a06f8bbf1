"""Real run logs and llama-bench tables (tests/data/logs, tests/data/bench) and the diagnosis
of a paste, shared by the run-log and diagnosis tests."""

from __future__ import annotations

from pathlib import Path

from rules.engine import answer_query
from rules.parse import parse
from rules.schema import Intent

LOGS = Path(__file__).parent / "data" / "logs"
BENCH = Path(__file__).parent / "data" / "bench"


def sample(name: str) -> str:
    """The log without its `# source:` line (the line is for people, not part of the log)."""
    first, rest = (LOGS / name).read_text("utf-8").split("\n", 1)
    assert first.startswith("# source: "), f"{name} must name its source on its first line"
    return rest


def bench(name: str) -> str:
    return (BENCH / name).read_text("utf-8")


def diagnosed(text: str, catalog):
    """Parse and answer a paste that must be read as a run log and diagnosed without error."""
    query = parse(text, catalog)
    assert query.error is None, query.error_message
    assert query.intent == Intent.DIAGNOSE
    result = answer_query(query, catalog)
    assert result.error is None and result.diagnosis is not None
    return query, result


def codes(result) -> list[str]:
    return [c.code for c in result.diagnosis.causes]
