"""Turning one question into Discord messages: rate limit (shared through the store), queue position, streaming
edits (throttled), the final answer split within Discord's limits, feedback buttons.

Two kinds of destination share one pipeline: a reply to a message (natural language)
and an interaction response (slash commands). Every send and edit passes
`allowed_mentions=NONE`, so neither a question nor generated text can ping anyone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import discord

from bot import smalltalk
from bot.discord import render
from bot.discord.feedback import FeedbackView
from bot.discord.markup import defuse
from rules.phrases import language_of, say

if TYPE_CHECKING:
    from bot.answer import Answer
    from bot.service import RigBotService

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
EDIT_INTERVAL_S = 1.0  # at most about one streaming edit per second (Discord rate limits)
DIRECT_REPLY_S = 1.5  # a slash command answered this soon is not deferred (Discord allows 3 s)


class RateLimiter:
    """Sliding windows over the store, so a limit holds across every bot process
    sharing it (0: no limit). Time is Discord's clock (`discord.utils.utcnow`): wall
    time, the same in every process (and the simulated one under simcord)."""

    def __init__(self, service: RigBotService, window_s: float = 60.0) -> None:
        self.service = service
        self.window_s = window_s

    async def hit(self, key: str, per_window: int) -> float | None:
        """None (and the hit counted) when allowed; else seconds until allowed."""
        if per_window <= 0 or self.service.store is None:
            return None
        try:
            return await self.service.store.hit_rate_limit(
                key, per_window, self.window_s, discord.utils.utcnow().timestamp())
        except Exception:  # the store is down: answer rather than refuse everyone
            log.exception("rate limit check failed; question allowed")
            return None

    async def retry_after(self, user_id: int, per_minute: int) -> float | None:
        """The user's model budget: at most `per_minute` generations in any 60 s."""
        return await self.hit(f"llm:{user_id}", per_minute)

    async def check(self, route: str, user_id: int, channel_id: int | None) -> tuple[str, float] | None:
        """After routing: a generation spends the user's model budget; a sizing answer
        costs no model time and is only bounded (per user, per channel) against floods;
        anything else (small talk, an empty question) is free. None when allowed, else
        (the phrase that says which limit, seconds until allowed)."""
        settings = self.service.settings
        if route == "knowledge":
            retry = await self.retry_after(user_id, settings.rate_limit_per_minute)
            return None if retry is None else ("discord_rate_limited", retry)
        if route == "rules":
            retry = await self.hit(f"sizing:{user_id}", settings.sizing_per_minute)
            if retry is not None:
                return "discord_sizing_limited", retry
            if channel_id is not None:
                retry = await self.hit(f"sizing-channel:{channel_id}", settings.channel_sizing_per_minute)
                if retry is not None:
                    return "discord_channel_limited", retry
        return None


# destinations ---------------------------------------------------------------------
class Destination:
    """Where an answer goes: `first` posts (or fills) the first message, `more`
    posts follow-ups, `edit` changes a message already posted."""

    async def first(self, **kwargs) -> discord.Message:
        raise NotImplementedError

    async def more(self, **kwargs) -> discord.Message:
        raise NotImplementedError

    async def edit(self, message: discord.Message, **kwargs) -> discord.Message:
        return await message.edit(allowed_mentions=NO_MENTIONS, **kwargs)


class ReplyDestination(Destination):
    """Answers a message: the first message replies to it, follow-ups go below. The
    preface (what an attachment was read as) stays above the first message's text
    through every edit of it."""

    def __init__(self, message: discord.Message, preface: str | None = None) -> None:
        self.message = message
        self.preface = defuse(preface) if preface else None  # it names the user's file
        self.first_id: int | None = None

    def _with_preface(self, kwargs: dict) -> dict:
        if self.preface:
            kwargs["content"] = "\n\n".join(p for p in (self.preface, kwargs.get("content")) if p)
        return kwargs

    async def first(self, **kwargs) -> discord.Message:
        kwargs = self._with_preface({k: v for k, v in kwargs.items() if v is not None})
        try:
            sent = await self.message.reply(allowed_mentions=NO_MENTIONS, mention_author=False, **kwargs)
        except discord.HTTPException:  # the question was deleted meanwhile: post without the reference
            sent = await self.message.channel.send(allowed_mentions=NO_MENTIONS, **kwargs)
        self.first_id = sent.id
        return sent

    async def edit(self, message: discord.Message, **kwargs) -> discord.Message:
        if message.id == self.first_id and "content" in kwargs:
            kwargs = self._with_preface(kwargs)
        return await message.edit(allowed_mentions=NO_MENTIONS, **kwargs)

    async def more(self, **kwargs) -> discord.Message:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return await self.message.channel.send(allowed_mentions=NO_MENTIONS, **kwargs)


