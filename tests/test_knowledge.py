"""Knowledge route end to end: real embedding model, real FAISS index, real SmolLM2 GGUF."""

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from knowledge.sections import CONTENT_DIR, load_sections

QUESTIONS = [q for p in sorted((Path(__file__).parent / "data").glob("retrieval_questions*.toml"))
             for q in tomllib.loads(p.read_text(encoding="utf-8"))["q"]]


def test_every_section_has_an_id_title_and_both_languages():
    sections = load_sections()
    by_lang = {}
    for s in sections:
        by_lang.setdefault(s.lang, set()).add(s.id)
        assert s.title and s.summary and re.fullmatch(r"[a-z0-9-]+", s.id)
    assert set(by_lang) == {"en", "zh"}
    assert by_lang["en"] == by_lang["zh"]
    assert len(by_lang["en"]) >= 40


async def test_knowledge_question_end_to_end(knowledge_service):
    streamed = []
    answer = await knowledge_service.ask("why doesn't a second GPU double the speed?",
                                         on_token=streamed.append, user_id="tester")
    assert answer.route == "knowledge" and answer.error is None
    assert answer.sources and all(s.score > 0 for s in answer.sources)
    cited = " ".join(s.text for s in answer.sources).lower()
    assert "gpu" in cited and ("pool" in cited or "split" in cited)
    assert answer.llm.completion_tokens > 0 and answer.llm.tokens_per_s > 0
    assert "".join(streamed).strip() and "".join(streamed).strip()[:20] in answer.answer
    assert "Key facts" in answer.answer
    db = knowledge_service.store
    row = await db._one("SELECT * FROM generations WHERE answer_id = ?", (answer.log_id,))
    assert row["tokens_per_s"] > 0 and row["completion_tokens"] == answer.llm.completion_tokens
    assert row["ttft_ms"] > 0 and row["n_threads"] >= 1


async def test_chinese_question_finds_chinese_sections(knowledge_service):
    answer = await knowledge_service.ask("为什么内存带宽很重要？")
    assert answer.route == "knowledge"
    assert re.search(r"[\u4e00-\u9fff]", answer.sources[0].text)
    assert any("带宽" in s.text for s in answer.sources)


async def test_off_topic_question_gets_a_short_explanation(knowledge_service):
    answer = await knowledge_service.ask("qwzx plorb vindaloo?")
    assert answer.route == "knowledge"
    assert answer.error == "not_in_knowledge"
    assert "sizing" in answer.answer


@pytest.mark.parametrize("text", ["tell me a joke", "who won the world cup", "what is the capital of france",
                                  "今天天气怎么样", "写一首诗", "asdf"])
async def test_off_topic_text_retrieves_nothing(knowledge_service, text):
    runtime = await knowledge_service.knowledge()
    assert await runtime.retrieve(text) == []


async def test_sizing_figures_reach_the_prompt(knowledge_service):
    from knowledge.prompt import build_messages
    from rules.engine import answer_question

    runtime = await knowledge_service.knowledge()
    hits = await runtime.retrieve("why is 70b slow on my 3090?")
    facts = answer_question("can a 3090 run 70b?").answer
    prompt = build_messages("why is 70b slow on my 3090?", hits, facts)[1]["content"]
    assert "GiB" in prompt and "n-gpu-layers" in prompt


async def test_retrieval_recall_at_3(knowledge_service):
    runtime = await knowledge_service.knowledge()
    found = 0
    misses = []
    for q in QUESTIONS:
        hits = await runtime.retrieve(q["text"])
        if {h.section_id for h in hits} & set(q["sections"]):
            found += 1
        else:
            misses.append((q["text"], [h.section_id for h in hits]))
    recall = found / len(QUESTIONS)
    print(f"\nrecall@3 = {recall:.3f} over {len(QUESTIONS)} questions; misses: {misses}")
    assert len(QUESTIONS) >= 30 and sum(q["lang"] == "zh" for q in QUESTIONS) >= 10
    assert recall >= 0.9, misses


async def test_index_is_cached_and_restart_embeds_nothing(knowledge_service):
    from knowledge.runtime import KnowledgeRuntime

    runtime = KnowledgeRuntime(knowledge_service.settings)
    runtime.embedder = (await knowledge_service.knowledge()).embedder
    calls = []
    original = runtime.embedder.encode
    runtime.embedder.encode = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        index, from_disk = runtime._load_or_build(None)
    finally:
        del runtime.embedder.encode
    assert from_disk and not calls
    assert len(index.chunks) == len((await knowledge_service.knowledge()).index.chunks)


