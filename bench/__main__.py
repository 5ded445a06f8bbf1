"""python -m bench [rules|knowledge|recall|faithfulness]: run the benchmarks and print their figures."""

import sys

from bench import faithfulness, knowledge_speed, retrieval_recall, rules_latency

which = sys.argv[1:] or ["rules", "recall", "faithfulness", "knowledge"]
if "rules" in which:
    rules_latency.main()
if "recall" in which:
    retrieval_recall.main()
if "faithfulness" in which:
    faithfulness.main()
if "knowledge" in which:
    knowledge_speed.main()
