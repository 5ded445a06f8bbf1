"""Rules path latency: parse + compute over a few thousand questions (p50, p99),
and the cold start of a rules-only `python -m bot ask`."""

from __future__ import annotations

import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TEMPLATES = [
    "can a {gpu} run {size} {quant}?",
    "can {n}x {gpu} run {model} with {ctx}k context?",
    "how fast is {model} {quant} on a {gpu}?",
    "what models can I run on a {gpu} with {ram}GB RAM?",
    "what gpu do I need for {model}?",
    "can I run {size} on cpu only with {ram}GB DDR5-5600?",
    "{gpu}能跑{size} 4位吗？",
    "两张{gpu}能跑{model}吗",
]


def questions(n: int, seed: int = 7) -> list[str]:
    from rules.catalog import default_catalog

    catalog = default_catalog()
    rnd = random.Random(seed)
    gpus = [g.keys[0] for g in catalog.gpus]
    models = [m.aliases[0] for m in catalog.models]
    out = []
    for template in itertools.islice(itertools.cycle(TEMPLATES), n):
        out.append(template.format(
            gpu=rnd.choice(gpus), model=rnd.choice(models), size=rnd.choice(["7b", "13b", "30b", "70b", "8b"]),
            quant=rnd.choice(["4-bit", "q5_k_m", "8bit", "fp16", "q3_k_m"]), n=rnd.choice([2, 3, 4]),
            ctx=rnd.choice([4, 8, 16, 32]), ram=rnd.choice([16, 32, 64, 128])))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def bench_rules(n: int = 3000, catalog=None) -> dict:
    from rules.catalog import default_catalog
    from rules.engine import answer_query
    from rules.parser import parse

    catalog = catalog or default_catalog()
    qs = questions(n)
    for q in qs[:50]:  # warm caches (regex compilation)
        answer_query(parse(q, catalog), catalog)
    parse_ms, total_ms = [], []
    for q in qs:
        t0 = time.perf_counter()
        query = parse(q, catalog)
        t1 = time.perf_counter()
        answer_query(query, catalog)
        t2 = time.perf_counter()
        parse_ms.append((t1 - t0) * 1000)
        total_ms.append((t2 - t0) * 1000)
    return {
        "questions": n,
        "gpus_models": f"{len(catalog.gpus)} / {len(catalog.models)}",
        "parse_p50_ms": round(statistics.median(parse_ms), 3),
        "parse_p99_ms": round(percentile(parse_ms, 0.99), 3),
        "total_p50_ms": round(statistics.median(total_ms), 3),
        "total_p99_ms": round(percentile(total_ms, 0.99), 3),
    }


def tenfold_catalog(times: int = 10):
    """Today's catalog with each GPU and model present `times` over (the copies renamed
    "… Mk2" … "… Mk10", with their own keys and aliases): the rules path must stay fast as
    the catalogs grow toward thousands of entries."""
    from rules.catalog import default_catalog

    base = default_catalog()
    gpus, models = list(base.gpus), list(base.models)
    for k in range(2, times + 1):
        gpus += [g.model_copy(update={"name": f"{g.name} Mk{k}", "keys": [f"{key} mk{k}" for key in g.keys]})
                 for g in base.gpus]
        models += [m.model_copy(update={"name": f"{m.name} Mk{k}", "aliases": [f"{a} mk{k}" for a in m.aliases]})
                   for m in base.models]
    return base.model_copy(update={"gpus": gpus, "models": models})


def bench_cold_start(runs: int = 5) -> dict:
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, RIGBOT_DATA_DIR=tmp, HF_HUB_OFFLINE="1")
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "can a 3060 12GB run 13B 4-bit?"],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            walls.append((time.perf_counter() - t0) * 1000)
    return {"cold_ask_runs": runs, "cold_ask_median_ms": round(statistics.median(walls), 1),
            "cold_ask_max_ms": round(max(walls), 1)}


def main() -> None:
    result = bench_rules() | bench_cold_start()
    print("rules path (parse + compute):")
    for key, value in result.items():
        print(f"  {key:>22}: {value}")
    print("rules path with a catalog ten times today's size:")
    for key, value in bench_rules(catalog=tenfold_catalog()).items():
        print(f"  {key:>22}: {value}")


if __name__ == "__main__":
    main()
