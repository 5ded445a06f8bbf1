"""Knowledge path through the model server: RigBot's streamed tokens/s ÷ raw llama.cpp
decode tokens/s on the same server (same model and threads), time to first token,
prompt tokens, prefill tokens/s, the thread counts measured on this host, and cold
start to ready. All measured in this one run.

Raw decode = llama-server's own `timings.predicted_per_second` for the same messages
sent straight to the same server (no RigBot, no streaming); the bot figure is tokens
after the first ÷ time from first to last streamed token, as a user sees them."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "why doesn't a second GPU double the speed?",
    "does the SSD matter for tokens per second?",
    "为什么内存带宽很重要？",
    "what is the KV cache?",
    "what does --n-gpu-layers do?",
    "GGUF和GGML有什么区别？",
    "how much VRAM does a 70B model need at 4-bit?",
    "why is prompt processing slower on a Mac?",
    "what is quantization and does it hurt quality?",
    "什么是KV缓存？",
    "does PCIe speed matter with two GPUs?",
    "how does a mixture-of-experts model run on a CPU?",
]
# each question once: llama-server keeps earlier prompts in its RAM cache, so a repeated
# question would be served from cache and flatter the time to first token
COLD_START = """
import asyncio, json, time, sys
t0 = time.perf_counter()
from bot.service import RigBotService
from bot.settings import Settings
async def main():
    s = await RigBotService(Settings(data_dir=sys.argv[1], _env_file=None, max_tokens=128)).start()
    rt = await s.knowledge()
    assert rt.index_loaded_from_disk, "index was rebuilt"
    ready = time.perf_counter() - t0
    await s.close()
    return {"ready_ms": round(ready * 1000, 1), "server_ready_s": rt.llm_info.get("ready_s")}
print(json.dumps(asyncio.run(main())))
"""


def _p50(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def _spread(values: list[float]) -> str | None:
    """p50 with its p10-p90 range: every speed figure carries its range."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    if len(values) < 3:
        return f"{_p50(values)} (n={len(values)})"
    q = statistics.quantiles(values, n=10, method="inclusive")
    return f"{_p50(values)} (p10 {q[0]:.1f}, p90 {q[-1]:.1f}, n={len(values)})"


async def bench(data_dir: Path) -> dict:
    from bot.service import RigBotService
    from bot.settings import Settings
    from knowledge.llm_client import SAMPLING
    from knowledge.llm_server import request_timings

    settings = Settings(data_dir=data_dir, _env_file=None, max_tokens=128)
    t0 = time.perf_counter()
    service = await RigBotService(settings).start()
    runtime = await service.knowledge()
    first_start_s = time.perf_counter() - t0
    url = runtime.server.endpoint.base_url
    http = runtime.client.http

    raw, bot, server_own, ttft, ask_to_first, prompt_n, cached_n, prefill = [], [], [], [], [], [], [], []
    uncached_n: list[int] = []
    shown_first, shown_last, any_ttft = [], [], []
    for q in QUESTIONS:
        asked = time.perf_counter()
        stamps: list[float] = []
        answer = await service.ask(q, on_token=lambda _t, s=stamps: s.append(time.perf_counter()))
        gen = answer._generation or {}
        if stamps:  # composed answers (the default) stream the opening before the model runs
            shown_first.append((stamps[0] - asked) * 1000)
            shown_last.append((stamps[-1] - asked) * 1000)
        if gen.get("ttft_ms") is not None:
            any_ttft.append(gen["ttft_ms"])
        if answer.llm and answer.llm.completion_tokens > 8 and gen.get("tokens_per_s"):
            bot.append(gen["tokens_per_s"])
            server_own.append(gen.get("server_tokens_per_s"))
            ttft.append(gen["ttft_ms"])
            ask_to_first.append((stamps[0] - asked) * 1000)
            prompt_n.append(gen["prompt_tokens"])
            cached_n.append(gen.get("cached_prompt_tokens"))
            uncached_n.append(gen["prompt_tokens"] - (gen.get("cached_prompt_tokens") or 0))
            if gen.get("server_prompt_tokens_per_s"):
                prefill.append(gen["server_prompt_tokens_per_s"])
        # then the same messages straight to the same server: llama.cpp's own decode speed
        hits = await runtime.retrieve(q)
        messages, max_tokens = await runtime.fit_prompt(q, hits, None)
        t = await request_timings(http, url, messages, max_tokens, True, SAMPLING)  # same sampling
        if t.get("predicted_n", 0) > 8:
            raw.append(t["predicted_per_second"])
    info = runtime.llm_info
    measured = runtime.thread_measurements or {}
    await service.close()

    raw_p50, bot_p50 = _p50(raw), _p50(bot)
    return {
        "model server": info.get("summary"),
        "threads measured (decode tok/s by -t)": measured.get("decode_tokens_per_s"),
        "threads measured (prefill tok/s by -tb)": measured.get("prefill_tokens_per_s"),
        "first start incl. thread measurement_s": round(first_start_s, 2),
        "raw llama.cpp decode tok/s (same server, same messages)": _spread(raw),
        "bot streamed tok/s (first to last token)": _spread(bot),
        "server's own decode tok/s for the bot's requests": _spread(server_own),
        "ratio bot / raw (p50s)": round(bot_p50 / raw_p50, 3) if raw_p50 and bot_p50 else None,
        "TTFT ms (request to first token)": _spread(ttft),
        "question to first sentence shown ms (every answer)": _spread(shown_first),
        "question to last sentence shown ms (every answer)": _spread(shown_last),
        "model TTFT ms, every request (composed: the choice)": _spread(any_ttft),
        "question to first token ms (incl. retrieval)": _spread(ask_to_first),
        "prompt tokens p50": _p50(prompt_n),
        "of which reused from the prompt cache p50": _p50(cached_n),
        "of which processed (uncached) p50": _p50(uncached_n),
        "prefill tok/s": _spread(prefill),
        "generations": len(bot),
    }


def cold_start(data_dir: Path, runs: int = 3) -> dict:
    import json

    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    results = [json.loads(subprocess.run([sys.executable, "-c", COLD_START, str(data_dir)], cwd=ROOT, env=env,
                                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
               for _ in range(runs)]
    return {"cold start to ready ms (cached index, remembered threads)": _spread([r["ready_ms"] for r in results]),
            "of which llama-server start + smoke generation s": _spread([r["server_ready_s"] for r in results])}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(bench(Path(tmp))) | cold_start(Path(tmp))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"knowledge path through llama-server (default model, this host's measured threads; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the end):")
    for key, value in result.items():
        print(f"  {key:>60}: {value}")


if __name__ == "__main__":
    main()
