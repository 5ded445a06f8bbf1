"""Prebuilt llama.cpp (the `xllamacpp` wheel, run as RigBot's child by
knowledge/prebuilt_server.py) against the native llama-server build, on the same host,
model, threads and probes: prefill and decode tokens/s as each server times itself.
Rounds alternate between the two, so a change in the machine's load hits both.

    python -m bench prebuilt [--threads 1] [--rounds 4]

Needs `xllamacpp` importable (pip install xllamacpp, or PYTHONPATH to an unpacked wheel)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from knowledge.llm import default_model_path
from knowledge.llm_client import httpx
from knowledge.llm_server import (
    DECODE_PROBE,
    PREFILL_PROBE,
    ServerProcess,
    ServerSpec,
    find_llama_server,
    request_timings,
)


async def _one_round(spec: ServerSpec, probes: int) -> tuple[float, float]:
    server = ServerProcess(spec)
    server.spawn()
    try:
        async with httpx().AsyncClient(trust_env=False) as http:
            await server.wait_ready(http)
            await request_timings(http, server.url, DECODE_PROBE, 8, False)  # warm-up
            prefill = [float((await request_timings(http, server.url, PREFILL_PROBE, 1, False))
                             .get("prompt_per_second") or 0) for _ in range(probes)]
            decode = [float((await request_timings(http, server.url, DECODE_PROBE, 64, False))
                            .get("predicted_per_second") or 0) for _ in range(probes)]
            return max(prefill), max(decode)  # best of: other jobs on the host only slow a probe
    finally:
        await server.stop()


async def compare(threads: int, rounds: int, probes: int, model: Path) -> dict:
    native = ServerSpec(binary=find_llama_server(), model=model, n_ctx=1024, threads=threads, threads_batch=threads)
    prebuilt = replace(native, binary=Path(sys.executable), launcher_args=("-m", "knowledge.prebuilt_server"))
    figures: dict[str, dict[str, list[float]]] = {"native": {"prefill": [], "decode": []},
                                                  "prebuilt": {"prefill": [], "decode": []}}
    for r in range(rounds):
        for name, spec in (("native", native), ("prebuilt", prebuilt))[:: 1 if r % 2 == 0 else -1]:
            p, d = await _one_round(spec, probes)
            figures[name]["prefill"].append(p)
            figures[name]["decode"].append(d)
            print(f"round {r + 1} {name:8} prefill {p:7.1f} tokens/s  decode {d:6.1f} tokens/s", flush=True)
    out = {"threads": threads, "rounds": rounds, "model": model.name}
    for name in figures:
        out[name] = {k: round(statistics.median(v), 1) for k, v in figures[name].items()}
    out["ratio_prebuilt_over_native"] = {
        k: round(out["prebuilt"][k] / out["native"][k], 2) if out["native"][k] else None for k in ("prefill", "decode")}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench prebuilt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--probes", type=int, default=3)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args(argv)
    result = asyncio.run(compare(args.threads, args.rounds, args.probes, args.model or default_model_path()))
    print(result)


if __name__ == "__main__":
    main()
