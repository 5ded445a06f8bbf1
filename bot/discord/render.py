"""Discord layout of an `Answer`: embeds, message text, splitting. Layout only, no logic:
every figure shown here was computed by the service."""

from __future__ import annotations

import math
import re

import discord

from bot.answer import Answer
from bot.discord.markup import code, defuse
from rules.phrases import language_of, say

MESSAGE_LIMIT = 2000  # characters of message content
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TOTAL_LIMIT = 6000  # title + description + fields + footer of one embed
FIELD_VALUE_LIMIT = 1024
STREAM_CURSOR = " ▌"

VERDICT_COLOURS = {
    "fits_gpu": discord.Colour.green(),
    "partial_offload": discord.Colour.gold(),
    "cpu_only": discord.Colour.gold(),
    "does_not_fit": discord.Colour.red(),
}
ERROR_COLOUR = discord.Colour.light_grey()
NEUTRAL_COLOUR = discord.Colour.blurple()

# The embed's own words, in the language of the question (the answer text itself
# comes from the rules engine already in that language): rules/data/phrases.toml,
# keys `discord_label_<name>`.
def _label(answer: Answer, key: str, **fields) -> str:
    return say(language_of(answer.question), f"discord_label_{key}", **fields)


# splitting ------------------------------------------------------------------------
def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, preferring paragraph
    breaks, then line breaks, then spaces; a hard cut only for one endless word."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > limit // 3:  # do not leave a tiny first piece
                cut = at
                break
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


# rule answers ---------------------------------------------------------------------
def memory_bar(total_gib: float, available_gib: float | None, width: int = 10, lang: str = "en") -> str:
    """`███████░░░ 9.5/12 GiB`; a full bar past the limit; just the need without one."""
    if not available_gib:
        return say(lang, "discord_label_needs_gib", total=total_gib)
    share = total_gib / available_gib
    filled = max(0, min(width, round(share * width)))
    if share > 0 and filled == 0:
        filled = 1
    return f"{'█' * filled}{'░' * (width - filled)} {total_gib:.1f}/{available_gib:g} GiB"


def answer_colour(answer: Answer) -> discord.Colour:
    if answer.error:
        return ERROR_COLOUR
    if answer.verdict is not None:
        return VERDICT_COLOURS.get(answer.verdict.value, NEUTRAL_COLOUR)
    return NEUTRAL_COLOUR


def _title(answer: Answer) -> str:
    if answer.error:
        return _label(answer, "not_answerable")
    parts = []
    if answer.model is not None:  # names may be what the user typed (an unknown one, a file name)
        parts.append(f"{defuse(answer.model.name)} · {defuse(answer.model.quant)}")
    if answer.hardware is not None and answer.hardware.gpus:
        parts.append(" + ".join(
            f"{g.count}× {defuse(g.name)}" if g.count > 1 else defuse(g.name) for g in answer.hardware.gpus))
    elif answer.hardware is not None and answer.hardware.cpu:
        parts.append(defuse(answer.hardware.cpu))
    hardware = parts[-1] if answer.hardware is not None and (answer.hardware.gpus or answer.hardware.cpu) else None
    if answer.intent == "recommend" and hardware:
        title = _label(answer, "runs_on", hardware=hardware)
    elif answer.intent == "requirements" and answer.model is not None:
        title = _label(answer, "needs", model=parts[0])
    elif answer.intent == "speed" and answer.model is None:
        title = _label(answer, "speed_estimate")
    else:
        title = _label(answer, "on").join(parts) if parts else answer.intent.replace("_", " ").capitalize()
    if answer.verdict is not None:
        title += f" — {_label(answer, answer.verdict.value)}"
    return title[:256]


def _memory_field(answer: Answer) -> str | None:
    m = answer.memory
    if m is None:
        return None
    # the bar alone: the sum and the layers are in the answer text, rounded its way
    return f"`{memory_bar(m.total_gib, m.available_gib, lang=language_of(answer.question))}`"


def _command_field(answer: Answer) -> str | None:
    return f"`{code(answer.command)}`" if answer.command else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _without_command_line(text: str, command: str | None) -> str:
    """The answer text less its line that gives the command (`**llama.cpp:** `…``): the
    command has its own field, where it can be copied."""
    if not command:
        return text
    line = re.compile(r"^\*\*[^*\n]+[:：]\*\*\s*`" + re.escape(command) + r"`[ \t]*\n?", re.MULTILINE)
    return line.sub("", text)


_TABLE_RULE = re.compile(r"^\|[\s:|-]+\|$")


def _tables_as_code(text: str) -> str:
    """Discord renders no Markdown tables: a table (a comparison) becomes aligned columns in
    a code block, its bold marks dropped."""
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        rows = [[cell.strip().replace("**", "") for cell in line.strip().strip("|").split("|")]
                for line in table if not _TABLE_RULE.match(line.strip())]
        table.clear()
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(len(r) for r in rows))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        out.append("```\n" + "\n".join(lines) + "\n```")

    for line in text.split("\n"):
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out)


