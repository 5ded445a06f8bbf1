"""Follow-ups merge with the previous sizing question and say what changed (bot/conversation.py)."""

from __future__ import annotations

import pytest

from bot.conversation import is_sizing, merge
from rules.engine import answer_query
from rules.parser import parse


def follow(first: str, *questions: str):
    """Ask `first`, then each follow-up in turn; return the (FollowUp | None, result) of each."""
    prev_q, prev = first, parse(first)
    resolved = answer_query(prev, question=first).model
    out = []
    for text in questions:
        new = parse(text)
        fu = merge(prev, prev_q, text, new, {"context": resolved.context, "quant": resolved.quant} if resolved else None)
        query, question = (fu.query, fu.question) if fu else (new, text)
        result = answer_query(query, question=question)
        out.append((fu, result))
        if is_sizing(query):
            prev, prev_q, resolved = query, text, result.model
    return out


def test_context_follow_up_resizes_and_says_what_changed():
    (fu, result), = follow("can an RTX 3090 run llama 3.1 8b q4_k_m?", "and at 32k context?")
    assert fu is not None
    assert result.model.context == 32768 and result.model.name == "Llama 3.1 8B"
    assert "4,096 → 32,768" in fu.changed
    assert result.memory.kv_cache_gib > 3.5  # 32k of Llama 3.1 8B f16 KV is 4 GiB


def test_quant_then_count_and_model():
    (fu1, r1), (fu2, r2) = follow("can an RTX 3090 run llama 3.1 8b q4_k_m?", "what about q8?",
                                  "what about two of them with llama 3.1 70b?")
    assert r1.model.quant == "Q8_0" and "Q4_K_M → Q8_0" in fu1.changed
    assert r2.model.name == "Llama 3.1 70B" and r2.model.quant == "Q8_0"
    assert r2.hardware.gpus[0].count == 2
    assert "Llama 3.1 8B → Llama 3.1 70B" in fu2.changed and "1 → 2" in fu2.changed


def test_chinese_follow_ups():
    (fu1, r1), (fu2, r2) = follow("两张3090能跑llama 3 70b吗", "那用四张呢？", "换成 4090 呢？")
    assert r1.hardware.gpus[0].count == 4 and "接着你上一个问题" in fu1.changed
    assert r2.hardware.gpus[0].name == "RTX 4090" and r2.model.name == "Llama 3 70B"
    assert "RTX 4090" in fu2.changed


@pytest.mark.parametrize("text", [
    "Why is RAM bandwidth important for CPU inference?",
    "can a 3060 run qwen3 8b?",  # names its own model and hardware: a new question
    "what can I run on a 4090?",
])
def test_a_new_question_stands_alone(text):
    prev = parse("can an RTX 3090 run llama 3.1 8b q4_k_m?")
    assert merge(prev, "can an RTX 3090 run llama 3.1 8b q4_k_m?", text, parse(text)) is None


def test_unknown_model_in_follow_up_is_not_replaced():
    prev = parse("can an RTX 3090 run llama 3.1 8b q4_k_m?")
    new = parse("what about zorblax-13b?")
    assert merge(prev, "…", "what about zorblax-13b?", new) is None  # the error answers it
    assert new.error == "unknown_model"
