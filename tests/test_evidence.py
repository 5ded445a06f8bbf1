"""Evidence first (knowledge/evidence.py): sentence splitting in English and Chinese,
and the direct answer chosen with the real embedding model over the real index."""

from __future__ import annotations

import pytest

from knowledge.evidence import (
    Evidence,
    is_yes_no,
    polar,
    select_evidence,
    split_sentences,
    subject_of,
)


def test_english_sentences_split_at_full_stops_but_not_inside_abbreviations_or_numbers():
    text = ("A 4-bit 13B model is about 6.5 GB, e.g. on an RTX 3060. llama.cpp reads it once per token! "
            "Is that fast? It depends on bandwidth.")
    assert split_sentences(text, "en") == [
        "A 4-bit 13B model is about 6.5 GB, e.g. on an RTX 3060.",
        "llama.cpp reads it once per token!",
        "Is that fast?",
        "It depends on bandwidth.",
    ]


def test_chinese_sentences_split_at_chinese_punctuation():
    text = "加第二块显卡通常不会让速度翻倍。为什么？因为两块卡依次工作！剩下的时间；只有一块卡在忙。"
    assert split_sentences(text, "zh") == ["加第二块显卡通常不会让速度翻倍。", "为什么？", "因为两块卡依次工作！",
                                           "剩下的时间；只有一块卡在忙。"]


def test_markdown_bullets_are_sentences_and_tables_and_headings_are_skipped():
    text = "Lead sentence here.\n\n| a | b |\n| --- | --- |\n## Heading\n- **First** bullet point.\n* Second bullet."
    assert split_sentences(text, "en") == ["Lead sentence here.", "First bullet point.", "Second bullet."]


@pytest.mark.parametrize(("question", "expected"), [
    ("Does a second GPU double the speed?", True),
    ("Is 8-bit more accurate than 4-bit?", True),
    ("Why doesn't a second GPU double the speed?", True),
    ("How much VRAM do I need for 30B?", False),
    ("固态硬盘会影响推理速度吗？", True),
    ("为什么双显卡不能加倍速度？", True),
    ("什么是 KV 缓存？", False),
])
def test_yes_no_questions_are_recognised(question, expected):
    assert is_yes_no(question) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("A second card usually does not make generation twice as fast.", True),
    ("The SSD matters only for loading.", True),
    ("A second card gives more memory.", False),
    ("加第二块显卡通常不会让文本生成快一倍。", True),
    ("固态硬盘只影响加载。", True),
    ("不同的量化有不同的大小。", False),  # 不同 is "different", not a negation
])
def test_polarity_sees_negations_and_restrictions_in_both_languages(text, expected):
    assert polar(text) is expected


@pytest.mark.parametrize(("question", "subject"), [
    ("What is the KV cache?", "kv cache"),
    ("What does --n-cpu-moe do in llama.cpp?", "--n-cpu-moe"),
    ("什么是首词元延迟？", "首词元延迟"),
    ("-ngl 参数是做什么的？", "-ngl"),
    ("Does the SSD matter?", None),
])
def test_definition_questions_name_their_subject(question, subject):
    assert subject_of(question) == subject


@pytest.mark.slow
def test_a_yes_no_question_is_answered_with_the_polarity_the_source_states(retrieval):
    embedder, retrieve = retrieval
    question = "Does a second GPU double the speed?"
    evidence = select_evidence(question, retrieve(question), embedder)
    assert polar(evidence.direct_answer), evidence.direct_answer
    assert "second" in evidence.direct_answer.lower()
    assert evidence.citation == "Why a second GPU does not double generation speed"


@pytest.mark.slow
def test_the_ssd_answer_says_it_matters_for_loading_only(retrieval):
    embedder, retrieve = retrieval
    question = "Does the SSD matter for inference speed?"
    evidence = select_evidence(question, retrieve(question), embedder)
    assert "load" in evidence.direct_answer and polar(evidence.direct_answer)
    assert evidence.sentences[0].section_id == "storage-load-time"


@pytest.mark.slow
def test_a_chinese_question_gets_a_chinese_sentence_and_a_chinese_citation(retrieval):
    embedder, retrieve = retrieval
    question = "为什么内存带宽决定CPU推理速度？"
    evidence = select_evidence(question, retrieve(question), embedder)
    assert evidence.lang == "zh" and "带宽" in evidence.direct_answer
    assert all(s.lang == "zh" for s in evidence.sentences)
    assert evidence.citation == "为什么内存带宽决定 CPU 生成速度"


@pytest.mark.slow
def test_the_direct_answer_is_copied_from_the_cited_section(retrieval):
    embedder, retrieve = retrieval
    for question in ("What is the KV cache?", "什么是首词元延迟？", "What sizes does Qwen3 come in?"):
        hits = retrieve(question)
        evidence = select_evidence(question, hits, embedder)
        cited = next(h for h in hits if h.section_id == evidence.sentences[0].section_id)
        flat = " ".join(split_sentences(cited.text, evidence.lang))
        assert evidence.sentences[0].text in flat
        assert evidence.direct_answer.startswith(evidence.sentences[0].text)


@pytest.mark.slow
def test_the_extractive_explanation_stays_with_the_answers_section(retrieval):
    embedder, retrieve = retrieval
    question = "为什么双显卡不能加倍速度？"
    evidence = select_evidence(question, retrieve(question), embedder)
    home = evidence.sentences[0].section_id
    assert evidence.supporting and evidence.supporting[0].section_id == home
    assert evidence.direct_answer not in evidence.extractive_explanation()


@pytest.mark.slow
def test_no_sections_in_the_question_language_gives_no_direct_answer(retrieval):
    embedder, retrieve = retrieval
    english_hits = retrieve("Does a second GPU double the speed?")
    evidence = select_evidence("第二块显卡能让速度翻倍吗？", english_hits, embedder)
    assert evidence == Evidence("第二块显卡能让速度翻倍吗？", "zh", "", [])
    assert select_evidence("anything", [], embedder).direct_answer == ""
