"""Natural-language questions in Discord: mention, reply, DM, enabled channels, and
what the bot must ignore. discord.py runs for real against the simcord simulator."""

from __future__ import annotations

QUESTION = "can an RTX 3060 12GB run 13B 4-bit?"


def _is_rule_answer(message) -> bool:
    return bool(message.embeds) and "3060" in (message.embeds[0].get("title") or "")


async def test_mention_is_answered_without_the_mention(world, service):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> {QUESTION}")

    replies = world.replies_to(sent.id)
    assert len(replies) == 1 and _is_rule_answer(replies[0])
    assert replies[0].reference["message_id"] == str(sent.id)
    assert replies[0].ping_user_ids == []  # the reply does not ping the asker
    # the question the service received (and logged) no longer holds the mention
    custom_id = replies[0].components[0]["components"][0]["custom_id"]
    row = await service.store.get_answer(int(custom_id.rsplit(":", 1)[1]))
    assert row["question"] == QUESTION
    assert row["user_id"] == str(world.alice.id) and row["channel_id"] == str(world.channel.id)


async def test_plain_message_is_ignored(world):
    await world.alice.send(world.channel, QUESTION)
    assert world.stored() == []


async def test_reply_to_the_bot_is_answered(world):
    me = world.env.bot.user
    first = await world.alice.send(world.channel, f"<@{me.id}> {QUESTION}")
    answer = world.replies_to(first.id)[0]

    follow = await world.alice.send(world.channel, "and can an RTX 4090 run 70B 4-bit?", reply_to=world.message(answer))

    replies = world.replies_to(follow.id)
    assert replies and "4090" in replies[0].embeds[0]["title"]


async def test_reply_to_someone_else_is_ignored(world):
    other = await world.bob.send(world.channel, "my rig has a 3060")  # a discord.Message
    await world.alice.send(world.channel, QUESTION, reply_to=other)
    assert world.stored() == []


async def test_dm_is_answered(world):
    user = world.alice.user
    sent = await user.send_dm(QUESTION)
    replies = world.replies_to(sent.id, channel=user.dm_channel)
    assert replies and _is_rule_answer(replies[0])


async def test_enabled_channel_then_disabled(world, service):
    qa = world.guild.create_text_channel("llm-help")

    result = await world.admin.slash(qa, "rigbot channel enable")
    assert result.ephemeral and "every message" in result.response.content
    assert str(qa.id) in await service.store.enabled_channels()

    sent = await world.alice.send(qa, QUESTION)
    # one answer, not a loop: the bot ignores its own messages in an enabled channel
    assert len(world.replies_to(sent.id, channel=qa)) == 1, "an enabled channel answers without a mention"
    await world.alice.send(world.channel, QUESTION)
    assert world.stored() == [], "other channels stay quiet"

    result = await world.admin.slash(qa, "rigbot channel disable")
    assert result.ephemeral
    assert str(qa.id) not in await service.store.enabled_channels()
    before = len(world.stored(qa))
    await world.alice.send(qa, QUESTION)
    assert len(world.stored(qa)) == before


async def test_other_bots_are_ignored(world):
    helper = world.guild.add_member(world.env.create_user("otherbot", bot=True))
    me = world.env.bot.user
    await helper.send(world.channel, f"<@{me.id}> {QUESTION}")
    assert world.stored() == []


async def test_everyone_in_a_question_pings_nobody(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> @everyone @here {QUESTION} <@{world.bob.id}>")
    replies = world.replies_to(sent.id)
    assert replies
    for message in replies:
        assert message.mention_everyone is False
        assert message.ping_user_ids == [] and message.ping_role_ids == []
        policy = message.allowed_mentions
        assert not policy.everyone and not policy.replied_user
        assert not policy.users and not policy.roles


async def test_empty_mention_gets_help(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}>")
    replies = world.replies_to(sent.id)
    embed = replies[0].embeds[0]
    assert "Commands" in [f["name"] for f in embed["fields"]] and "/myrig set" in str(embed["fields"])
    assert not replies[0].components, "help has no 👍/👎"
