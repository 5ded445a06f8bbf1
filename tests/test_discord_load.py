"""Load and limits: the per-user rate limit on LLM questions, the queue position told
to a question that has to wait, and an event loop that keeps answering sizing
questions while the LLM generates (real SmolLM2 in the llama-server child)."""

from __future__ import annotations

import time

import pytest

from bot.discord import create_bot, render

pytestmark = [pytest.mark.slow, pytest.mark.simcord(settle_timeout=120)]

KNOWLEDGE_Q = "why does memory bandwidth matter for LLM speed?"
RULES_Q = "can an RTX 3060 12GB run 13B 4-bit?"


def _text(messages) -> str:
    return "\n\n".join(m.content for m in messages)


@pytest.fixture
def simcord_bot(knowledge_service):
    return create_bot(knowledge_service.settings, knowledge_service)


async def test_rate_limit_per_user(world, knowledge_service, monkeypatch):
    monkeypatch.setattr(knowledge_service.settings, "rate_limit_per_minute", 1)
    me = world.env.bot.user

    first = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    assert "**Sources:**" in _text(world.replies_to(first.id))

    second = await world.alice.send(world.channel, f"<@{me.id}> does the SSD matter?")
    refused = world.replies_to(second.id)
    assert len(refused) == 1 and refused[0].content.startswith("You're asking the model fast — try again in 60 s.")

    slash = await world.alice.slash(world.channel, "ask", question="what is quantization?")
    assert slash.ephemeral and slash.response.content.startswith("You're asking the model fast")

    sizing = await world.alice.send(world.channel, f"<@{me.id}> {RULES_Q}")
    assert world.replies_to(sizing.id)[0].embeds, "sizing answers cost no LLM time: not limited"

    await world.env.advance_time(30)
    again = await world.alice.send(world.channel, f"<@{me.id}> does the SSD matter?")
    # one notice per minute: within it, a ⏳ on the question and no second message
    assert world.replies_to(again.id) == []
    stored = world.env.backend.messages[world.channel.id][again.id]
    assert any(r.emoji == "⏳" and world.bot_id in r.user_ids for r in stored.reactions)

    await world.env.advance_time(31)  # the sliding window has moved past the first question
    later = await world.alice.send(world.channel, f"<@{me.id}> does the SSD matter?")
    assert "**Sources:**" in _text(world.replies_to(later.id))


async def test_waiting_question_is_told_its_queue_position(world, knowledge_service, monkeypatch):
    monkeypatch.setattr(knowledge_service.settings, "max_tokens", 64)
    me = world.env.bot.user
    # both arrive before either is answered: one generates, the other waits
    ids = [world.inject(world.alice, f"<@{me.id}> {KNOWLEDGE_Q}"),
           world.inject(world.bob, f"<@{me.id}> does the SSD matter when running models?")]
    await world.env.settle(timeout=120)

    queued_text = render.queued_text(1)
    told = []
    for question_id in ids:
        replies = world.replies_to(question_id)
        assert replies and "**Sources:**" in _text(replies)
        assert "Queued" not in replies[0].content, "the queue notice was replaced by the answer"
        history = [r.json["content"] for r in world.env.http_requests
                   if isinstance(r.json, dict) and r.json.get("content")
                   and (r.path.endswith(f"/{replies[0].id}") or r.json.get("message_reference", {}).get(
                       "message_id") in (question_id, str(question_id)))]
        # the position edits the placeholder, or goes below what is already shown
        told.append(any(queued_text in h or "queued: 1 ahead" in h for h in history))
    assert told.count(True) == 1, f"exactly one question waited and was told so: {told}"
    assert queued_text == "Queued: 1 question ahead of you. I'll start writing as soon as it's your turn."


async def test_sizing_stays_fast_while_the_llm_generates(world, knowledge_service, monkeypatch):
    """Rule answers through Discord while a long generation runs in the model server.
    Prints busy/idle latency; fails only if the loop was blocked (over 1 s)."""
    monkeypatch.setattr(knowledge_service.settings, "max_tokens", 400)
    me = world.env.bot.user
    worker = (await knowledge_service.knowledge()).client  # the LLM client: busy while generating

    async def rule_latency() -> float:
        started = time.perf_counter()
        qid = world.inject(world.bob, f"<@{me.id}> {RULES_Q}")
        await world.wait_for(lambda: any(m.embeds for m in world.replies_to(qid)), timeout=30)
        return time.perf_counter() - started

    await rule_latency()  # warm-up
    idle = min([await rule_latency() for _ in range(3)])

    long_q = world.inject(world.alice, f"<@{me.id}> Explain in detail why memory bandwidth limits tokens per second.")
    await world.wait_for(lambda: worker.busy and any(m.content for m in world.replies_to(long_q)), timeout=60)
    busy_samples = []
    for _ in range(3):
        if not worker.busy:
            break
        busy_samples.append(await rule_latency())
    still_generating = worker.busy
    await world.wait_for(lambda: "**Sources:**" in _text(world.replies_to(long_q)), timeout=120)
    await world.env.settle(timeout=60)

    assert busy_samples, "the generation ended before a sizing question could be asked during it"
    busy = max(busy_samples)
    print(f"\nrule-answer latency: idle {idle * 1000:.1f} ms, during generation {busy * 1000:.1f} ms "
          f"(max of {len(busy_samples)}), ratio {busy / idle:.1f}x; generation still running at the end: "
          f"{still_generating}")
    assert busy < 1.0, f"the event loop was blocked: a sizing answer took {busy:.2f} s during generation"