def rule_embeds(answer: Answer) -> list[discord.Embed]:
    """One embed: the verdict in the title and colour, the answer text (every figure,
    as the engine rounded it) as the description, the memory bar and the command as
    fields; each figure shows once. A long answer continues in further embeds (each
    within Discord's limits)."""
    colour = answer_colour(answer)
    first = discord.Embed(title=_title(answer), colour=colour)
    fields = [(_label(answer, "memory"), _memory_field(answer)), (_label(answer, "command"), _command_field(answer))]
    for name, value in fields:
        if value:
            first.add_field(name=name, value=_clip(value, FIELD_VALUE_LIMIT), inline=False)
    footer = _label(answer, "footer", ms=answer.elapsed_ms)
    first.set_footer(text=footer)
    used = len(first.title or "") + len(footer) + sum(len(f.name or "") + len(f.value or "") for f in first.fields)
    room = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used - 16)
    # it may echo what the user typed
    text = _tables_as_code(defuse(_without_command_line(answer.answer, answer.command).strip())) or "(no answer)"
    pieces = split_text(text, room)
    first.description = pieces[0] if pieces else text[:room]
    rest = split_text("\n".join(pieces[1:]), EMBED_DESCRIPTION_LIMIT) if len(pieces) > 1 else []
    embeds = [first]
    for piece in rest:
        embeds.append(discord.Embed(description=piece, colour=colour))
    return embeds


# knowledge answers ----------------------------------------------------------------
def sources_line(answer: Answer) -> str:
    if not answer.sources:
        return ""
    return _label(answer, "sources") + " " + "; ".join(f"{s.title} › {s.section} ({s.score:.2f})" for s in answer.sources)


def knowledge_text(answer: Answer) -> str:
    """The final text of a knowledge answer: the answer, its cited sources, and the
    model's measured speed."""
    parts = [defuse(answer.answer.strip())]  # generated text may quote the question
    if line := sources_line(answer):
        parts.append(line)
    if answer.llm is not None and answer.llm.tokens_per_s:
        parts.append("-# " + say(language_of(answer.question), "discord_generated_by", model=answer.llm.model,
                                 tokens=answer.llm.completion_tokens, rate=answer.llm.tokens_per_s))
    return "\n\n".join(p for p in parts if p)


def streaming_text(streamed: str) -> str:
    """The growing text while the model writes, within one message."""
    text = defuse(streamed.strip()) or "…"
    room = MESSAGE_LIMIT - len(STREAM_CURSOR) - 2
    if len(text) > room:
        text = "…" + text[-(room - 1):]
    return text + STREAM_CURSOR


def queued_text(ahead: int, lang: str = "en") -> str:
    return say(lang, "discord_queued_one") if ahead == 1 else say(lang, "discord_queued_many", ahead=ahead)


def duration(lang: str, seconds: float) -> str:
    """`45 s`, `3 min`, `2 h` (rounded up to a whole unit: never "0 s")."""
    seconds = max(1.0, seconds)
    if seconds < 90:
        return say(lang, "discord_seconds", count=math.ceil(seconds))
    if seconds < 90 * 60:
        return say(lang, "discord_minutes", count=math.ceil(seconds / 60))
    return say(lang, "discord_hours", count=math.ceil(seconds / 3600))


def rate_limited_text(retry_after_s: float, lang: str = "en", key: str = "discord_rate_limited") -> str:
    return say(lang, key, seconds=max(1, math.ceil(retry_after_s)))


def help_embed(lang: str = "en") -> discord.Embed:
    """What RigBot does, its commands, three example questions and how to save a rig,
    in the user's language: the answer to "help", "hi", "what can you do?" and a bare
    mention."""
    embed = discord.Embed(title=say(lang, "discord_help_title"), colour=NEUTRAL_COLOUR,
                          description=say(lang, "discord_help_intro", help=say(lang, "help")))
    for name, value in (("discord_help_commands_name", "discord_help_commands"),
                        ("discord_help_examples_name", "discord_help_examples"),
                        ("discord_help_rig_name", "discord_help_rig")):
        embed.add_field(name=say(lang, name), value=say(lang, value), inline=False)
    return embed


# bot info -------------------------------------------------------------------------
def _host_lines(host: dict | None, lang: str) -> list[str]:
    """The host's hardware. Not its kernel, Python or model-server flags: /botinfo is
    for every member, and software versions only help someone looking for a hole."""
    if not host:
        return [say(lang, "discord_info_not_probed")]
    cpu = host.get("cpu") or {}
    gpus = ", ".join(f"{g.get('name')} {g.get('vram_gib')} GiB" for g in host.get("gpus") or [])
    return [say(lang, "discord_info_cpu", model=cpu.get("model", "?"), cores=cpu.get("cores", "?"),
                threads=cpu.get("threads", "?")),
            say(lang, "discord_info_ram", ram=host.get("ram_gib", "?")),
            say(lang, "discord_info_gpus", gpus=gpus or say(lang, "discord_info_none"))]


