"""A busy channel (issue 24): limits counted after routing (only generations spend a
user's model budget; sizing is bounded per user and channel; follow-ups and small talk
are free), limit notices that do not flood the channel, help and small talk without
the model, a placeholder at once and a queue position that never replaces a shown
answer, follow-ups by mention, in threads and by editing, in English and Chinese.

The knowledge path is replaced by a stub that answers at once (it is the routing and
the Discord side under test here; the real model is in test_discord_load.py)."""

from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.discord import render

KNOWLEDGE_Q = "why does memory bandwidth matter for LLM speed?"
KNOWLEDGE_ZH = "为什么内存带宽对大模型速度很重要？"
SIZING_Q = "can an RTX 3060 12GB run 13B 4-bit?"


@pytest.fixture
def generated(service, monkeypatch):
    """Knowledge answers from a stub; `generated.calls` counts generations,
    `generated.script(on_token, on_queue)` may stream or queue first."""

    class Stub:
        calls = 0
        script = None

    async def fake(question, query, on_token, on_queue, cancel, previous_turn=None):
        Stub.calls += 1
        if Stub.script is not None:
            await Stub.script(on_token, on_queue)
        return Answer(question=question, route="knowledge", intent="explain",
                      answer=f"Generated answer {Stub.calls}.")

    monkeypatch.setattr(service, "_knowledge_answer", fake)
    return Stub


def _bot_messages(world, channel=None):
    return world.stored(channel)


def _reactions(world, message_id, channel=None):
    channel = channel or world.channel
    stored = world.env.backend.messages[channel.id][message_id]
    return {r.emoji for r in stored.reactions if world.bot_id in r.user_ids}


# limits after routing --------------------------------------------------------------
async def test_follow_ups_small_talk_and_sizing_spend_no_model_budget(world, service, generated):
    service.settings.rate_limit_per_minute = 2
    me = world.env.bot.user
    first = await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    answer = world.replies_to(first.id)[0]
    for text in ("and at 32k context?", "and with 8-bit?"):
        follow = await world.alice.send(world.channel, text, reply_to=world.message(answer))
        assert world.replies_to(follow.id)[0].embeds, "a follow-up is a sizing answer"
    for text in ("thanks!", "hi", "lol nice", "what can you do?"):
        await world.alice.send(world.channel, f"<@{me.id}> {text}")
    for _ in range(2):
        sent = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
        assert "Generated answer" in world.replies_to(sent.id)[0].content
    assert generated.calls == 2

    refused = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    assert generated.calls == 2
    assert "⏳" in _reactions(world, refused.id)
    notice = world.replies_to(refused.id)
    assert len(notice) == 1 and "asking the model fast" in notice[0].content and not notice[0].components
    again = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    assert "⏳" in _reactions(world, again.id) and world.replies_to(again.id) == [], "one notice, not one each"
    sizing = await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    assert world.replies_to(sizing.id)[0].embeds, "sizing still answers while the model budget is spent"


async def test_thirty_questions_make_six_answers_and_one_notice(world, service, generated):
    me = world.env.bot.user
    for _ in range(30):
        await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    assert generated.calls == 6
    assert len(_bot_messages(world)) == 7, [m.content[:40] for m in _bot_messages(world)]


async def test_sizing_answers_are_bounded_per_user(world, service):
    service.settings.sizing_per_minute = 3
    me = world.env.bot.user
    for _ in range(3):
        sent = await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
        assert world.replies_to(sent.id)[0].embeds
    over = await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    assert "⏳" in _reactions(world, over.id)
    assert "sizing questions" in world.replies_to(over.id)[0].content
    other = await world.bob.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    assert world.replies_to(other.id)[0].embeds, "another user is not limited"


async def test_sizing_answers_are_bounded_per_channel(world, service):
    service.settings.channel_sizing_per_minute = 2
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    await world.bob.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    over = await world.admin.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    assert "This channel is asking faster" in world.replies_to(over.id)[0].content


