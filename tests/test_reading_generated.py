"""Issue 17: questions composed from parts whose reading is known by construction
(tests/reading_grammar.py) must be read as they were built: every number and name
attached to the entity it belongs to. Reports a pass table per entity kind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reading_check import (
    format_failures,
    format_patterns,
    format_table,
    judge_all,
    pass_rate,
    unknown_names,
)
from reading_grammar import COUNT, SEED, generate

THRESHOLD = 0.995  # issue 17 asked for 97%; 99.9% is read right now, so a slip shows
# where the full report is also written, when set (`./rigbot-bench reading` prints the same tables)
REPORT_DIR = os.environ.get("RIGBOT_READING_REPORT_DIR")


@pytest.fixture(scope="module")
def items(catalog):
    return generate(catalog, COUNT, SEED)


def test_the_grammar_is_large_varied_and_fixed(catalog, items):
    assert len(items) >= 5000
    assert len({i.q for i in items}) == len(items)
    assert [i.q for i in generate(catalog, 50, SEED)] == [i.q for i in items[:50]]  # same seed, same questions
    chinese = [i for i in items if any("\u4e00" <= ch <= "\u9fff" for ch in i.q)]
    assert len(chinese) / len(items) >= 0.3
    kinds = {k for i in items for k in i.kinds}
    for kind in ("gpu", "gpu_memory_before", "gpu_memory_after", "count", "apple", "ram", "model", "quant", "context",
                 "runtime", "users", "finetune", "prompt", "moe_offload", "comparison", "unknown_name", "full_context",
                 "ollama_tag", "vram_only", "cpu_only", "followup"):
        assert kind in kinds, kind
    for item in items:  # only catalog entries that exist
        assert not unknown_names(item.expect, catalog), (item.q, unknown_names(item.expect, catalog))


def test_generated_questions_are_read_as_built(catalog, items):
    outcomes = judge_all(items, catalog)
    report = "\n\n".join([format_table(f"generated questions (seed {SEED}, {len(items)})", outcomes),
                          format_patterns(outcomes), format_failures(outcomes)])
    if REPORT_DIR:
        Path(REPORT_DIR).mkdir(parents=True, exist_ok=True)
        (Path(REPORT_DIR) / "reading_generated.txt").write_text(report + "\n", "utf-8")
    print("\n" + report)
    assert pass_rate(outcomes) >= THRESHOLD, report