def _speed_lines(data: dict, lang: str) -> list[str]:
    lines = [say(lang, "discord_info_model", model=data.get("model", "?"))]
    t = data.get("tokens_per_s")
    if t:
        lines.append(say(lang, "discord_info_measured", median=t["median"], p10=t["p10"], p90=t["p90"],
                         generations=t["generations"]))
    else:
        lines.append(say(lang, "discord_info_measured_none"))
    if (p := data.get("predicted")) and p.get("expected_tokens_per_s"):
        low, high = p["expected_range"]
        lines.append(say(lang, "discord_info_predicted", expected=p["expected_tokens_per_s"], low=low, high=high,
                         ceiling=p["theoretical_max_tokens_per_s"],
                         bandwidth=f"{p['ram_bandwidth_gbs_measured']:g}",
                         gflops=f"{p['matmul_gflops_measured']:g}"))
    if data.get("measured_over_predicted") is not None:
        lines.append(say(lang, "discord_info_ratio", ratio=data["measured_over_predicted"]))
    if data.get("note"):
        lines.append(f"*{data['note']}*")
    return lines


def botinfo_embed(data: dict, latency_ms: float | None = None, lang: str = "en") -> discord.Embed:
    embed = discord.Embed(title=say(lang, "discord_info_title"), colour=NEUTRAL_COLOUR)
    embed.description = _clip("\n".join(_host_lines(data.get("host"), lang) + [""] + _speed_lines(data, lang)),
                              EMBED_DESCRIPTION_LIMIT)
    if latency_ms is not None:
        embed.set_footer(text=say(lang, "discord_info_latency", ms=round(latency_ms)))
    return embed


def stats_embed(data: dict, guilds: int | None = None, lang: str = "en") -> discord.Embed:
    embed = discord.Embed(title=say(lang, "discord_stats_title"), colour=NEUTRAL_COLOUR)
    counts = data.get("answers_by_route") or {}
    lines = [say(lang, "discord_stats_answers",
                 counts=", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or say(lang, "discord_info_none"))]
    lines += _speed_lines(data, lang)
    threads = data.get("thread_measurements")
    if threads and "decode_tokens_per_s" in threads:  # measured by llama-server at first start
        for key, flag in (("decode_tokens_per_s", "threads"), ("prefill_tokens_per_s", "threads_batch")):
            lines.append(say(lang, f"discord_stats_{key}", using=threads[flag], rates=", ".join(
                f"{k}: {float(v):.0f}" for k, v in sorted(threads[key].items()))))
    if reports := data.get("speed_reports"):
        from bot.stats import speed_reports_line

        lines.append(speed_reports_line(reports))
    if guilds is not None:
        lines.append(say(lang, "discord_stats_servers", count=guilds))
    embed.description = _clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    return embed


def reload_started_text(lang: str, last: float | None, now: float) -> str:
    when = say(lang, "discord_reload_never") if last is None else \
        say(lang, "discord_reload_last", ago=duration(lang, now - last))
    return say(lang, "discord_reload_started", last=when)


def reload_text(report: dict, lang: str = "en") -> str:
    lines = [say(lang, "discord_reloaded")]
    cat = report.get("catalog")
    if cat:
        lines.append(say(lang, "discord_reload_catalogs", gpus=cat.get("gpus"), models=cat.get("models"),
                         quants=cat.get("quants")))
    kn = report.get("knowledge")
    if kn:
        langs = ", ".join(kn.get("languages") or [])
        lines.append(say(lang, "discord_reload_knowledge", sections=kn.get("sections"), chunks=kn.get("chunks"),
                         languages=f" ({langs})" if langs else ""))
    return "\n".join(lines)


def reload_failed_text(exc: BaseException, lang: str = "en") -> str:
    reason = str(exc) or type(exc).__name__
    return _clip(say(lang, "discord_reload_failed", reason=reason), MESSAGE_LIMIT)


COMPARE_PNG = "compare.png"


def compare_embed(comparison, lang: str = "en") -> discord.Embed:
    """The chart of `rules.compare.compare`, with the fastest card that holds each quant."""
    embed = discord.Embed(title=say(lang, "discord_compare_title", model=defuse(comparison.model)),
                          colour=discord.Colour.blurple())
    lines = []
    for row in comparison.summary():
        if best := row.fastest:
            low, high = best.expected_range
            lines.append(say(lang, "discord_compare_row", quant=row.quant, total=row.total_gib, gpu=best.gpu,
                             tps=f"{best.expected_tokens_per_s:g}", low=f"{low:g}", high=f"{high:g}"))
        else:
            lines.append(say(lang, "discord_compare_row_none", quant=row.quant, total=row.total_gib))
    embed.description = _clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    embed.set_image(url=f"attachment://{COMPARE_PNG}")
    embed.set_footer(text=say(lang, "discord_compare_footer", context=comparison.context,
                              ram=f"{comparison.ram_gib:g}"))
    return embed