async def test_slash_limits_are_ephemeral_and_in_the_question_language(world, service, generated):
    service.settings.rate_limit_per_minute = 1
    await world.alice.slash(world.channel, "ask", question=KNOWLEDGE_ZH)
    refused = await world.alice.slash(world.channel, "ask", question=KNOWLEDGE_ZH)
    assert refused.ephemeral and "秒后再试" in refused.response.content
    english = await world.alice.slash(world.channel, "ask", question=KNOWLEDGE_Q)
    assert english.ephemeral and "asking the model fast" in english.response.content
    sizing = await world.alice.slash(world.channel, "ask", question=SIZING_Q)
    assert sizing.response.embeds, "sizing answers do not spend the model budget"


# help and small talk ---------------------------------------------------------------
@pytest.fixture
async def enabled(world, service):
    channel = world.guild.create_text_channel("llm-help")
    await service.store.set_channel(str(channel.id), str(world.guild.id), True, str(world.admin.id))
    await world.env.bot.refresh_enabled_channels(force=True)
    return channel


@pytest.mark.parametrize("text", ["help", "hi", "what can you do?", "Hello RigBot!"])
async def test_help_embed_for_help_and_greetings(world, enabled, text):
    sent = await world.alice.send(enabled, text)
    replies = world.replies_to(sent.id, channel=enabled)
    assert len(replies) == 1 and replies[0].embeds
    embed = replies[0].embeds[0]
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Commands", "Try asking", "Save your rig"]
    assert "/myrig set" in embed["fields"][2]["value"] and "/canrun" in embed["fields"][0]["value"]
    assert not replies[0].components, "no 👍/👎 under help"


async def test_help_in_chinese(world, enabled):
    sent = await world.alice.send(enabled, "你好")
    embed = world.replies_to(sent.id, channel=enabled)[0].embeds[0]
    assert [f["name"] for f in embed["fields"]] == ["命令", "可以这样问", "保存你的配置"]
    assert "3060" in embed["fields"][1]["value"] and "吗" in embed["fields"][1]["value"]


@pytest.mark.parametrize("text", ["lol nice", "thanks!", "ok", "哈哈", "I think so too"])
async def test_chatter_in_an_enabled_channel_gets_no_reply(world, enabled, generated, text):
    await world.alice.send(enabled, text)
    assert world.stored(enabled) == [] and generated.calls == 0


async def test_chatter_to_the_bot_gets_a_reaction_not_a_message(world, generated):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> thanks!")
    assert world.stored() == [] and "👍" in _reactions(world, sent.id) and generated.calls == 0


async def test_help_examples_are_answered_as_their_kind(service):
    from rules.phrases import say

    for lang in ("en", "zh"):
        examples = [line.lstrip("• ") for line in say(lang, "discord_help_examples").splitlines()]
        routes = [await service.route_of(q) for q in examples]
        assert routes == ["rules", "rules", "knowledge"], (lang, examples, routes)


# never silent, never jumpy ---------------------------------------------------------
async def test_a_placeholder_at_once_then_the_answer_in_its_place(world, generated):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    replies = world.replies_to(sent.id)
    assert len(replies) == 1 and "Generated answer" in replies[0].content
    posts = [r for r in world.env.http_requests if r.method == "POST" and r.path.endswith("/messages")]
    assert "Looking that up" in posts[0].json["content"], "the placeholder came first"


async def test_sizing_shows_typing_at_once(world):
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    paths = [r.path for r in world.env.http_requests if r.method == "POST"]
    assert paths[0].endswith("/typing") and paths[1].endswith("/messages")


async def test_queue_position_edits_the_placeholder_never_a_shown_answer(world, generated):
    shown = []

    async def queued_then_streamed(on_token, on_queue):
        await on_queue(2)
        on_token("The opening sentence of the answer.")
        await __import__("asyncio").sleep(0)
        await on_queue(1)
        shown.append(1)

    generated.script = queued_then_streamed
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_Q}")
    replies = world.replies_to(sent.id)
    assert len(replies) == 1 and "Generated answer" in replies[0].content
    contents = [r.json.get("content") for r in world.env.http_requests
                if r.method in ("POST", "PATCH") and isinstance(r.json, dict) and r.json.get("content")]
    assert any(c == render.queued_text(2) for c in contents), "the position edited the placeholder"
    after = contents[[i for i, c in enumerate(contents) if "opening sentence" in c][0]:]
    assert all(c != render.queued_text(1) for c in after), "a position never replaced shown text"


