"""Knowledge answers as users get them: the sources' direct answer first (with its
citation, in the question's language), then only the generated sentences the
faithfulness gate passed, streamed sentence by sentence; what was cut is logged and
counted in stats."""

from __future__ import annotations

import pytest
from test_faithfulness import BAD

from knowledge.evidence import select_evidence
from knowledge.faithfulness import CONTRADICTION, LOOP, WRONG_LANGUAGE
from knowledge.gated_stream import GatedStream
from rules.phrases import language_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("question", "must"), [
    ("Does a second GPU double the speed?", "not"),
    ("Does the SSD matter for inference speed?", "load"),
    ("为什么双显卡不能加倍速度？", "不"),
])
async def test_the_first_thing_read_is_the_sources_answer(knowledge_service, question, must):
    streamed: list[str] = []
    answer = await knowledge_service.ask(question, on_token=streamed.append)
    assert answer.route == "knowledge" and answer.error is None, answer.answer
    opening = answer.answer.split("\n\n")[0]
    assert must in opening and " — *" in opening  # a sentence of the sources with its citation
    assert language_of(opening) == language_of(question)
    assert streamed[0].startswith(opening)  # it is also the first thing streamed
    # the model is asked only when there are source sentences to choose among (composed)
    assert answer.llm is None or answer.llm.completion_tokens > 0


async def _gated(retrieval, catalog, question: str, text: str, piece_size: int = 7) -> GatedStream:
    embedder, retrieve = retrieval
    hits = retrieve(question)
    evidence = select_evidence(question, hits, embedder)
    shown: list[str] = []
    stream = GatedStream(question, evidence, hits, None, catalog, shown.append)
    for i in range(0, len(text), piece_size):  # as tokens arrive
        await stream.feed(text[i:i + piece_size])
    await stream.close()
    assert shown == [s + ("" if evidence.lang == "zh" else " ") for s in stream.shown]
    return stream


@pytest.mark.parametrize(("question", "text", "reasons"), BAD)
async def test_no_bad_sentence_is_ever_streamed(retrieval, catalog, question, text, reasons):
    stream = await _gated(retrieval, catalog, question, text)
    assert stream.cuts, "the gate let a known-bad generation through"
    for cut in stream.cuts:
        if cut.reason == "repetition":  # said once is fine; never twice
            assert stream.shown.count(cut.sentence) <= 1
        else:
            assert cut.sentence not in stream.shown
    if reasons & {CONTRADICTION, LOOP, WRONG_LANGUAGE}:
        assert {c.reason for c in stream.cuts} & reasons


async def test_good_sentences_stream_untouched(retrieval, catalog):
    text = ("When a model is split across two cards, they process each token one after the other. "
            "So most of the time only one card is busy.")
    stream = await _gated(retrieval, catalog, "Does a second GPU double the speed?", text)
    assert not stream.cuts and len(stream.shown) == 2


async def test_gate_cuts_are_logged_and_counted_in_stats(service):
    from bot.answer import Answer

    answer = Answer(question="q", route="knowledge", intent="explain", answer="a")
    answer_id = await service.store.log_answer(answer)
    await service.store.log_gate_cuts(answer_id, [("loop", "MIXLALA MIXLALA MIXLALA"),
                                                  ("contradiction", "A second GPU does double the speed.")], False)
    stats = await service.stats()
    assert stats["gate_cuts"] == {"loop": 1, "contradiction": 1}
    from bot.stats import render_stats

    assert "Faithfulness gate cut: contradiction 1, loop 1" in render_stats(stats)


@pytest.mark.parametrize(("question", "text"), [
    # what SmolLM2 wrote for these questions on 2026-11-25: fluent-looking, about nothing in the sources
    ("为什么内存带宽决定CPU推理速度？",
     "说明：在编码中，可以使用的响広阵来表示, 实险性和运行时失费是一个金颓水平层。"
     "芯牛烏具的词条：最低一行被用户可能是在初欧时自动使用品种, 这将不会发生。"),
    ("为什么内存带宽决定CPU推理速度？", "2、在CPU中定义了内存带宽,这就做到关键因素：最大的制轮是10.\n4、在CPU中定义了10."),
    ("Does a second GPU double the speed?",
     "Instead of doing so, they hide their own capabilities to optimize and improve future models "
     "based on other GPUs available at any given time."),
])
async def test_text_about_nothing_in_the_sources_is_cut(retrieval, catalog, question, text):
    stream = await _gated(retrieval, catalog, question, text)
    assert not stream.shown, stream.shown
    assert {c.reason for c in stream.cuts} == {"ungrounded"}


# issue 23, in other words than the issue's: the served answer, sampled several times
SERVED_QUESTIONS = [
    "Will a second graphics card make LLaMA generate twice as fast?",
    "Will adding another RTX 3090 double my tokens per second?",
    "Which CPU is the best one to buy for running llama.cpp?",
    "第二块显卡能让 LLaMA 生成速度翻倍吗？",
    "跑 llama.cpp 应该买什么 CPU？",
]


@pytest.mark.parametrize("question", SERVED_QUESTIONS)
async def test_every_sentence_a_reader_gets_is_the_sources_the_same_each_time(knowledge_service, question,
                                                                              monkeypatch):
    from bench.whole_answer import norm
    from knowledge.evidence import split_sentences

    monkeypatch.setattr(knowledge_service.settings, "knowledge_prose", False)  # the default: composed

    bodies = set()
    for _ in range(3):
        answer = await knowledge_service.ask(question)
        assert answer.route == "knowledge" and answer.error is None, answer.answer
        body = answer.answer.split("\n\n**")[0]  # before "Key facts"
        bodies.add(body)
        sources = " ".join(norm(s.text) for s in answer.sources)
        for line in body.split("\n"):
            if not line.strip():
                continue
            text, _, cited = line.rpartition(" — *")
            assert cited.endswith("*") and cited[:-1] in {s.section for s in answer.sources}, line
            for sentence in split_sentences(text, language_of(question)):
                assert norm(sentence) in sources, sentence  # copied from a cited section
        assert "best choice is the Threadripper" not in body  # the sources name it for headroom only
    assert len(bodies) == 1, bodies  # greedy, fixed seed: one answer however often asked
