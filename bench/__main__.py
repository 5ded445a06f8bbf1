"""python -m bench [rules|knowledge|recall]: run the benchmarks and print their figures.
`python -m bench load [options]`: the multi-process load test (see bench/load.py)."""

import sys

if sys.argv[1:2] == ["load"]:
    from bench import load

    load.main(sys.argv[2:])
    sys.exit(0)

from bench import knowledge_speed, retrieval_recall, rules_latency  # noqa: E402

which = sys.argv[1:] or ["rules", "recall", "knowledge"]
if "rules" in which:
    rules_latency.main()
if "recall" in which:
    retrieval_recall.main()
if "knowledge" in which:
    knowledge_speed.main()
