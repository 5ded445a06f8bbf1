"""Pasted run logs and llama-bench tables: how often "is this speed normal?" agrees with
what was measured, and what reading and diagnosing a paste costs.

Every real sample in tests/data/logs and tests/data/bench (sources in their first lines and
in SOURCES.md) is asked "is this speed normal?" with the hardware the sample itself gives
(a question naming it where the sample lacks it, as tests/test_diagnose.py does). Printed:
per sample the verdict, measured ÷ predicted and whether the measurement lies in the
stated range; then the share of measurements inside their range, and parse + diagnose time
per paste (p50 and max over repeats), including a paste at the size limit."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "data" / "logs"
BENCH = ROOT / "tests" / "data" / "bench"

# the samples whose log does not name the card or the model say it in the question,
# as a user would (the same wording as tests/test_diagnose.py)
QUESTIONS = {
    "localgpt_4090_timings_538.txt": "Llama 2 7B Q4_K_M on an RTX 4090, is it normal?",
    "ollama_partial_kv_split_8447.txt": "RTX 4090 with 512GB RAM, why so slow?",
    "cuda-ngl-sweep-old.md": "llama 2 7B Q4_0 on an RTX 3090, is this normal?",
    # the README does not name the card of its depth example; its other Qwen2.5 7B Q4_K_M
    # examples (same tg128 speed) ran on an RTX 4080
    "cuda-depth.md": "qwen2.5 7b q4_k_m on an RTX 4080, is this normal?",
    "m1-ultra-metal.md": "is this normal on my M1 Ultra 128GB?",
    "metal-old-kquants.md": "llama 2 7b on an M2 Ultra 192GB, is this normal?",
}
DEFAULT_QUESTION = "is this speed normal?"
REPEATS = 20


def _samples() -> list[tuple[str, str]]:
    out = []
    for path in sorted(LOGS.glob("*.txt")):
        out.append((path.name, path.read_text("utf-8").split("\n", 1)[1]))  # first line: the source
    for path in sorted(BENCH.glob("*")):
        if path.suffix in {".md", ".csv", ".json", ".jsonl"} and path.name != "SOURCES.md":
            out.append((path.name, path.read_text("utf-8")))
    return out


def _timed(text: str, catalog) -> tuple[object, float]:
    from rules.engine import answer_query
    from rules.parse import parse

    times = []
    result = None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = answer_query(parse(text, catalog), catalog)
        times.append((time.perf_counter() - start) * 1000)
    return result, statistics.median(times)


def main() -> None:
    from rules.catalog import default_catalog

    catalog = default_catalog()
    print("Pasted run logs and llama-bench tables: 'is this speed normal?'")
    print(f"{'sample':44} {'verdict':14} {'measured':>9} {'predicted':>10} {'ratio':>6} {'in range':>8} {'ms':>7}")
    inside = judged = 0
    times = []
    for name, body in _samples():
        question = QUESTIONS.get(name, DEFAULT_QUESTION)
        result, ms = _timed(f"{question}\n{body}", catalog)
        times.append(ms)
        d = result.diagnosis
        pairs = []
        if d is not None and d.rows:
            pairs = [(r.measured_tokens_per_s, r.predicted_tokens_per_s, r.predicted_range) for r in d.rows]
        elif d is not None:
            pairs = [(d.measured_tokens_per_s, d.predicted_tokens_per_s, d.predicted_range)]
        verdict = d.verdict if d is not None else (result.error or "no diagnosis")
        shown = False
        for measured, predicted, band in pairs:
            if measured and predicted and band:
                judged += 1
                within = band[0] <= measured <= band[1]
                inside += within
                print(f"{name[:44]:44} {verdict:14} {measured:9.1f} {predicted:10.1f} {measured / predicted:6.2f} "
                      f"{'yes' if within else 'no':>8} {ms:7.2f}")
                shown = True
        if not shown:
            measured = next((m for m, _, _ in pairs if m), None)
            print(f"{name[:44]:44} {verdict:14} {measured or float('nan'):9.1f} {'—':>10} {'—':>6} {'—':>8} {ms:7.2f}")
    print(f"\nmeasurements with a prediction: {judged}; inside the stated range: {inside} ({inside / max(judged, 1):.0%})")
    print(f"parse + diagnose per paste: p50 {statistics.median(times):.2f} ms, max {max(times):.2f} ms "
          f"over {len(times)} samples × {REPEATS} runs")
    _limit_size(catalog)


def _limit_size(catalog) -> None:
    """A paste at the size limit (max_paste_chars of real log lines): the worst a user can send."""
    from bot.settings import Settings

    limit = Settings().max_paste_chars
    lines = (LOGS / "cuda_partial_offload_4060_laptop_mistral7b.txt").read_text("utf-8").split("\n", 1)[1]
    body = (lines * (limit // len(lines) + 1))[:limit]
    result, ms = _timed(f"{DEFAULT_QUESTION}\n{body}", catalog)
    print(f"a {limit:,}-character paste (the limit): {ms:.1f} ms per parse + diagnose; "
          f"diagnosed: {result.diagnosis is not None}")


if __name__ == "__main__":
    main()