async def test_error_answers_carry_no_feedback_buttons(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 9999 run llama 3 8b?")
    reply = world.replies_to(sent.id)[0]
    assert reply.embeds and not reply.components


# conversation ----------------------------------------------------------------------
async def test_a_mention_soon_after_an_answer_follows_up(world):
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    follow = await world.alice.send(world.channel, f"<@{me.id}> and at 8k context?")
    embed = world.replies_to(follow.id)[0].embeds[0]
    assert "3060" in embed["title"] and "8,192" in embed["description"]


async def test_a_mention_long_after_starts_afresh(world, service, generated):
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    # an hour ago (the conversation's time is the store's wall clock)
    await service.store.db.execute("UPDATE conversations SET updated_at = updated_at - 3600")
    follow = await world.alice.send(world.channel, f"<@{me.id}> and at 8k context?")
    reply = world.replies_to(follow.id)[0]
    assert "Generated answer" in reply.content and not reply.embeds, "a new question, not the 3060's follow-up"


async def test_plain_messages_in_a_thread_follow_up(world):
    import simcord

    backend = world.env.backend
    raw = backend.create_thread(world.channel.id, "my rig", world.alice.id)
    world.env._mark_mutation()
    await world.env.settle()
    thread = next(t for t in world.channel.threads if t.id == raw.id)
    assert isinstance(thread, simcord.builders.ChannelHandle) or thread
    me = world.env.bot.user
    await world.alice.send(thread, f"<@{me.id}> {SIZING_Q}")
    follow = await world.alice.send(thread, "and at 8k context?")
    replies = world.replies_to(follow.id, channel=thread)
    assert replies and "8,192" in replies[0].embeds[0]["description"]
    await world.bob.send(thread, "nice, same card here")
    await world.bob.send(thread, "and at 32k context?")
    assert len(world.stored(thread)) == 2, "bob was not answered in that thread: it was alice's conversation"


async def test_an_edited_question_is_answered_again_in_place(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 3060 12GB run 70B 4-bit?")
    before = world.replies_to(sent.id)
    assert len(before) == 1
    await world.alice.edit(sent, f"<@{me.id}> can an RTX 4090 run 70B 4-bit?")
    after = world.replies_to(sent.id)
    assert len(after) == 1 and after[0].id == before[0].id, "the old answer was edited, not a new one posted"
    assert "4090" in after[0].embeds[0]["title"]


async def test_a_slash_command_error_is_shown_only_to_the_asker(world):
    result = await world.alice.slash(world.channel, "ask", question="can an RTX 9999 run llama 3 8b?")
    shown = result.response
    assert world.callback_types() == [4], "answered at once, not deferred in public"
    assert result.ephemeral and shown.embeds and "RTX 9999" in shown.embeds[0].description.upper()
    assert not shown.components, "no 👍/👎 under an error"
    assert not [m for m in world.stored() if m.embeds and not m.flags & 64], "nothing public in the channel"


# the question's language -----------------------------------------------------------
async def test_notices_placeholder_and_queue_in_chinese_for_a_chinese_question(world, service, generated):
    async def queued(on_token, on_queue):
        await on_queue(1)

    generated.script = queued
    service.settings.rate_limit_per_minute = 1
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_ZH}")
    contents = [r.json.get("content") for r in world.env.http_requests
                if r.method in ("POST", "PATCH") and isinstance(r.json, dict) and r.json.get("content")]
    assert any(c.startswith("正在查找") for c in contents), "the placeholder"
    assert render.queued_text(1, "zh") in contents and "前面还有 1 个问题" in render.queued_text(1, "zh")
    refused = await world.alice.send(world.channel, f"<@{me.id}> {KNOWLEDGE_ZH}")
    assert "秒后再试" in world.replies_to(refused.id)[0].content


async def test_attachment_refusal_in_chinese(world, service):
    service.settings.max_paste_chars = 10
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> 为什么这么慢？", attachments=[("server.log", b"x" * 100)])
    assert "字节" in world.replies_to(sent.id)[0].content