@pytest.fixture
async def editable_knowledge(knowledge_service, tmp_path):
    """The running runtime pointed at a copy of the content that tests may break."""
    runtime = await knowledge_service.knowledge()
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    old_dir, old_index = runtime.content_dir, runtime.index
    runtime.content_dir = copy
    yield runtime, copy
    runtime.content_dir, runtime.index = old_dir, old_index


async def test_reload_with_a_malformed_file_keeps_the_old_index(editable_knowledge, knowledge_service):
    from knowledge.runtime import ReloadError

    runtime, copy = editable_knowledge
    before = runtime.index
    (copy / "en" / "broken.md").write_text("no title line\n## heading without id\ntext\n")
    with pytest.raises(ReloadError, match="broken.md"):
        await runtime.reload()
    assert runtime.index is before
    answer = await knowledge_service.ask("does the SSD matter?")
    assert answer.sources and answer.error is None


async def test_reload_after_a_change_serves_the_new_content(editable_knowledge):
    runtime, copy = editable_knowledge
    (copy / "en" / "zz-new.md").write_text(
        "# Cooling\n\n## Liquid cooling and quokkas {#quokka-cooling}\n"
        "Quokka-grade liquid cooling keeps a 4090 below 60 degrees during long generations.\n")
    report = await runtime.reload()
    assert report["sections"] > 0
    hits = await runtime.retrieve("does quokka liquid cooling help?")
    assert hits[0].section_id == "quokka-cooling"


async def test_a_full_queue_gets_a_busy_answer(knowledge_service):
    import asyncio

    runtime = await knowledge_service.knowledge()
    old = runtime.client.max_waiting
    runtime.client.max_waiting = 0  # only the generating question, nobody waiting
    try:
        # a long real generation holds the one slot: a knowledge answer alone can finish
        # before the second question arrives on a loaded machine
        first = asyncio.create_task(runtime.client.generate(
            [{"role": "user", "content": "Count from 1 to 500, one number per line."}], max_tokens=300))
        while not runtime.client.busy:
            await asyncio.sleep(0.01)
        second = await knowledge_service.ask("does the SSD matter?")
        assert second.error == "busy" and "busy" in second.answer and second.sources
        assert (await first).text
    finally:
        runtime.client.max_waiting = old


async def test_many_sections_are_trimmed_to_fit_the_context(knowledge_service, monkeypatch):
    runtime = await knowledge_service.knowledge()
    monkeypatch.setattr(runtime.settings, "top_k", 12)
    question = "why does memory bandwidth matter more than cores, and does VRAM pool across cards?"
    hits = await runtime.retrieve(question)
    assert len(hits) == 12
    budget = runtime.settings.max_tokens
    monkeypatch.setattr(runtime.settings, "max_tokens", 1900)  # leaves room for only a few sections
    messages, max_tokens = await runtime.fit_prompt(question, hits, None)
    prompt = "\n".join(m["content"] for m in messages)
    used = await runtime.client.count_tokens(prompt)  # the server's own tokenizer
    assert used + max_tokens <= runtime.settings.n_ctx
    assert 1 <= prompt.count("\n[") + prompt.startswith("[") < 12
    monkeypatch.setattr(runtime.settings, "max_tokens", budget)
    answer = await knowledge_service.ask(question)
    assert answer.route == "knowledge" and answer.error is None and answer.llm.completion_tokens > 0


async def test_stats_show_the_host_measured_speed_and_the_prediction(knowledge_service):
    from bot.stats import render_stats

    await knowledge_service.ask("what is the KV cache?")
    data = await knowledge_service.stats()
    host = data["host"]
    assert host["cpu"]["threads"] >= 1 and host["ram_gib"] > 0 and host["llm"]["model"].endswith(".gguf")
    assert host["model_file"].endswith(".gguf") and host["n_threads"] >= 1
    assert data["tokens_per_s"]["median"] > 0 and data["tokens_per_s"]["p10"] <= data["tokens_per_s"]["p90"]
    assert data["predicted"]["expected_tokens_per_s"] <= data["predicted"]["theoretical_max_tokens_per_s"]
    assert data["measured_over_predicted"] == pytest.approx(
        data["tokens_per_s"]["median"] / data["predicted"]["expected_tokens_per_s"], rel=0.01)
    assert data["answers_by_route"]["knowledge"] >= 1
    text = render_stats(data)
    assert "Measured ÷ predicted" in text and "tokens/s" in text
