"""Turning one question into Discord messages: rate limit, queue position, streaming
edits (throttled), the final answer split within Discord's limits, feedback buttons.

Two kinds of destination share one pipeline: a reply to a message (natural language)
and an interaction response (slash commands). Every send and edit passes
`allowed_mentions=NONE`, so neither a question nor generated text can ping anyone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

import discord

from bot.discord import render
from bot.discord.feedback import FeedbackView

if TYPE_CHECKING:
    from bot.answer import Answer
    from bot.service import RigBotService

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
EDIT_INTERVAL_S = 1.0  # at most about one streaming edit per second (Discord rate limits)


class RateLimiter:
    """Per-user sliding window: at most `per_minute` questions in any 60 s (0: no
    limit). Uses `time.monotonic()`, looked up at call time (simulated clocks apply)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = defaultdict(deque)

    def retry_after(self, user_id: int, per_minute: int) -> float | None:
        """None (and the question counted) when allowed; else seconds until allowed."""
        if per_minute <= 0:
            return None
        now = time.monotonic()
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if not seen:
            del self._seen[user_id]  # no memory kept for users who went quiet
            seen = self._seen[user_id]
        if len(seen) >= per_minute:
            return max(0.0, seen[0] + self.window_s - now)
        seen.append(now)
        return None


def uses_llm(question: str, max_chars: int) -> bool:
    """Whether the service will route this question to the local LLM (the costly
    path the rate limit protects). The router decides; this only asks it."""
    text = (question or "").strip()
    if not text or len(text) > max_chars:
        return False
    try:
        from bot.router import route
        from rules.catalog import default_catalog
        from rules.parser import parse

        return route(parse(text, default_catalog())) == "knowledge"
    except Exception:  # the service will report the problem; count it to be safe
        return True


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
    """Answers a message: the first message replies to it, follow-ups go below."""

    def __init__(self, message: discord.Message, preface: str | None = None) -> None:
        self.message = message
        self.preface = preface  # a line shown above the answer (what an attachment was read as)

    async def first(self, **kwargs) -> discord.Message:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if self.preface:
            kwargs["content"] = "\n\n".join(p for p in (self.preface, kwargs.get("content")) if p)
        try:
            return await self.message.reply(allowed_mentions=NO_MENTIONS, mention_author=False, **kwargs)
        except discord.HTTPException:  # the question was deleted meanwhile: post without the reference
            return await self.message.channel.send(allowed_mentions=NO_MENTIONS, **kwargs)

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


# one answer -----------------------------------------------------------------------
class AnswerStream:
    """Shows one question's progress: its queue position, the text as the model
    writes it (edited at most about once per second), then the final answer."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
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

    async def on_queue(self, ahead: int) -> None:
        try:
            await self._show(render.queued_text(ahead))
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
        view = FeedbackView(answer.log_id) if answer.log_id is not None else None
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


class Responder:
    """The one pipeline every way of asking goes through."""

    def __init__(self, service: RigBotService) -> None:
        self.service = service
        self.limiter = RateLimiter()

    def rate_limited(self, user_id: int, question: str) -> float | None:
        """Seconds to wait when this user asked the LLM too often (settings are read
        on every question, so a changed limit applies at once)."""
        settings = self.service.settings
        if not uses_llm(question, settings.max_question_chars):
            return None
        return self.limiter.retry_after(user_id, settings.rate_limit_per_minute)

    async def run(self, destination: Destination, question: str, *, user_id: int,
                  channel_id: int | None) -> Answer:
        stream = AnswerStream(destination)
        answer = await self.service.ask(
            question, user_id=str(user_id), channel_id=str(channel_id) if channel_id else None,
            on_token=stream.on_token, on_queue=stream.on_queue,
            allow_local_files=False,  # a chat user must not learn what is on the bot host's disk
        )
        await stream.finish(answer)
        return answer

    async def answer_interaction(self, interaction: discord.Interaction, question: str) -> Answer | None:
        retry = self.rate_limited(interaction.user.id, question)
        if retry is not None:
            await interaction.response.send_message(
                render.rate_limited_text(retry), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return None
        await interaction.response.defer(thinking=True)
        return await self.run(InteractionDestination(interaction), question,
                              user_id=interaction.user.id, channel_id=interaction.channel_id)

    async def answer_message(self, message: discord.Message, question: str,
                             preface: str | None = None) -> Answer | None:
        retry = self.rate_limited(message.author.id, question)
        if retry is not None:
            await message.reply(render.rate_limited_text(retry), allowed_mentions=NO_MENTIONS,
                                mention_author=False)
            return None
        return await self.run(ReplyDestination(message, preface), question,
                              user_id=message.author.id, channel_id=message.channel.id)
