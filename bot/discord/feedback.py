"""👍/👎 under every answer. Stateless and persistent: the button's custom_id carries
the answer's log id (`rigbot:fb:up:<log_id>`), so a click is handled after a restart
without any stored view, and the vote lands in SQLite via `store.set_feedback`."""

from __future__ import annotations

import logging
import re

import discord

log = logging.getLogger(__name__)

CUSTOM_ID = "rigbot:fb:{kind}:{log_id}"
VALUES = {"up": 1, "down": -1}


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"rigbot:fb:(?P<kind>up|down):(?P<log_id>\d+)"):
    def __init__(self, kind: str, log_id: int) -> None:
        super().__init__(discord.ui.Button(
            style=discord.ButtonStyle.secondary,
            emoji="👍" if kind == "up" else "👎",
            custom_id=CUSTOM_ID.format(kind=kind, log_id=log_id),
        ))
        self.kind = kind
        self.log_id = log_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> FeedbackButton:
        return cls(match["kind"], int(match["log_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        service = getattr(interaction.client, "service", None)
        stored = False
        if service is not None and service.store is not None:
            stored = await service.store.set_feedback(self.log_id, VALUES[self.kind], str(interaction.user.id))
        from bot.discord.responder import interaction_lang
        from rules.phrases import say

        lang = interaction_lang(interaction)
        key = ("discord_feedback_up" if self.kind == "up" else "discord_feedback_down") if stored \
            else "discord_feedback_gone"
        text = say(lang, key)
        await interaction.response.send_message(text, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())


class FeedbackView(discord.ui.View):
    """The two buttons for one answer. `timeout=None`: they work as long as the
    message exists, across restarts (the DynamicItem is registered in setup_hook)."""

    def __init__(self, log_id: int) -> None:
        super().__init__(timeout=None)
        self.add_item(FeedbackButton("up", log_id))
        self.add_item(FeedbackButton("down", log_id))