class InteractionDestination(Destination):
    """Answers a deferred interaction: the first message replaces "thinking…"."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction

    async def first(self, **kwargs) -> discord.Message:
        kwargs.setdefault("content", None)
        if "embed" not in kwargs:
            kwargs.setdefault("embeds", [])
        if kwargs.get("view") is None:
            kwargs.pop("view", None)
        return await self.interaction.edit_original_response(allowed_mentions=NO_MENTIONS, **kwargs)

    async def more(self, **kwargs) -> discord.Message:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return await self.interaction.followup.send(allowed_mentions=NO_MENTIONS, wait=True, **kwargs)



class DirectInteractionDestination(InteractionDestination):
    """Answers an interaction without deferring it (the answer was ready at once), so
    an error can go to the asker alone: the ephemeral flag is only Discord's to take
    on the first response."""

    def __init__(self, interaction: discord.Interaction, ephemeral: bool) -> None:
        super().__init__(interaction)
        self.ephemeral = ephemeral

    async def first(self, **kwargs) -> discord.Message:
        kwargs = {k: v for k, v in kwargs.items() if v is not None and v != []}
        await self.interaction.response.send_message(allowed_mentions=NO_MENTIONS, ephemeral=self.ephemeral,
                                                     **kwargs)
        return await self.interaction.original_response()

    async def more(self, **kwargs) -> discord.Message:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return await self.interaction.followup.send(allowed_mentions=NO_MENTIONS, wait=True,
                                                    ephemeral=self.ephemeral, **kwargs)


# one answer -----------------------------------------------------------------------
class AnswerStream:
    """Shows one question's progress in one message: a placeholder at once (or
    Discord's "thinking…"), its queue position while nothing of the answer is shown,
    the text as the model writes it (edited at most about once per second), then the
    final answer in its place. A queue position never replaces text already shown."""

    def __init__(self, destination: Destination, lang: str = "en") -> None:
        self.destination = destination
        self.lang = lang
        self.message: discord.Message | None = None
        self.parts: list[str] = []
        self._last_edit = float("-inf")
        self._pending: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.edits = 0  # streaming edits made (for diagnostics)

    async def _show(self, text: str) -> None:
        async with self._lock:
            self._last_edit = time.perf_counter()
            if self.message is None:
                self.message = await self.destination.first(content=text)
            else:
                await self.destination.edit(self.message, content=text, embeds=[])
            self.edits += 1

    async def placeholder(self) -> None:
        """A message at once, before the model (or its first start) is ready."""
        try:
            await self._show(say(self.lang, "discord_thinking"))
        except discord.HTTPException:
            log.warning("could not post the placeholder", exc_info=True)

    async def on_queue(self, ahead: int) -> None:
        try:
            if self.parts:  # part of the answer is on screen: the position goes below it
                await self._show(render.streaming_text("".join(self.parts)) + "\n-# "
                                 + say(self.lang, "discord_queued_below", ahead=ahead))
            else:
                await self._show(render.queued_text(ahead, self.lang))
        except discord.HTTPException:
            log.warning("could not show the queue position", exc_info=True)

    def on_token(self, piece: str) -> None:
        """Sync on purpose: it only records the piece and, when a second has passed
        (or this is the first piece), schedules an edit; generation never waits on Discord."""
        first = not self.parts
        self.parts.append(piece)
        busy = self._pending is not None and not self._pending.done()
        if busy or (not first and time.perf_counter() - self._last_edit < EDIT_INTERVAL_S):
            return
        self._last_edit = time.perf_counter()
        self._pending = asyncio.get_running_loop().create_task(self._stream_edit())

    async def _stream_edit(self) -> None:
        try:
            await self._show(render.streaming_text("".join(self.parts)))
        except discord.HTTPException:
            log.warning("streaming edit failed", exc_info=True)

    async def finish(self, answer: Answer) -> list[discord.Message]:
        if self._pending is not None:
            with contextlib.suppress(Exception):
                await self._pending
        # feedback is for answers; a refusal or an error has nothing to rate
        view = FeedbackView(answer.log_id) if answer.log_id is not None and not answer.error else None
        if answer.route == "knowledge" or self.parts:
            payloads = [{"content": piece, "embeds": []}
                        for piece in render.split_text(render.knowledge_text(answer))]
        else:
            payloads = [{"embed": embed, "content": None} for embed in render.rule_embeds(answer)]
        if not payloads:
            payloads = [{"content": "(no answer)", "embeds": []}]
        payloads[-1]["view"] = view
        sent: list[discord.Message] = []
        async with self._lock:
            for i, payload in enumerate(payloads):
                if i == 0 and self.message is not None:
                    payload = dict(payload)
                    if "embed" in payload:
                        payload["embeds"] = [payload.pop("embed")]
                    if payload.get("view") is None:
                        payload.pop("view", None)
                    try:
                        self.message = await self.destination.edit(self.message, **payload) or self.message
                    except discord.NotFound:  # someone deleted the streaming message: post anew
                        self.message = await self.destination.more(**payload)
                    sent.append(self.message)
                elif i == 0:
                    self.message = await self.destination.first(**payload)
                    sent.append(self.message)
                else:
                    sent.append(await self.destination.more(**payload))
        return sent


def interaction_lang(interaction: discord.Interaction, text: str = "") -> str:
    """Chinese when the text is, or the user's Discord client is set to Chinese."""
    return "zh" if language_of(text) == "zh" or str(getattr(interaction, "locale", "")).startswith("zh") else "en"


