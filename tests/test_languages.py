"""Answers come in the language of the question: the rule engine's sentences live in
rules/data/phrases.toml, English and Chinese with the same keys and placeholders."""

import pytest

from rules.catalog import DATA_DIR, CatalogError
from rules.engine import answer_question
from rules.phrases import load_phrases


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("question", [
    "3060 12G能跑13B 4位量化吗？",
    "一张4090能跑llama 3.1 70b吗",
    "没有显卡，16GB内存能跑7B吗？",
    "跑llama 3.1 70b需要什么显卡？",
    "我有一张3060 12g和32g内存，推荐什么模型？",
    "模型大小13GB，带宽115 GB/s，每秒多少token",
    "rtx 3095能跑13b吗",
    "3090能跑90000b的模型吗",
])
def test_chinese_question_gets_a_chinese_answer(catalog, question):
    result = answer_question(question, catalog)
    assert has_chinese(result.answer), result.answer
    for english in ("fits in", "Assumptions", "Memory:", "Did you mean", "tokens/s expected"):
        assert english not in result.answer


def test_same_figures_in_both_languages(catalog):
    en = answer_question("can a 3060 12gb run llama 2 13b 4-bit?", catalog)
    zh = answer_question("3060 12gb能跑llama 2 13b 4位吗", catalog)
    assert en.verdict == zh.verdict and en.memory == zh.memory and en.speed == zh.speed
    m = zh.memory
    assert f"权重 {m.weights_gib:.1f} + KV 缓存 {m.kv_cache_gib:.1f}" in zh.answer
    assert "--n-gpu-layers" not in zh.answer  # it fits: no offload advice


def test_english_question_stays_english(catalog):
    result = answer_question("can a 4090 run llama 3.1 70b?", catalog)
    assert not has_chinese(result.answer) and "--n-gpu-layers" in result.answer


def test_phrase_file_languages_must_match(tmp_path):
    text = (DATA_DIR / "phrases.toml").read_text(encoding="utf-8")
    broken = tmp_path / "phrases.toml"
    broken.write_text(text.replace("按 {quant}（每权重 {bits:g} 位）计算", "按 {quant} 计算"), encoding="utf-8")
    with pytest.raises(CatalogError, match="note_default_quant"):
        load_phrases(broken)
    assert set(load_phrases()["en"]) == set(load_phrases()["zh"])


async def test_knowledge_answer_labels_follow_the_question(knowledge_service):
    answer = await knowledge_service.ask("为什么内存带宽很重要？")
    assert "来源要点" in answer.answer and "Key facts" not in answer.answer


async def test_the_bots_own_sentences_follow_the_question(service, knowledge_service):
    too_long = await service.ask("3090能跑13b吗？" * 200)
    assert too_long.error == "question_too_long" and "请控制在 1,000 以内" in too_long.answer
    off_topic = await knowledge_service.ask("今天天气怎么样")
    assert off_topic.error == "not_in_knowledge" and "找不到" in off_topic.answer
    english = await knowledge_service.ask("tell me a joke")
    assert english.error == "not_in_knowledge" and "sizing" in english.answer
