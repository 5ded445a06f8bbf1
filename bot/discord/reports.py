"""`/report`: users' measured speeds (add, list, delete), a thin layer over the
service's SpeedReports, which the console and the CLI call the same way. Replies are
ephemeral: a user's reports are theirs to see."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.commands import _cmd, gpu_autocomplete, model_autocomplete, quant_autocomplete
from bot.discord.markup import defuse
from bot.discord.responder import NO_MENTIONS

if TYPE_CHECKING:
    from bot.discord.client import RigBotClient

MAX_ATTACHMENT_BYTES = 64 * 1024  # a llama-bench table is a few KB
DISCORD_MESSAGE_LIMIT = 2000


def report_text(gpu: str | None, count: int | None, model: str | None, quant: str | None,
                context: int | None, text: str | None) -> str:
    """The options as one line the report reader understands, then any free text."""
    parts = []
    if gpu:
        parts.append(f"{count}x {gpu.strip()}" if count and count > 1 else gpu.strip())
    if model:
        parts.append(model.strip())
    if quant:
        parts.append(quant.strip())
    if context:
        parts.append(f"at {context} context")
    line = ", ".join(parts)
    return "\n".join(p for p in (line, (text or "").strip()) if p)


class ReportCommands(commands.Cog):
    def __init__(self, bot: RigBotClient) -> None:
        self.bot = bot

    report = app_commands.Group(name="report", description=_cmd("report"))

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        text = defuse(text)  # it may echo the report's own words
        text = text if len(text) <= DISCORD_MESSAGE_LIMIT else text[:DISCORD_MESSAGE_LIMIT - 1] + "…"
        if interaction.response.is_done():
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @report.command(name="add", description=_cmd("report_add"))
    @app_commands.describe(gpu=_cmd("report_gpu"), model=_cmd("canrun_model"), quant=_cmd("report_quant"),
                           tokens_per_s=_cmd("report_tps"), count=_cmd("report_count"),
                           context=_cmd("report_context"),
                           text=_cmd("report_text"),
                           bench=_cmd("report_bench"))
    @app_commands.autocomplete(gpu=gpu_autocomplete, model=model_autocomplete, quant=quant_autocomplete)
    async def add(self, interaction: discord.Interaction, gpu: str | None = None, model: str | None = None,
                  quant: str | None = None,
                  tokens_per_s: app_commands.Range[float, 0.0, 100_000.0] | None = None,
                  count: app_commands.Range[int, 1, 64] | None = None,
                  context: app_commands.Range[int, 128, 10_000_000] | None = None,
                  text: str | None = None, bench: discord.Attachment | None = None) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        pasted = ""
        if bench is not None:
            if bench.size > MAX_ATTACHMENT_BYTES:
                await self._reply(interaction, f"That file is over {MAX_ATTACHMENT_BYTES // 1024} KB; "
                                               "a llama-bench table is a few KB.")
                return
            pasted = (await bench.read()).decode("utf-8", errors="replace")
        question = "\n".join(p for p in (report_text(gpu, count, model, quant, context, text), pasted) if p)
        result = await self.bot.service.reports.submit(
            str(interaction.user.id), question, tokens_per_s=tokens_per_s,
            now=discord.utils.utcnow().timestamp())
        await self._reply(interaction, result.text)

    @report.command(name="list", description=_cmd("report_list"))
    async def list_reports(self, interaction: discord.Interaction) -> None:
        text = await self.bot.service.reports.listing(str(interaction.user.id), _lang(interaction))
        await self._reply(interaction, text)

    @report.command(name="delete", description=_cmd("report_delete"))
    @app_commands.describe(number=_cmd("report_number"))
    async def delete(self, interaction: discord.Interaction, number: int | None = None) -> None:
        text = await self.bot.service.reports.delete(str(interaction.user.id), number, _lang(interaction))
        await self._reply(interaction, text)


def _lang(interaction: discord.Interaction) -> str:
    """Chinese for a Chinese Discord client, else English."""
    return "zh" if str(getattr(interaction, "locale", "")).startswith("zh") else "en"
