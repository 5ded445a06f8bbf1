"""python -m bench [rules|knowledge]: run the benchmarks and print their figures."""

import sys

from bench import knowledge_speed, rules_latency

which = sys.argv[1:] or ["rules", "knowledge"]
if "rules" in which:
    rules_latency.main()
if "knowledge" in which:
    knowledge_speed.main()
