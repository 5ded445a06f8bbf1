"""Issue 23: no sentence the sources do not support reaches the reader. What follows the
direct answer is sentences of the cited sections (knowledge.composed), chosen and
ordered by the model at most, the same every time; key facts are the sections that
answer the question; "will another RTX 3090 double my tokens/s" is a knowledge question.
Real embedding model and index, no LLM (the model's reply is any string here; see
test_knowledge_answers.py for the served path)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.whole_answer import judge, load_labels, norm
from bot.router import route
from knowledge.composed import MAX_SHOWN, candidates, compose, parse_choice
from knowledge.evidence import select_evidence, split_sentences
from knowledge.key_facts import key_fact_hits
from rules.parse import parse

pytestmark = pytest.mark.slow

# the issue's examples, in other words, English and Chinese
ISSUE_QUESTIONS = [
    "Will a second graphics card make LLaMA generate twice as fast?",
    "If I add a second RTX 3090, do I get twice the tokens per second?",
    "Which CPU is the best one to buy for running llama.cpp?",
    "Does the speed of my RAM matter for generating tokens on the CPU?",
    "第二块显卡能让 LLaMA 生成速度翻倍吗？",
    "再加一块 RTX 3090，每秒词元数会翻倍吗？",
    "跑 llama.cpp 应该买什么 CPU？",
    "内存频率对 CPU 推理速度有影响吗？",
]
# replies a small model gives when asked for numbers, and worse
REPLIES = ["2, 1", "1", "", "The best choice is the Threadripper 3990X.", "3, 3, 1, 9, 0", "2\n1\n2",
           "第二块显卡只让文本处理速度翻倍。", "1. Adding another graphics card only doubles speed"]


@pytest.fixture(scope="module")
def answered(retrieval):
    embedder, retrieve = retrieval
    out = {}
    for q in ISSUE_QUESTIONS:
        hits = retrieve(q)
        out[q] = (hits, select_evidence(q, hits, embedder))
    return out


def _section_sentences(hits, section_id: str) -> set[str]:
    hit = next(h for h in hits if h.section_id == section_id)
    return {norm(s) for s in split_sentences(hit.text, hit.lang)}


@pytest.mark.parametrize("question", ISSUE_QUESTIONS)
@pytest.mark.parametrize("reply", REPLIES)
def test_every_sentence_shown_is_a_sentence_of_the_section_it_cites(answered, question, reply):
    hits, evidence = answered[question]
    composed = compose(candidates(evidence), reply)
    assert len(composed.sentences) <= MAX_SHOWN
    for s in composed.sentences:
        assert norm(s.text) in _section_sentences(hits, s.section_id), s.text
        assert s.lang == evidence.lang
    text = composed.text(evidence.lang)
    assert "3990X" not in text and "只让" not in text and "only doubles" not in text
    for s in composed.sentences:  # each with its section's title as the citation
        assert f"— *{s.title}*" in text


@pytest.mark.parametrize("question", ISSUE_QUESTIONS)
def test_the_same_question_gets_the_same_answer(retrieval, question):
    embedder, retrieve = retrieval
    answers = set()
    for _ in range(3):  # sampled several times
        hits = retrieve(question)
        evidence = select_evidence(question, hits, embedder)
        answers.add((evidence.direct_answer, compose(candidates(evidence), "2, 1").text(evidence.lang)))
    assert len(answers) == 1


def test_the_whole_answer_is_judged_supported_without_labels(answered):
    """The measure's own rule: a sentence copied from the section it cites is supported;
    text the model wrote is not, unless a person labelled it."""
    for question, (hits, evidence) in answered.items():
        for s in compose(candidates(evidence)).sentences:
            section = next(h.text for h in hits if h.section_id == s.section_id)
            assert judge(question, s.text, [section], {}) == "supported"
    hits, _ = answered[ISSUE_QUESTIONS[0]]
    written = "Adding another graphics card usually only doubles text processing speed."
    assert judge(ISSUE_QUESTIONS[0], written, [h.text for h in hits], {}) == "unjudged"


def test_hand_labels_are_the_three_values_and_name_the_issue_examples():
    labels = load_labels()
    assert len(labels) >= 60
    assert set(labels.values()) <= {"supported", "neutral", "contradicted"}
    assert "contradicted" in labels.values() and "neutral" in labels.values()


@given(reply=st.text(max_size=40), n=st.integers(min_value=0, max_value=6))
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_reply_picks_only_offered_notes_each_once(reply, n):
    picked = parse_choice(reply, n)
    assert len(picked) == len(set(picked)) and all(0 <= i < n for i in picked)


@pytest.mark.parametrize(("question", "not_listed"), [
    ("Which CPU is the best one to buy for running llama.cpp?", "log-cpu-fallback"),
    ("What CPU should I buy for llama.cpp?", "log-cpu-fallback"),
    ("Does the speed of my RAM matter for generating tokens on the CPU?", "finetune-"),
    ("Why does memory bandwidth limit CPU generation speed?", "finetune-"),
])
def test_key_facts_leave_out_sections_that_do_not_answer(retrieval, question, not_listed):
    _, retrieve = retrieval
    hits = retrieve(question)
    listed = [h.section_id for h in key_fact_hits(hits)]
    assert listed and not any(sid.startswith(not_listed) for sid in listed), listed
    assert listed[0] == hits[0].section_id


@pytest.mark.parametrize("question", [
    "Will adding another RTX 3090 double my tokens per second?",
    "If I add a second RTX 3090, do I get twice the tokens per second?",
    "I have an RTX 3090. Will adding another one double my tokens per second?",
    "Will a second 3090 make generation twice as fast?",
    "再加一块 RTX 3090，每秒词元数会翻倍吗？",
])
def test_a_second_card_question_is_answered_as_how_speed_scales(catalog, retrieval, question):
    query = parse(question, catalog)
    assert route(query) == "knowledge", query.intent
    _, retrieve = retrieval
    assert retrieve(question)[0].section_id.startswith("dual-gpu"), [h.section_id for h in retrieve(question)]
