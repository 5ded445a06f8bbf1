"""How the bot is built and started: `create_bot` (intents, no mentions, sharding),
command sync to a development guild, and `run_bot`'s clear error without a token."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.discord import MissingToken, create_bot, run_bot


def test_create_bot_is_not_started_and_pings_nobody(settings):
    bot = create_bot(settings)
    assert isinstance(bot, discord.ext.commands.Bot) and not isinstance(bot, discord.AutoShardedClient)
    assert not bot.is_ready() and bot.user is None
    assert bot.intents.message_content and bot.intents.guilds and bot.intents.dm_messages
    none = bot.allowed_mentions
    assert none is not None and not none.everyone and not none.users and not none.roles
    assert not none.replied_user


def test_sharded_setting_gives_an_auto_sharded_bot(settings):
    bot = create_bot(settings.model_copy(update={"sharded": True}))
    assert isinstance(bot, discord.AutoShardedClient)


def test_run_bot_without_token_says_what_to_do(settings):
    with pytest.raises(MissingToken, match="DISCORD_TOKEN is not set"):
        run_bot(settings.model_copy(update={"discord_token": None}))


async def test_dev_guild_gets_the_commands_instantly(service):
    """RIGBOT_DEV_GUILD_ID: global commands copied to that guild and synced there."""
    settings = service.settings.model_copy(update={"dev_guild_id": 4242 << 22})
    env = simcord.Env(create_bot(settings, service))
    guild = env.create_guild("dev", id=settings.dev_guild_id)
    await env.start()
    try:
        channel = guild.create_text_channel("general")
        alice = guild.add_member(env.create_user("alice"))
        assert "canrun" in alice.available_commands(channel)
        assert env.backend.find_command("canrun", None, type=1) is None, "not synced globally"
        result = await alice.slash(channel, "ask", question="can an RTX 3060 12GB run 13B 4-bit?")
        assert result.response.embeds
    finally:
        await env.shutdown()


async def test_sync_can_be_skipped(service):
    """RIGBOT_SYNC_COMMANDS=0: a restart leaves the registered commands alone."""
    settings = service.settings.model_copy(update={"sync_commands": False})
    async with simcord.run(create_bot(settings, service), strict_sync=True) as env:
        assert not any(r.path.endswith("/commands") and r.method == "PUT" for r in env.http_requests)


async def test_sharded_bot_answers(service):
    settings = service.settings.model_copy(update={"sharded": True})
    bot = create_bot(settings, service, shard_count=2)
    async with simcord.run(bot) as env:
        guild = env.create_guild(shard_id=1)
        channel = guild.create_text_channel("general")
        alice = guild.add_member(env.create_user("alice"))
        result = await alice.slash(channel, "ask", question="can an RTX 3060 12GB run 13B 4-bit?")
        assert result.response.embeds
