"""python -m bench [rules|knowledge|recall|host|calibration]: run the benchmarks and print their figures."""

import sys

from bench import (
    calibration_chart,
    knowledge_speed,
    retrieval_recall,
    rules_latency,
    self_prediction,
)

which = sys.argv[1:] or ["rules", "recall", "knowledge", "host", "calibration"]
if "rules" in which:
    rules_latency.main()
if "recall" in which:
    retrieval_recall.main()
if "knowledge" in which:
    knowledge_speed.main()
if "host" in which:
    self_prediction.main()
if "calibration" in which:
    calibration_chart.main()