class Responder:
    """The one pipeline every way of asking goes through: small talk answered without
    the model, the question routed (with its conversation), the matching limit
    checked, a placeholder or typing indicator at once, then the answer."""

    def __init__(self, service: RigBotService) -> None:
        self.service = service
        self.limiter = RateLimiter(service)

    async def rate_limited(self, user_id: int, question: str, channel_id: int | None = None,
                           conversation: tuple[str, str] | None = None, follow_up: bool = False) -> float | None:
        """Seconds to wait when this question, routed as `ask` would route it, is over a
        limit (settings are read on every question, so a changed limit applies at once)."""
        _, limited = await self.limit(user_id, question, channel_id, conversation, follow_up)
        return None if limited is None else limited[1]

    async def limit(self, user_id: int, question: str, channel_id: int | None,
                    conversation: tuple[str, str] | None,
                    follow_up: bool) -> tuple[str, tuple[str, float] | None]:
        """(the route `ask` will take, (phrase, seconds) when over that route's limit or None)."""
        route_ = await self.service.route_of(question, user_id=str(user_id), conversation=conversation,
                                             follow_up=follow_up)
        return route_, await self.limiter.check(route_, user_id, channel_id)

    async def run(self, destination: Destination, question: str, *, user_id: int,
                  channel_id: int | None, request_id: int | None = None, follow_up: bool = False,
                  guild_id: int | None = None, lang: str = "en", placeholder: bool = False,
                  edit_of: discord.Message | None = None) -> tuple[Answer, list[discord.Message]]:
        """The answer, and the messages that show it. `edit_of`: RigBot's earlier answer
        to this question (it was edited), replaced in place."""
        stream = AnswerStream(destination, lang)
        if edit_of is not None:
            stream.message = edit_of
            if isinstance(destination, ReplyDestination):
                destination.first_id = edit_of.id
        if placeholder:
            await stream.placeholder()
        answer = await self.service.ask(
            question, user_id=str(user_id), channel_id=str(channel_id) if channel_id else None,
            request_id=str(request_id) if request_id is not None else None,
            on_token=stream.on_token, on_queue=stream.on_queue,
            allow_local_files=False,  # a chat user must not learn what is on the bot host's disk
            conversation=conversation_of(channel_id, user_id), follow_up=follow_up,
            guild_id=str(guild_id) if guild_id else None,
        )
        sent = await stream.finish(answer)
        return answer, sent

    async def answer_interaction(self, interaction: discord.Interaction, question: str) -> Answer | None:
        lang = interaction_lang(interaction, question)
        if smalltalk.classify(question) in ("help", "greeting"):
            await interaction.response.send_message(embed=render.help_embed(lang), ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return None
        route_, limited = await self.limit(interaction.user.id, question, interaction.channel_id,
                                           conversation_of(interaction.channel_id, interaction.user.id), False)
        if limited is not None:  # only the asker sees it
            key, retry = limited
            await interaction.response.send_message(render.rate_limited_text(retry, lang, key), ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return None
        stream = AnswerStream(InteractionDestination(interaction), lang)
        if route_ == "knowledge":  # generated: Discord's own placeholder at once, then the stream
            await interaction.response.defer(thinking=True)
        asking = asyncio.ensure_future(self.service.ask(
            question, user_id=str(interaction.user.id), channel_id=str(interaction.channel_id),
            request_id=str(interaction.id), on_token=stream.on_token, on_queue=stream.on_queue,
            allow_local_files=False, conversation=conversation_of(interaction.channel_id, interaction.user.id),
            follow_up=False, guild_id=str(interaction.guild_id) if interaction.guild_id else None))
        if route_ != "knowledge":  # a sizing answer is usually ready well within Discord's 3 s
            await asyncio.wait({asking}, timeout=DIRECT_REPLY_S)
            if asking.done():  # an error is then shown to the asker alone (and without 👍/👎)
                stream.destination = DirectInteractionDestination(interaction, ephemeral=bool(asking.result().error))
            else:
                await interaction.response.defer(thinking=True)  # Discord's own placeholder
        answer = await asking
        await stream.finish(answer)
        return answer

    async def answer_message(self, message: discord.Message, question: str, preface: str | None = None,
                             follow_up: bool = False,
                             edit_of: discord.Message | None = None) -> discord.Message | None:
        """RigBot's answer (its first message), or None when refused by a limit."""
        lang = language_of(question)
        conversation = conversation_of(message.channel.id, message.author.id)
        route_, limited = await self.limit(message.author.id, question, message.channel.id, conversation,
                                           follow_up)
        if limited is not None:
            key, retry = limited
            await self._refuse_message(message, key, retry, lang)
            return None
        slow = route_ == "knowledge"
        if not slow:  # a sizing answer takes about a second: the typing indicator says I'm on it
            with contextlib.suppress(discord.HTTPException):
                await message.channel.typing()
        _, sent = await self.run(ReplyDestination(message, preface), question,
                                 user_id=message.author.id, channel_id=message.channel.id,
                                 # an edit is a new request: the first answer's row stays as it was
                                 request_id=None if edit_of is not None else message.id,
                                 follow_up=follow_up, guild_id=message.guild.id if message.guild else None,
                                 lang=lang, placeholder=slow and edit_of is None, edit_of=edit_of)
        return sent[0] if sent else None

    async def _refuse_message(self, message: discord.Message, key: str, retry: float, lang: str) -> None:
        """A limited message: a ⏳ reaction on it, and one notice per user per window
        (not one per message: a flood must not double the channel's traffic)."""
        with contextlib.suppress(discord.HTTPException):
            await message.add_reaction(LIMITED_REACTION)
        if await self.limiter.hit(f"notice:{message.author.id}", 1) is None:
            notice = render.rate_limited_text(retry, lang, "discord_rate_limited_notice"
                                              if key == "discord_rate_limited" else key)
            with contextlib.suppress(discord.HTTPException):
                await message.reply(notice, allowed_mentions=NO_MENTIONS, mention_author=False)


LIMITED_REACTION = "⏳"


def conversation_of(channel_id: int | None, user_id: int) -> tuple[str, str]:
    return f"discord:{channel_id}", str(user_id)
