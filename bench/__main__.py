"""python -m bench [rules|knowledge|recall]: run the benchmarks and print their figures."""

import sys

from bench import knowledge_speed, retrieval_recall, rules_latency

which = sys.argv[1:] or ["rules", "recall", "knowledge"]
if "rules" in which:
    rules_latency.main()
if "recall" in which:
    retrieval_recall.main()
if "knowledge" in which:
    knowledge_speed.main()
