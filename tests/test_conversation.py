"""Follow-ups merge with the previous sizing question and say what changed (bot/conversation.py)."""

from __future__ import annotations

import pytest

from bot.conversation import is_sizing, merge
from rules.engine import answer_query
from rules.parser import parse


def follow(first: str, *questions: str):
    """Ask `first`, then each follow-up in turn; return the (FollowUp | None, result) of each."""
    prev_q, prev = first, parse(first)
    resolved = answer_query(prev).model
    out = []
    for text in questions:
        new = parse(text)
        fu = merge(prev, prev_q, text, new, {"context": resolved.context, "quant": resolved.quant} if resolved else None)
        query, question = (fu.query, fu.question) if fu else (new, text)
        result = answer_query(query)
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


# --- the paths users take: the console (each line continues) and Discord (a reply chain) ---

def _chat(tmp_path, lines: list[str]) -> str:
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    env.pop("DISCORD_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "bot", "chat"], input="\n".join(lines) + "\n/quit\n",
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_console_lines_follow_up_and_survive_a_restart(tmp_path):
    first = _chat(tmp_path, ["can an RTX 3090 run llama 3.1 8b q4_k_m?", "and at 32k context?"])
    assert "32,768 context" in first and "Follow-up to your previous question" in first
    # a new console process on the same data directory continues where the last one stopped
    second = _chat(tmp_path, ["what about q8?"])
    assert "Llama 3.1 8B (Q8_0, 32,768 context)" in second
    # /new starts afresh: a bare modifier no longer has anything to modify
    third = _chat(tmp_path, ["/new", "what about q8?"])
    assert "Follow-up" not in third


async def test_discord_reply_chain_follows_up(world):
    me = world.env.bot.user
    first = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 3090 run llama 3.1 8b q4_k_m?")
    answer = world.replies_to(first.id)[0]
    follow = await world.alice.send(world.channel, "and at 32k context?", reply_to=world.message(answer))
    reply = world.replies_to(follow.id)[0]
    text = reply.embeds[0].get("title", "") + (reply.embeds[0].get("description") or "")
    assert "32,768" in text, reply.embeds[0]
    # Chinese follow-up in the same chain
    again = await world.alice.send(world.channel, "那用两张呢？", reply_to=world.message(reply))
    reply2 = world.replies_to(again.id)[0]
    text2 = reply2.embeds[0].get("title", "") + (reply2.embeds[0].get("description") or "")
    assert "2× RTX 3090" in text2 or "2×" in text2, reply2.embeds[0]


async def test_discord_fresh_mention_does_not_follow_up(world, service):
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> can an RTX 3090 run llama 3.1 8b q4_k_m?")
    # a mention within a few minutes of RigBot's answer may follow up (issue 24,
    # tests/test_discord_busy.py); one after that is a new question
    await service.store.db.execute("UPDATE conversations SET updated_at = updated_at - 600")
    fresh = await world.alice.send(world.channel, f"<@{me.id}> what about an RTX 4090?")
    reply = world.replies_to(fresh.id)[0]
    text = str(reply.embeds[0]) if reply.embeds else reply.content
    # a new mention is a new question (models for a 4090), not silently tied to the earlier one
    assert "Follow-up" not in text and "Llama 3.1 8B (Q4_K_M" not in text


def test_a_use_follow_up_ranks_the_same_rig_by_evidence():
    (fu, result), (fu_zh, result_zh) = follow("what can I run on a 3090?", "and for coding?", "那中文呢？")
    assert fu is not None and "coding" in fu.changed
    assert result.quality.use == "coding" and result.hardware.gpus[0].name == "RTX 3090"
    assert fu_zh is not None and result_zh.quality.use == "chinese" and "中文" in fu_zh.changed
