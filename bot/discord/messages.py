"""Natural-language questions: answered when the bot is mentioned, when a message
replies to one of its messages, in DMs, in channels an administrator enabled (only
what asks something: chatter there gets no reply), and in a thread soon after RigBot
answered the same user there. Help and greetings get the help embed; an edited
question is answered again in the same answer message."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import smalltalk
from bot.discord import render
from bot.discord.markup import defuse
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
        self.answers: dict[int, discord.Message] = {}  # question id -> the answer's first message

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

    async def _with_text_files(self, question: str, attachments: list[discord.Attachment],
                               lang: str) -> tuple[str, str | None]:
        """The question with every attached text file after it (an `nvidia-smi.txt` beside
        a `server.log`: both are read), within one size limit for all of them."""
        limit = self.bot.service.settings.max_paste_chars
        total = sum(a.size for a in attachments)
        if total > limit:  # refused before downloading
            name = ", ".join(a.filename for a in attachments)
            return question, too_large(name, total, limit, lang)
        for attachment in attachments:
            try:
                data = await attachment.read()
            except discord.HTTPException:
                log.warning("could not download attachment %s", attachment.filename)
                continue
            question, problem = with_attachment(question, attachment.filename, data, limit, lang)
            if problem:
                return question, problem
        return question, None

    async def _recent_turn(self, message: discord.Message) -> bool:
        """Whether RigBot answered this user in this channel (or thread) within
        FOLLOW_UP_WINDOW_S: then a mention, or a plain message in a thread, may follow up."""
        store = self.bot.service.store
        if store is None:
            return False
        try:
            at = await store.conversation_updated_at(f"discord:{message.channel.id}", str(message.author.id))
        except Exception:
            log.exception("could not read the conversation's age")
            return False
        # the store's clock (the state's time is written with time.time(), not Discord's)
        return at is not None and time.time() - at <= FOLLOW_UP_WINDOW_S

    async def _reply_help(self, message: discord.Message, lang: str) -> None:
        await message.reply(embed=render.help_embed(lang), allowed_mentions=discord.AllowedMentions.none(),
                            mention_author=False)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self.handle(message)

    @commands.Cog.listener()
    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """An edited question is answered again: the old answer is edited in place."""
        if before.content == after.content:
            return  # an embed unfurled, a pin: not an edit of the question
        previous = self.answers.get(after.id)
        if previous is None:
            return
        await self.handle(after, edit_of=previous)

    async def handle(self, message: discord.Message, edit_of: discord.Message | None = None) -> None:
        if message.author.bot or message.webhook_id is not None:
            return  # other bots and webhooks, and ourselves
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        await self.bot.refresh_enabled_channels()  # another bot process may have changed them
        replying = await self._replies_to_me(message)
        mentioned = self._mentioned(message)
        in_thread = isinstance(message.channel, discord.Thread)
        direct = message.guild is None or mentioned or replying
        recent = (mentioned or in_thread) and not replying and await self._recent_turn(message)
        enabled = self._in_enabled_channel(message)
        if not (direct or enabled or (in_thread and recent)):
            return
        # a reply to RigBot, a DM, or a mention or thread message soon after RigBot's answer to
        # the same user continues the conversation ("and at 32k?")
        continues = replying or message.guild is None or recent
        question = self.question_from(message)
        lang = language_of(question)
        gguf = next((a.filename for a in message.attachments if a.filename.lower().endswith(".gguf")), None)
        text_files = [a for a in message.attachments if is_text_attachment(a.filename)]
        if gguf is None and not text_files:
            kind = smalltalk.classify(question)
            if kind in ("help", "greeting"):
                if message.attachments and not question and not direct:
                    return  # an image or sticker in an enabled channel: nothing to answer
                await self._reply_help(message, lang)
                return
            if kind in ("thanks", "chatter"):
                if direct:  # acknowledged without a message
                    with contextlib.suppress(discord.HTTPException):
                        await message.add_reaction(ACK_REACTION)
                return  # chatter in an enabled channel gets nothing
            if not direct and not (in_thread and recent) and not smalltalk.looks_like_question(question):
                route = await self.bot.service.route_of(question, user_id=str(message.author.id))
                if route != "rules":  # "I think so too": not a question; sizing words without "?" are
                    return
        preface = None
        if gguf is not None:  # sized by its file name; the file itself is never downloaded
            question, preface = attachment_question(question, gguf, default_catalog(), language_of(question))
        elif text_files:  # a log too long for a message (2000 characters): read, within a size limit
            question, problem = await self._with_text_files(question, text_files, lang)
            if problem:  # refused (too large, not text): said, and the words alone are not answered as if it were read
                await message.reply(defuse(problem), allowed_mentions=discord.AllowedMentions.none(),
                                    mention_author=False)
                return
        try:
            shown = await self.bot.responder.answer_message(message, question, preface=preface,
                                                            follow_up=continues, edit_of=edit_of)
        except discord.HTTPException:
            log.exception("could not answer message %s in channel %s", message.id, message.channel.id)
            return
        if shown is not None:
            self.answers[message.id] = shown
            while len(self.answers) > MAX_REMEMBERED_ANSWERS:
                self.answers.pop(next(iter(self.answers)))


ACK_REACTION = "👍"
FOLLOW_UP_WINDOW_S = 5 * 60.0  # a mention or thread message this soon after RigBot's answer may follow up
MAX_REMEMBERED_ANSWERS = 1000  # question id -> RigBot's answer message, for edits of the question
