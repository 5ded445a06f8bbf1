"""RigBot's own host: measured llama.cpp decode tokens/s of the default model against
what the rules engine predicts from the RAM bandwidth and FLOP/s bot/host.py measures,
through the same speed model every answer uses (issue 10: within ±35%)."""

from __future__ import annotations

import statistics
from pathlib import Path


def main(threads: int = 1, runs: int = 6) -> dict:
    import psutil

    from bot.host import measure_performance, probe_cpu
    from bot.stats import predicted_tokens_per_s
    from knowledge.llm import default_model_path
    from knowledge.llm_server import decode_speeds

    path = Path(default_model_path())
    measured_host = measure_performance()
    host = {"measured": measured_host, "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": probe_cpu(), "n_threads": threads}
    prediction = predicted_tokens_per_s(host, path, n_threads=threads)
    # llama.cpp's own decode timings, from a llama-server child with these threads
    speeds = decode_speeds(path, threads, runs=runs, n_tokens=64)
    median = statistics.median(speeds)
    best = max(speeds)
    result = {
        "model": path.name, "threads": threads, "host": measured_host,
        "measured_tokens_per_s": [round(s, 1) for s in speeds], "measured_median": round(median, 1),
        "predicted": prediction,
        "measured_over_predicted": round(median / prediction["expected_tokens_per_s"], 3),
        # the host figures are best-of-N; so is this one (other processes only slow a run)
        "best_over_predicted": round(best / prediction["expected_tokens_per_s"], 3),
    }
    print(f"self-prediction on {host['cpu']['model']}: measured median {median:.1f} tokens/s "
          f"(runs {', '.join(f'{s:.0f}' for s in speeds)}), predicted {prediction['expected_tokens_per_s']} "
          f"(likely {prediction['expected_range'][0]}–{prediction['expected_range'][1]}) from "
          f"{measured_host['ram_read_gbs']} GB/s and {measured_host['matmul_gflops_1thread']} GFLOP/s: "
          f"ratio {result['measured_over_predicted']} (best run: {result['best_over_predicted']})")
    return result


if __name__ == "__main__":
    main()
