"""Slash commands. Each builds a question and hands it to the same service as a
mention would; the answer comes back through the shared `Responder`."""

from __future__ import annotations

import asyncio
import io
import logging
import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord import choices, render
from bot.discord.responder import NO_MENTIONS, interaction_lang
from bot.questions import recommend_question
from rules.phrases import say

if TYPE_CHECKING:
    from bot.discord.client import RigBotClient

log = logging.getLogger(__name__)

RELOAD_COOLDOWN_S = 600.0  # a server administrator's /reload, bot-wide; operators have none
LAST_RELOAD_KEY = "discord:last_reload"  # in the store: shared by every bot process


async def is_operator(interaction: discord.Interaction) -> bool:
    """RigBot's operators: RIGBOT_ADMIN_USER_IDS and the Discord application's owner or
    team (discord.py's `is_owner`, from `application_info()`). Bot-wide actions are theirs."""
    client = interaction.client
    if interaction.user.id in client.settings.admin_user_ids:  # type: ignore[attr-defined]
        return True
    try:
        return await client.is_owner(interaction.user)  # type: ignore[attr-defined]
    except Exception:  # application info unavailable: the configured ids alone
        log.warning("could not read the application's owner", exc_info=True)
        return False


def is_server_admin(interaction: discord.Interaction) -> bool:
    """An administrator of the server the command runs in. Checked in the handler:
    Discord's command permissions can be overridden per server, this cannot."""
    if interaction.guild is None:
        return False
    perms = getattr(interaction.user, "guild_permissions", None)
    return bool(perms is not None and perms.administrator)


async def refuse(interaction: discord.Interaction, key: str, **fields) -> None:
    """An ephemeral refusal that says who may."""
    lang = _lang(interaction)
    text = say(lang, key, operators=say(lang, "discord_who_operators"), **fields)
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _cmd(key: str) -> str:
    """A command's or option's description (English; Discord shows the Chinese one from
    phrases.toml to Chinese clients through `PhraseTranslator`)."""
    return say("en", f"discord_cmd_{key}")


class PhraseTranslator(app_commands.Translator):
    """Command and option descriptions in the client's language: each English
    description is a `discord_cmd_*` phrase, and its Chinese twin is sent to Discord as
    its zh-CN / zh-TW localization when commands sync."""

    def __init__(self) -> None:
        from rules.phrases import _default

        english = _default()["en"]
        self._keys = {text: key for key, text in english.items() if key.startswith("discord_cmd_")}

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContext) -> str | None:
        key = self._keys.get(string.message)
        if key is None or locale not in (discord.Locale.chinese, discord.Locale.taiwan_chinese):
            return None
        return say("zh", key)


def _choices(names: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=n, value=n) for n in names]


async def gpu_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return _choices(choices.gpu_names(current))


async def model_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return _choices(choices.model_names(current))


async def use_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=value) for name, value in choices.use_choices(current, _lang(interaction))]


async def quant_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return _choices(choices.quant_names(current))


# question builders (plain sentences the parser understands) ------------------------
def canrun_question(gpu: str, model: str, quant: str | None = None, context: int | None = None) -> str:
    text = f"Can {gpu.strip()} run {model.strip()}"
    if quant:
        text += f" {quant.strip()}"
    if context:
        text += f" with {context} context"
    return text + "?"


def speed_question(model: str | None, gpu: str | None, quant: str | None, bandwidth_gbs: float | None,
                   model_size_gb: float | None) -> str | None:
    if model:
        what = model.strip() + (f" {quant.strip()}" if quant else "")
    elif model_size_gb:
        what = f"a {model_size_gb:g} GB model"
    else:
        return None
    if gpu:
        where = f"on {gpu.strip()}"
    elif bandwidth_gbs:
        where = f"at {bandwidth_gbs:g} GB/s"
    else:
        return None
    return f"How fast is {what} {where}?"


