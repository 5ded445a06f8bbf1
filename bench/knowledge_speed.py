"""Knowledge path: RigBot's generation tokens/s ÷ raw llama.cpp decode tokens/s on the
same model and threads, time to first token, retrieval latency, and cold start with
a cached index. All measured in this one run."""

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
]
COLD_START = """
import asyncio, time, sys
t0 = time.perf_counter()
from bot.service import RigBotService
from bot.settings import Settings
async def main():
    s = await RigBotService(Settings(data_dir=sys.argv[1], _env_file=None, n_threads=int(sys.argv[2]))).start()
    rt = await s.knowledge()
    assert rt.index_loaded_from_disk, "index was rebuilt"
    await s.close()
asyncio.run(main())
print(round((time.perf_counter() - t0) * 1000, 1))
"""


async def bench(threads: int, data_dir: Path) -> dict:
    from bot.service import RigBotService
    from bot.settings import Settings
    from knowledge.llm import decode_tokens_per_s, raw_chat_decode

    settings = Settings(data_dir=data_dir, _env_file=None, n_threads=threads, max_tokens=128)
    service = await RigBotService(settings).start()
    runtime = await service.knowledge()
    llm = runtime.worker.llm

    # Interleaved, so machine noise hits both alike. The baseline is the same chat
    # request (same retrieved sections, sampling and token budget) sent straight to
    # llama-cpp-python; decode speed depends on prompt length, so a short-prompt
    # figure is printed only for reference.
    raw, bot_perf, bot_wall, ttft, short = [], [], [], [], []
    for q in QUESTIONS * 2:
        hits = await runtime.retrieve(q)
        messages, max_tokens = runtime._fit_prompt(q, hits, None)
        perf = await asyncio.to_thread(raw_chat_decode, llm, messages, max_tokens)
        raw.append(perf["n_eval"] / (perf["t_eval_ms"] / 1000))
        short.append(await asyncio.to_thread(decode_tokens_per_s, llm, 128))
        stamps: list[float] = []
        answer = await service.ask(q, on_token=lambda _t, s=stamps: s.append(time.perf_counter()))
        if answer.llm and answer.llm.completion_tokens > 8 and len(stamps) > 2:
            bot_perf.append(answer.llm.tokens_per_s)
            # wall clock between first and last streamed piece, as a user sees it
            bot_wall.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
            ttft.append(answer.llm.ttft_ms)

    retrieval = []
    for q in QUESTIONS * 10:
        t0 = time.perf_counter()
        await runtime.retrieve(q)
        retrieval.append((time.perf_counter() - t0) * 1000)
    await service.close()

    raw_med = statistics.median(raw)
    return {
        "threads": threads,
        "raw_llama_cpp_decode_tok_s (same prompt)": round(raw_med, 1),
        "raw decode, 6-token prompt (reference)": round(statistics.median(short), 1),
        "bot_decode_tok_s (llama.cpp counters)": round(statistics.median(bot_perf), 1),
        "bot_streamed_tok_s (wall clock)": round(statistics.median(bot_wall), 1),
        "ratio bot/raw (counters)": round(statistics.median(bot_perf) / raw_med, 3),
        "ratio bot/raw (wall clock)": round(statistics.median(bot_wall) / raw_med, 3),
        "ttft_ms_p50": round(statistics.median(ttft), 1),
        "retrieval_ms_p50": round(statistics.median(retrieval), 2),
        "generations": len(bot_perf),
    }


def cold_start(data_dir: Path, threads: int, runs: int = 3) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    times = [float(subprocess.run([sys.executable, "-c", COLD_START, str(data_dir), str(threads)], cwd=ROOT,
                                  env=env, check=True, capture_output=True, text=True).stdout.strip())
             for _ in range(runs)]
    return {"cold_start_cached_index_ms_p50": round(statistics.median(times), 1)}


def main() -> None:
    threads = int(os.environ.get("RIGBOT_N_THREADS", "1"))
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(bench(threads, Path(tmp))) | cold_start(Path(tmp), threads)
    print("knowledge path (SmolLM2-135M Q4_1, same model and threads):")
    for key, value in result.items():
        print(f"  {key:>38}: {value}")


if __name__ == "__main__":
    main()
