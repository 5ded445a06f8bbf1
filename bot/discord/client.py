"""The discord.py bot: built by `create_bot`, started by `run_bot`.

Slash commands are synced on start when `settings.sync_commands` is true (the
default): to the development guild only when `RIGBOT_DEV_GUILD_ID` is set (instant),
else globally (Discord may take up to an hour to show changes everywhere). Deploy
with `RIGBOT_SYNC_COMMANDS=0` to skip the sync on routine restarts, and force one
after changing commands with `RIGBOT_SYNC_COMMANDS=1 python -m bot run`."""

from __future__ import annotations

import asyncio
import logging
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.feedback import FeedbackButton
from bot.discord.responder import NO_MENTIONS, Responder
from bot.service import RigBotService
from bot.settings import Settings

log = logging.getLogger(__name__)

ENABLED_CHANNELS_TTL_S = 10.0  # how soon a channel enabled in another bot process is seen
WARM_UP_DELAY_S = 2.0  # after READY, before the knowledge runtime starts loading


def intents() -> discord.Intents:
    value = discord.Intents.default()
    value.message_content = True  # privileged: enable "Message Content Intent" in the developer portal
    return value


class RigBotTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("command %s failed", interaction.command and interaction.command.qualified_name,
                  exc_info=error)
        from bot.discord.responder import interaction_lang
        from rules.phrases import say

        text = say(interaction_lang(interaction), "discord_error")
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            pass


class _RigBotMixin:
    """Everything RigBot adds to discord.py's bot, for both the plain and the
    auto-sharded base class."""

    settings: Settings
    service: RigBotService
    responder: Responder
    enabled_channels: set[str]

    def _init_rigbot(self, settings: Settings, service: RigBotService | None) -> None:
        self.settings = settings
        self._owns_service = service is None
        self.service = service or RigBotService(settings)
        self.responder = Responder(self.service)
        self.enabled_channels = set()
        self._enabled_read_at = float("-inf")
        self._background: set[asyncio.Task] = set()

    def run_in_background(self, coro) -> asyncio.Task:
        """A task the bot keeps a reference to (so it is not garbage-collected) and
        cancels on close."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def setup_hook(self) -> None:
        from bot.discord.commands import RigBotCommands
        from bot.discord.messages import NaturalLanguage

        if self.service.store is None:
            await self.service.start(probe=True)  # opens SQLite, records the host hardware
        if self._owns_service:
            # warm start: embedding model, index and model server load in the background
            # once connected, so the first knowledge question does not pay for them
            from knowledge.llm_server import start_detached  # light: stdlib only

            start_detached(self._warm_up_when_connected, "rigbot warm start when connected")
        await self.refresh_enabled_channels(force=True)
        await self.add_cog(RigBotCommands(self))
        await self.add_cog(NaturalLanguage(self))
        from bot.discord.reports import ReportCommands

        await self.add_cog(ReportCommands(self))
        self.add_dynamic_items(FeedbackButton)  # 👍/👎 of any answer, also from before a restart
        from bot.discord.commands import PhraseTranslator

        await self.tree.set_translator(PhraseTranslator())  # Chinese descriptions for Chinese clients
        if self.settings.sync_commands:
            await self.sync_commands()

    async def _warm_up_when_connected(self) -> None:
        # importing torch holds the GIL for seconds at a time: let the gateway handshake
        # finish first
        await self.wait_until_ready()
        await asyncio.sleep(WARM_UP_DELAY_S)
        if not self.is_closed():
            self.service.warm_up()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Guild sync (instant) when RIGBOT_DEV_GUILD_ID is set, else global."""
        try:
            if self.settings.dev_guild_id:
                guild = discord.Object(id=self.settings.dev_guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), self.settings.dev_guild_id)
            else:
                synced = await self.tree.sync()
                log.info("synced %d global commands", len(synced))
            return synced
        except discord.HTTPException:
            log.exception("command sync failed; the previously synced commands stay in place")
            return []

    async def set_channel_enabled(self, channel_id: int, guild_id: int | None, enabled: bool, by: int) -> None:
        await self.service.store.set_channel(str(channel_id), str(guild_id) if guild_id else None,
                                             enabled, str(by))
        await self.refresh_enabled_channels(force=True)

    async def refresh_enabled_channels(self, force: bool = False) -> set[str]:
        """The enabled channels, read again from the store at most every
        ENABLED_CHANNELS_TTL_S: another bot process may have changed them."""
        now = time.monotonic()
        if force or now - self._enabled_read_at >= ENABLED_CHANNELS_TTL_S:
            self.enabled_channels = await self.service.store.enabled_channels()
            self._enabled_read_at = now
        return self.enabled_channels

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions are handled by the NaturalLanguage cog."""

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await super().close()  # type: ignore[misc]
        if self._owns_service:
            await self.service.close()


class RigBotClient(_RigBotMixin, commands.Bot):
    def __init__(self, settings: Settings, service: RigBotService | None = None) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(),
                         allowed_mentions=NO_MENTIONS, help_command=None, tree_cls=RigBotTree)
        self._init_rigbot(settings, service)


class ShardedRigBotClient(_RigBotMixin, commands.AutoShardedBot):
    def __init__(self, settings: Settings, service: RigBotService | None = None, **kwargs) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(),
                         allowed_mentions=NO_MENTIONS, help_command=None, tree_cls=RigBotTree,
                         **kwargs)
        self._init_rigbot(settings, service)


def create_bot(settings: Settings | None = None, service: RigBotService | None = None,
               **kwargs) -> commands.Bot:
    """The RigBot Discord bot, not yet started. With no `service`, it makes one and
    closes it with the bot; a given service (already started or not) stays the
    caller's. `settings.sharded` (or RIGBOT_SHARD_IDS / RIGBOT_SHARD_COUNT, to split
    shards between processes) gives an `AutoShardedBot`; extra keyword arguments go to it."""
    settings = settings or (service.settings if service is not None else Settings())
    if settings.sharded or settings.shard_ids is not None or settings.shard_count is not None:
        if settings.shard_count is not None:
            kwargs.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            kwargs.setdefault("shard_ids", settings.shard_ids)
        return ShardedRigBotClient(settings, service, **kwargs)
    return RigBotClient(settings, service)


class MissingToken(RuntimeError):
    pass


def run_bot(settings: Settings | None = None) -> None:
    """Connect to Discord and serve until stopped (blocking)."""
    settings = settings or Settings()
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise MissingToken("DISCORD_TOKEN is not set: create a bot in the Discord developer portal, "
                           "put its token in DISCORD_TOKEN (environment or .env), and try again.")
    bot = create_bot(settings)
    try:
        bot.run(settings.discord_token.get_secret_value().strip(), log_level=logging.INFO)
    except discord.LoginFailure as exc:
        raise MissingToken("Discord rejected DISCORD_TOKEN (improper token); check it in the "
                           "developer portal, Bot tab.") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise MissingToken("Enable the Message Content Intent for this bot in the Discord developer "
                           "portal (Bot tab, Privileged Gateway Intents).") from exc
