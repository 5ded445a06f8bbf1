"""python -m bench [rules|recall|faithfulness|knowledge|host|calibration|diagnosis]: run the benchmarks and print their figures.
`python -m bench load [options]`: the multi-process load test (see bench/load.py).
`python -m bench reading [--failures N]`: the parser's pass rates per entity kind (see bench/reading.py).
`python -m bench runtimes`: speed per runtime against its public measurements (see bench/runtimes.py)."""

import sys

if sys.argv[1:2] == ["models"]:  # the default-model comparison (bench/model_comparison.py)
    from bench import model_comparison

    model_comparison.main(sys.argv[2:])
    sys.exit(0)

if sys.argv[1:2] == ["reading"]:  # not in the default set: it judges the parser, not speed
    from bench import reading

    reading.main(sys.argv[2:])
    sys.exit(0)

if sys.argv[1:2] == ["prebuilt"]:  # prebuilt llama.cpp (xllamacpp) vs the native llama-server
    from bench import prebuilt_vs_native

    prebuilt_vs_native.main(sys.argv[2:])
    sys.exit(0)

if sys.argv[1:2] == ["runtimes"]:  # speed per runtime against its public measurements (issue 20)
    from bench import runtimes

    runtimes.main()
    sys.exit(0)

if sys.argv[1:2] == ["load"]:
    from bench import load

    load.main(sys.argv[2:])
    sys.exit(0)

from bench import (  # noqa: E402
    calibration_chart,
    diagnosis,
    faithfulness,
    knowledge_speed,
    retrieval_recall,
    rules_latency,
    self_prediction,
    whole_answer,
)

which = sys.argv[1:] or ["rules", "recall", "faithfulness", "knowledge", "host", "calibration", "diagnosis"]
if "rules" in which:
    rules_latency.main()
if "recall" in which:
    retrieval_recall.main()
if "faithfulness" in which:
    faithfulness.main()
    whole_answer.main(["table"])  # the whole answer, sentence by sentence, from the stored samples
if "knowledge" in which:
    knowledge_speed.main()
if "host" in which:
    self_prediction.main()
if "calibration" in which:
    calibration_chart.main()
if "diagnosis" in which:
    diagnosis.main()