class RigBotCommands(commands.Cog):
    def __init__(self, bot: RigBotClient) -> None:
        self.bot = bot
        self._reloading = False

    # questions -------------------------------------------------------------------
    @app_commands.command(name="ask", description=_cmd("ask"))
    @app_commands.describe(question=_cmd("ask_question"))
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        await self.bot.responder.answer_interaction(interaction, question)

    @app_commands.command(name="canrun", description=_cmd("canrun"))
    @app_commands.describe(gpu=_cmd("canrun_gpu"), model=_cmd("canrun_model"), quant=_cmd("quant_default"),
                           context=_cmd("canrun_context"))
    @app_commands.autocomplete(gpu=gpu_autocomplete, model=model_autocomplete, quant=quant_autocomplete)
    async def canrun(self, interaction: discord.Interaction, gpu: str, model: str, quant: str | None = None,
                     context: app_commands.Range[int, 128, 10_000_000] | None = None) -> None:
        await self.bot.responder.answer_interaction(interaction, canrun_question(gpu, model, quant, context))

    @app_commands.command(name="recommend", description=_cmd("recommend"))
    @app_commands.describe(hardware=_cmd("recommend_hardware"), use=_cmd("recommend_use"))
    @app_commands.autocomplete(hardware=gpu_autocomplete, use=use_autocomplete)
    async def recommend(self, interaction: discord.Interaction, hardware: str, use: str | None = None) -> None:
        await self.bot.responder.answer_interaction(interaction, recommend_question(hardware, use))

    @app_commands.command(name="speed", description=_cmd("speed"))
    @app_commands.describe(model=_cmd("catalog_model"), gpu=_cmd("catalog_gpu"),
                           quant=_cmd("quant_default"),
                           bandwidth_gbs=_cmd("speed_bandwidth"),
                           model_size_gb=_cmd("speed_size"))
    @app_commands.autocomplete(gpu=gpu_autocomplete, model=model_autocomplete, quant=quant_autocomplete)
    async def speed(self, interaction: discord.Interaction, model: str | None = None, gpu: str | None = None,
                    quant: str | None = None,
                    bandwidth_gbs: app_commands.Range[float, 1.0, 50_000.0] | None = None,
                    model_size_gb: app_commands.Range[float, 0.01, 5_000.0] | None = None) -> None:
        question = speed_question(model, gpu, quant, bandwidth_gbs, model_size_gb)
        if question is None:
            await interaction.response.send_message(say(_lang(interaction), "discord_speed_usage"),
                                                    ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await self.bot.responder.answer_interaction(interaction, question)

    @app_commands.command(name="compare", description=_cmd("compare"))
    @app_commands.describe(model=_cmd("catalog_model"))
    @app_commands.autocomplete(model=model_autocomplete)
    async def compare(self, interaction: discord.Interaction, model: str) -> None:
        await interaction.response.defer(thinking=True)
        from bot.charts import compare_png
        from rules.compare import compare

        comparison = await asyncio.to_thread(compare, model)
        if comparison.error:  # the message names what was typed: defused, not rendered
            await interaction.edit_original_response(content=render.defuse(comparison.message),
                                                     allowed_mentions=NO_MENTIONS)
            return
        png = await asyncio.to_thread(compare_png, comparison)  # matplotlib off the event loop
        await interaction.edit_original_response(
            embed=render.compare_embed(comparison, _lang(interaction)),
            attachments=[discord.File(io.BytesIO(png), filename=render.COMPARE_PNG)],
            allowed_mentions=NO_MENTIONS)

    # about the bot ---------------------------------------------------------------
    def _latency_ms(self) -> float | None:
        latency = self.bot.latency
        return latency * 1000 if latency is not None and math.isfinite(latency) else None

    @app_commands.command(name="botinfo", description=_cmd("botinfo"))
    async def botinfo(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        data = await self.bot.service.stats()
        await interaction.edit_original_response(embed=render.botinfo_embed(data, self._latency_ms(),
                                                                            _lang(interaction)),
                                                 allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="stats", description=_cmd("stats"))
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        data = await self.bot.service.stats()
        await interaction.edit_original_response(embed=render.stats_embed(data, len(self.bot.guilds),
                                                                          _lang(interaction)),
                                                 allowed_mentions=NO_MENTIONS)

    # admin ---------------------------------------------------------------------
    @app_commands.command(name="reload", description=_cmd("reload"))
    @app_commands.default_permissions(administrator=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        """Bot-wide: RigBot's operators at any time; a server's administrators at most
        once every RELOAD_COOLDOWN_S (counted over every server and process)."""
        lang = _lang(interaction)
        operator = await is_operator(interaction)
        if not operator and not is_server_admin(interaction):
            await refuse(interaction, "discord_refuse_reload", minutes=round(RELOAD_COOLDOWN_S / 60))
            return
        if self._reloading:
            await interaction.response.send_message(say(lang, "discord_reload_busy"), ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        now = discord.utils.utcnow().timestamp()
        last = (await self.bot.service.store.recall(LAST_RELOAD_KEY) or {}).get("at")
        if not operator and last is not None and now - last < RELOAD_COOLDOWN_S:
            await refuse(interaction, "discord_reload_cooldown", ago=render.duration(lang, now - last),
                         wait=render.duration(lang, RELOAD_COOLDOWN_S - (now - last)),
                         minutes=round(RELOAD_COOLDOWN_S / 60))
            return
        self._reloading = True
        await self.bot.service.store.remember(LAST_RELOAD_KEY, {"at": now, "by": str(interaction.user.id)})
        # acknowledged at once; a cold reload (embedding model, index, model server) takes
        # seconds, so it finishes in the background and the result follows up here
        await interaction.response.send_message(render.reload_started_text(lang, last, now), ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
        self.bot.run_in_background(self._reload_and_report(interaction, lang))

    async def _reload_and_report(self, interaction: discord.Interaction, lang: str = "en") -> None:
        try:
            report = await self.bot.service.reload()
        except Exception as exc:  # ReloadError, CatalogError: the old ones keep serving
            log.warning("reload failed: %s", exc)
            text = render.reload_failed_text(exc, lang)
        else:
            text = render.reload_text(report, lang)
        finally:
            self._reloading = False
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    rigbot = app_commands.Group(name="rigbot", description=_cmd("rigbot"),
                                default_permissions=discord.Permissions(administrator=True), guild_only=True)
    channel = app_commands.Group(name="channel", description=_cmd("channel"),
                                 parent=rigbot)

    async def _set_channel(self, interaction: discord.Interaction, target, enabled: bool) -> None:
        if not is_server_admin(interaction) and not await is_operator(interaction):
            await refuse(interaction, "discord_refuse_channel")
            return
        target = target or interaction.channel
        await self.bot.set_channel_enabled(target.id, interaction.guild_id, enabled, by=interaction.user.id)
        text = say(_lang(interaction), "discord_channel_enabled" if enabled else "discord_channel_disabled",
                   channel=f"<#{target.id}>")
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @channel.command(name="enable", description=_cmd("channel_enable"))
    @app_commands.describe(channel=_cmd("channel_which"))
    async def channel_enable(self, interaction: discord.Interaction,
                             channel: discord.TextChannel | discord.Thread | None = None) -> None:
        await self._set_channel(interaction, channel, True)

    @channel.command(name="disable", description=_cmd("channel_disable"))
    @app_commands.describe(channel=_cmd("channel_which"))
    async def channel_disable(self, interaction: discord.Interaction,
                              channel: discord.TextChannel | discord.Thread | None = None) -> None:
        await self._set_channel(interaction, channel, False)

    @rigbot.command(name="purge", description=_cmd("purge"))
    @app_commands.describe(user=_cmd("purge_user"),
                           everywhere=_cmd("purge_everywhere"))
    async def purge(self, interaction: discord.Interaction, user: discord.User, everywhere: bool = False) -> None:
        """A server's administrators purge what their server holds (its conversations and
        logged questions); what a user keeps across servers (saved rig, speed reports)
        is the user's to delete, or RigBot's operators' with `everywhere`."""
        lang = _lang(interaction)
        operator = await is_operator(interaction)
        if everywhere and not operator:
            await refuse(interaction, "discord_refuse_purge_everywhere")
            return
        if not everywhere and not operator and not is_server_admin(interaction):
            await refuse(interaction, "discord_refuse_purge")
            return
        store = self.bot.service.store
        if everywhere:
            done = await store.purge_user(str(user.id))
            key = "discord_purged_everywhere"
        else:
            guild = interaction.guild
            channels = [c.id for c in guild.channels] + [t.id for t in guild.threads] if guild else []
            done = await store.purge_user_in_guild(str(user.id), str(interaction.guild_id), channels)
            key = "discord_purged_server"
        log.info("%s %s purged user %s (%s)", "operator" if operator else "server admin", interaction.user.id,
                 user.id, "everywhere" if everywhere else f"guild {interaction.guild_id}")
        summary = ", ".join(say(lang, f"discord_purge_{kind}", count=count) for kind, count in done.items())
        await interaction.response.send_message(say(lang, key, user=f"<@{user.id}>", summary=summary),
                                                ephemeral=True, allowed_mentions=NO_MENTIONS)

    # saved rig (/myrig) -----------------------------------------------------------
    myrig = app_commands.Group(name="myrig", description=_cmd("myrig"))

    @myrig.command(name="set", description=_cmd("myrig_set"))
    @app_commands.describe(text=_cmd("myrig_text"), file=_cmd("myrig_file"))
    async def myrig_set(self, interaction: discord.Interaction, text: str | None = None,
                        file: discord.Attachment | None = None) -> None:
        from bot.saved_rig import MAX_RIG_FILE_BYTES, text_of_file

        lang = _lang(interaction, text or "")
        if not text and file is None:  # a box for pasting: a text option would join the lines
            await interaction.response.send_modal(RigModal(self.bot.service, lang))
            return
        parts = [text or ""]
        if file is not None:
            if file.size > MAX_RIG_FILE_BYTES:  # not downloaded at all
                await _rig_reply(interaction, say(lang, "rig_file_too_big", size=file.size, most=MAX_RIG_FILE_BYTES))
                return
            content = text_of_file(await file.read())
            if content is None:
                await _rig_reply(interaction, say(lang, "rig_file_not_text"))
                return
            parts.append(content)
        reply = await self.bot.service.set_rig(str(interaction.user.id), "\n".join(p for p in parts if p), lang)
        await _rig_reply(interaction, reply.text)

    @myrig.command(name="show", description=_cmd("myrig_show"))
    async def myrig_show(self, interaction: discord.Interaction) -> None:
        reply = await self.bot.service.show_rig(str(interaction.user.id), _lang(interaction))
        await _rig_reply(interaction, reply.text)

    @myrig.command(name="clear", description=_cmd("myrig_clear"))
    async def myrig_clear(self, interaction: discord.Interaction) -> None:
        reply = await self.bot.service.clear_rig(str(interaction.user.id), _lang(interaction))
        await _rig_reply(interaction, reply.text)


def _lang(interaction: discord.Interaction, text: str = "") -> str:
    """Chinese when the text is, or the user's Discord client is set to Chinese."""
    return interaction_lang(interaction, text)


async def _rig_reply(interaction: discord.Interaction, text: str) -> None:
    """Only the user sees their rig (ephemeral); long replies continue in follow-ups."""
    pieces = render.split_text(render.defuse(text)) or ["…"]  # it may echo what the user pasted
    await interaction.response.send_message(pieces[0], ephemeral=True, allowed_mentions=NO_MENTIONS)
    for piece in pieces[1:]:
        await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_MENTIONS)


class RigModal(discord.ui.Modal):
    """`/myrig set` with no options: a multi-line box keeps tool output's line breaks."""

    def __init__(self, service, lang: str) -> None:
        super().__init__(title=say(lang, "rig_modal_title")[:45], timeout=900)
        self.service, self.lang = service, lang
        self.paste = discord.ui.TextInput(label=say(lang, "rig_modal_label")[:45], style=discord.TextStyle.paragraph,
                                          placeholder=say(lang, "rig_modal_placeholder")[:100], max_length=4000)
        self.add_item(self.paste)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        lang = _lang(interaction, self.paste.value) if self.lang == "en" else self.lang
        reply = await self.service.set_rig(str(interaction.user.id), self.paste.value, lang)
        await _rig_reply(interaction, reply.text)
