"""Natural-language questions: answered when the bot is mentioned, when a message
replies to one of its messages, in DMs, and in channels an administrator enabled."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.paste import is_text_attachment, too_large, with_attachment
from rules.catalog import default_catalog
from rules.gguf_file import attachment_question
from rules.phrases import language_of

if TYPE_CHECKING:
    from bot.discord.client import RigBotClient

log = logging.getLogger(__name__)


class NaturalLanguage(commands.Cog):
    def __init__(self, bot: RigBotClient) -> None:
        self.bot = bot

    def _mentioned(self, message: discord.Message) -> bool:
        me = self.bot.user
        if me is None:
            return False
        if me.id in message.raw_mentions:  # not `mentioned_in`: that is true for @everyone
            return True
        role = message.guild.self_role if message.guild is not None else None
        return role is not None and role.id in message.raw_role_mentions

    async def _replies_to_me(self, message: discord.Message) -> bool:
        ref = message.reference
        if ref is None or ref.message_id is None or self.bot.user is None:
            return False
        target = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
        if target is None and ref.resolved is None and ref.channel_id == message.channel.id:
            try:
                target = await message.channel.fetch_message(ref.message_id)
            except discord.HTTPException:
                return False
        return target is not None and target.author.id == self.bot.user.id

    def _in_enabled_channel(self, message: discord.Message) -> bool:
        ids = {message.channel.id, getattr(message.channel, "parent_id", None)}
        return any(i is not None and str(i) in self.bot.enabled_channels for i in ids)

    def question_from(self, message: discord.Message) -> str:
        """The message text without the bot's own mention (user or managed role)."""
        text = message.content
        if self.bot.user is not None:
            text = re.sub(rf"<@!?{self.bot.user.id}>", " ", text)
        role = message.guild.self_role if message.guild is not None else None
        if role is not None:
            text = text.replace(f"<@&{role.id}>", " ")
        return re.sub(r"[ \t]+", " ", text).strip(" \t,:")

    async def _with_text_file(self, question: str, attachment: discord.Attachment) -> tuple[str, str | None]:
        limit = self.bot.service.settings.max_paste_chars
        if attachment.size > limit:  # refused before downloading
            return question, too_large(attachment.filename, attachment.size, limit)
        try:
            data = await attachment.read()
        except discord.HTTPException:
            log.warning("could not download attachment %s", attachment.filename)
            return question, None
        return with_attachment(question, attachment.filename, data, limit)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return  # other bots and webhooks, and ourselves
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        await self.bot.refresh_enabled_channels()  # another bot process may have changed them
        replying = await self._replies_to_me(message)
        addressed = (
            message.guild is None
            or self._mentioned(message)
            or self._in_enabled_channel(message)
            or replying
        )
        # a reply to RigBot, a thread or a DM continues the conversation ("and at 32k?")
        continues = replying or message.guild is None or isinstance(message.channel, discord.Thread)
        if not addressed:
            return
        question = self.question_from(message)
        gguf = next((a.filename for a in message.attachments if a.filename.lower().endswith(".gguf")), None)
        text_file = next((a for a in message.attachments if is_text_attachment(a.filename)), None)
        if not question and gguf is None and text_file is None and message.guild is not None \
                and not self._mentioned(message):
            return  # an image or sticker in an enabled channel: nothing to answer
        preface = None
        if gguf is not None:  # sized by its file name; the file itself is never downloaded
            question, preface = attachment_question(question, gguf, default_catalog(), language_of(question))
        elif text_file is not None:  # a log too long for a message (2000 characters): read, within a size limit
            question, problem = await self._with_text_file(question, text_file)
            if problem:  # refused (too large, not text): said, and the words alone are not answered as if it were read
                await message.reply(problem, allowed_mentions=discord.AllowedMentions.none(), mention_author=False)
                return
        try:
            await self.bot.responder.answer_message(message, question, preface=preface, follow_up=continues)
        except discord.HTTPException:
            log.exception("could not answer message %s in channel %s", message.id, message.channel.id)
