"""Issue 17: how well the parser reads questions as people write them. Per entity kind
(GPU, memory before/after the card, count, Apple chip, RAM, model, quant, context,
runtime, users, fine-tuning numbers, prompt length, MoE placement, comparisons, unknown
names, follow-ups), the share of questions whose fields for that kind are read as meant,
over the generated set (tests/reading_grammar.py) and the hand-written corpus
(tests/data/reading_corpus.toml). `python -m bench reading [--failures N]`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    argv = list(argv or [])
    show = int(argv[argv.index("--failures") + 1]) if "--failures" in argv else 0
    sys.path.insert(0, str(ROOT / "tests"))
    from reading_check import format_failures, format_patterns, format_table, judge_all
    from reading_grammar import COUNT, SEED, generate
    from test_reading_corpus import HOLDOUT, load_corpus

    from rules.catalog import default_catalog

    catalog = default_catalog()
    sets = [(f"generated questions (seed {SEED}, {COUNT})", generate(catalog, COUNT, SEED)),
            ("hand-written corpus", load_corpus()),
            ("held-out set (written blind to the parser; 90.0% when first measured)", load_corpus(HOLDOUT))]
    everything = []
    for title, items in sets:
        start = time.perf_counter()
        outcomes = judge_all(items, catalog)
        elapsed = time.perf_counter() - start
        everything += outcomes
        print(format_table(f"{title}: {elapsed * 1000 / len(items):.2f} ms per question", outcomes))
        print()
        if show:
            print(format_failures(outcomes, show))
            print()
    print(format_patterns(everything))


if __name__ == "__main__":
    main(sys.argv[1:])
