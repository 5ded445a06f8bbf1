"""Knowledge answers stream into Discord: the message grows with the generated text
(throttled edits), then ends with the full answer and its cited sources, split into
follow-ups when longer than Discord allows. Real embedding model and real SmolLM2."""

from __future__ import annotations

import pytest

from bot.discord import create_bot, render

pytestmark = [pytest.mark.slow, pytest.mark.simcord(settle_timeout=120)]

CURSOR = render.STREAM_CURSOR


@pytest.fixture
def simcord_bot(knowledge_service):
    return create_bot(knowledge_service.settings, knowledge_service)


def _sent_contents(env, message_id: int | None = None) -> list[str]:
    """What the bot sent or edited, in order, as the simulator's HTTP log has it."""
    out = []
    for r in env.http_requests:
        if r.method in ("POST", "PATCH") and isinstance(r.json, dict) and r.json.get("content"):
            if message_id is None or r.path.endswith(f"/{message_id}"):
                out.append(r.json["content"])
    return out


async def test_streamed_answer_ends_with_full_text_and_sources(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> why does memory bandwidth matter for LLM speed?")

    replies = world.replies_to(sent.id)
    assert replies, "no answer"
    final = "\n\n".join(m.content for m in replies)
    assert "**Sources:**" in final and "›" in final
    assert "**Key facts from the sources:**" in final
    assert CURSOR not in final, "the final edit replaced the streaming text"
    assert replies[-1].components, "feedback buttons under the last message"
    for m in replies:
        assert len(m.content) <= render.MESSAGE_LIMIT

    streamed = [c for c in _sent_contents(world.env) if c.endswith(CURSOR)]
    assert streamed, "the text was shown while it was being generated"
    partial = streamed[-1].removesuffix(CURSOR).strip()
    assert final.startswith(partial), "the streamed text is the beginning of the final answer"


async def test_long_answer_is_split_into_followups(world, knowledge_service, monkeypatch):
    # more sections and more tokens than usual (the prompt must still fit n_ctx 2048)
    monkeypatch.setattr(knowledge_service.settings, "max_tokens", 300)
    monkeypatch.setattr(knowledge_service.settings, "top_k", 5)
    monkeypatch.setattr(knowledge_service.settings, "min_retrieval_score", 0.0)

    result = await world.alice.slash(
        world.channel, "ask", question="Explain everything about GPU memory bandwidth, quantization and offloading.")

    messages = [result.response, *result.followups]
    assert world.callback_types() == [5] and len(messages) >= 2, [len(m.content) for m in messages]
    assert all(0 < len(m.content) <= render.MESSAGE_LIMIT for m in messages)
    assert "**Sources:**" in "\n\n".join(m.content for m in messages)
    assert messages[-1].components and not messages[0].components, "buttons on the last piece only"
    assert not result.ephemeral


async def test_everyone_in_text_rigbot_did_not_write_pings_nobody(world, knowledge_service, tmp_path):
    """Answers carry text from elsewhere (generated prose, the key facts of the
    knowledge files); a knowledge file that says @everyone must not ping anyone."""
    import shutil

    from knowledge.sections import CONTENT_DIR

    runtime = await knowledge_service.knowledge()
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    (copy / "en" / "zz-announce.md").write_text(
        "# Announcements\n\n## Ping test for the zebra announcement {#zz-announce}\n"
        "@everyone @here <@&123456> the zebra announcement: every zebra owner must read this now.\n")
    old_dir, old_index = runtime.content_dir, runtime.index
    runtime.content_dir = copy
    try:
        await runtime.reload()
        sent = await world.alice.send(world.channel, f"<@{world.bot_id}> what is the zebra announcement?")
        replies = world.replies_to(sent.id)
        final = "\n".join(m.content for m in replies)
        # shown as typed, with a zero-width space that keeps it from being a mention at all
        assert "@\u200beveryone" in final and "zebra" in final and "<\u200b@&123456>" in final
        for message in replies:
            assert message.mention_everyone is False
            assert not message.ping_user_ids and not message.ping_role_ids
    finally:
        runtime.content_dir, runtime.index = old_dir, old_index
