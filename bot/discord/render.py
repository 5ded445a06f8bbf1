"""Discord layout of an `Answer`: embeds, message text, splitting. Layout only, no logic:
every figure shown here was computed by the service."""

from __future__ import annotations

import math

import discord

from bot.answer import Answer

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

VERDICT_LABELS = {
    "fits_gpu": "fits in GPU memory",
    "partial_offload": "partial offload",
    "cpu_only": "CPU only",
    "does_not_fit": "does not fit",
}


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
def memory_bar(total_gib: float, available_gib: float | None, width: int = 10) -> str:
    """`███████░░░ 9.5/12 GiB`; a full bar past the limit; just the need without one."""
    if not available_gib:
        return f"needs {total_gib:.1f} GiB"
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
        return "Not quite answerable as asked"
    parts = []
    if answer.model is not None:
        parts.append(f"{answer.model.name} · {answer.model.quant}")
    if answer.hardware is not None and answer.hardware.gpus:
        parts.append(" + ".join(
            f"{g.count}× {g.name}" if g.count > 1 else g.name for g in answer.hardware.gpus))
    elif answer.hardware is not None and answer.hardware.cpu:
        parts.append(answer.hardware.cpu)
    hardware = parts[-1] if answer.hardware is not None and (answer.hardware.gpus or answer.hardware.cpu) else None
    if answer.intent == "recommend" and hardware:
        title = f"What runs on {hardware}"
    elif answer.intent == "requirements" and answer.model is not None:
        title = f"What {parts[0]} needs"
    elif answer.intent == "speed" and answer.model is None:
        title = "Speed estimate"
    else:
        title = " on ".join(parts) if parts else answer.intent.replace("_", " ").capitalize()
    if answer.verdict is not None:
        title += f" — {VERDICT_LABELS.get(answer.verdict.value, answer.verdict.value)}"
    return title[:256]


def _memory_field(answer: Answer) -> str | None:
    m = answer.memory
    if m is None:
        return None
    lines = [f"`{memory_bar(m.total_gib, m.available_gib)}`",
             f"weights {m.weights_gib:.1f} + KV cache {m.kv_cache_gib:.2f} + overhead "
             f"{m.overhead_gib:.1f} GiB"]
    if m.gpu_layers is not None and answer.verdict is not None and answer.verdict.value == "partial_offload":
        lines.append(f"{m.gpu_layers}/{m.total_layers} layers on the GPU")
    return "\n".join(lines)


def _speed_field(answer: Answer) -> str | None:
    s = answer.speed
    if s is None:
        return None
    return (f"~{s.expected_tokens_per_s:.1f} tokens/s expected "
            f"(ceiling {s.theoretical_max_tokens_per_s:.1f}); limited by {_words(s.bottleneck)}")


def _words(code: str) -> str:
    return " ".join(w.upper() if w in ("gpu", "ram", "cpu", "vram") else w for w in code.split("_"))


def _alternatives_field(answer: Answer, limit: int = 8) -> str | None:
    if not answer.recommendations:
        return None
    lines = []
    for r in answer.recommendations[:limit]:
        speed = f", ~{r.expected_tokens_per_s:.0f} tok/s" if r.expected_tokens_per_s else ""
        where = f" on {r.hardware}" if r.hardware else ""
        lines.append(f"• {r.model} {r.quant}{where}: {VERDICT_LABELS.get(r.verdict.value, r.verdict.value)}, "
                     f"{r.total_gib:.1f} GiB{speed}")
    if len(answer.recommendations) > limit:
        lines.append(f"… and {len(answer.recommendations) - limit} more")
    return _clip("\n".join(lines), FIELD_VALUE_LIMIT)


def _alternatives_name(answer: Answer) -> str:
    if answer.intent == "recommend":
        return "Models that fit"
    if any(r.hardware for r in answer.recommendations):
        return "Hardware that runs it"
    return "Alternatives"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rule_embeds(answer: Answer) -> list[discord.Embed]:
    """One embed with the verdict, memory bar, speed and alternatives; a long answer
    text continues in further embeds (each within Discord's limits)."""
    colour = answer_colour(answer)
    first = discord.Embed(title=_title(answer), colour=colour)
    fields = [("Memory", _memory_field(answer)), ("Speed", _speed_field(answer)),
              (_alternatives_name(answer), _alternatives_field(answer))]
    for name, value in fields:
        if value:
            first.add_field(name=name, value=_clip(value, FIELD_VALUE_LIMIT), inline=False)
    footer = f"rules engine · {answer.elapsed_ms:.0f} ms"
    first.set_footer(text=footer)
    used = len(first.title or "") + len(footer) + sum(len(f.name or "") + len(f.value or "") for f in first.fields)
    room = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used - 16)
    text = answer.answer.strip() or "(no answer)"
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
    return "**Sources:** " + "; ".join(f"{s.title} › {s.section} ({s.score:.2f})" for s in answer.sources)


def knowledge_text(answer: Answer) -> str:
    """The final text of a knowledge answer: the answer, its cited sources, and the
    model's measured speed."""
    parts = [answer.answer.strip()]
    if line := sources_line(answer):
        parts.append(line)
    if answer.llm is not None and answer.llm.tokens_per_s:
        parts.append(f"-# {answer.llm.model}: {answer.llm.completion_tokens} tokens at "
                     f"{answer.llm.tokens_per_s:.1f} tokens/s")
    return "\n\n".join(p for p in parts if p)


def streaming_text(streamed: str) -> str:
    """The growing text while the model writes, within one message."""
    text = streamed.strip() or "…"
    room = MESSAGE_LIMIT - len(STREAM_CURSOR) - 2
    if len(text) > room:
        text = "…" + text[-(room - 1):]
    return text + STREAM_CURSOR


def queued_text(ahead: int) -> str:
    return f"Queued: {ahead} question{'s' if ahead != 1 else ''} ahead of you. I'll start writing as soon as it's your turn."


def rate_limited_text(retry_after_s: float) -> str:
    return f"You're asking fast — try again in {max(1, math.ceil(retry_after_s))} s."


# bot info -------------------------------------------------------------------------
def _host_lines(host: dict | None) -> list[str]:
    if not host:
        return ["Host: not probed yet"]
    cpu = host.get("cpu") or {}
    gpus = host.get("gpus") or []
    lines = [
        f"**CPU:** {cpu.get('model', '?')} ({cpu.get('cores', '?')} cores / {cpu.get('threads', '?')} threads)",
        f"**RAM:** {host.get('ram_gib', '?')} GiB",
        "**GPUs:** " + (", ".join(f"{g.get('name')} {g.get('vram_gib')} GiB" for g in gpus) or "none"),
        f"**OS:** {host.get('os', '?')} · Python {host.get('python', '?')}",
    ]
    return lines


def _speed_lines(data: dict) -> list[str]:
    lines = [f"**Model:** {data.get('model', '?')}"]
    t = data.get("tokens_per_s")
    if t:
        lines.append(f"**Measured:** median {t['median']} tokens/s (p10 {t['p10']}, p90 {t['p90']}) "
                     f"over {t['generations']} generations")
    else:
        lines.append("**Measured:** no generations yet — ask a knowledge question first")
    if p := data.get("predicted"):
        lines.append(f"**Rule engine predicts:** ~{p['expected_tokens_per_s']} tokens/s "
                     f"(ceiling {p['theoretical_max_tokens_per_s']})")
    if data.get("measured_over_predicted") is not None:
        lines.append(f"**Measured ÷ predicted:** {data['measured_over_predicted']}")
    if data.get("note"):
        lines.append(f"*{data['note']}*")
    return lines


def botinfo_embed(data: dict, latency_ms: float | None = None) -> discord.Embed:
    embed = discord.Embed(title="RigBot runs on", colour=NEUTRAL_COLOUR)
    embed.description = _clip("\n".join(_host_lines(data.get("host")) + [""] + _speed_lines(data)),
                              EMBED_DESCRIPTION_LIMIT)
    if latency_ms is not None:
        embed.set_footer(text=f"gateway latency {latency_ms:.0f} ms")
    return embed


def stats_embed(data: dict, guilds: int | None = None) -> discord.Embed:
    embed = discord.Embed(title="RigBot stats", colour=NEUTRAL_COLOUR)
    counts = data.get("answers_by_route") or {}
    lines = ["**Answers:** " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet")]
    lines += _speed_lines(data)
    threads = data.get("thread_measurements")
    if threads:
        lines.append("**Decode tokens/s by thread count:** "
                     + ", ".join(f"{k}: {float(v):.0f}" for k, v in sorted(threads.items())))
    if guilds is not None:
        lines.append(f"**Servers:** {guilds}")
    embed.description = _clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    return embed


def reload_text(report: dict) -> str:
    lines = ["Reloaded."]
    cat = report.get("catalog")
    if cat:
        lines.append(f"• Catalogs: {cat.get('gpus')} GPUs, {cat.get('models')} models, "
                     f"{cat.get('quants')} quantization types")
    kn = report.get("knowledge")
    if kn:
        langs = ", ".join(kn.get("languages") or [])
        lines.append(f"• Knowledge: {kn.get('sections')} sections, {kn.get('chunks')} chunks"
                     + (f" ({langs})" if langs else ""))
    return "\n".join(lines)


def reload_failed_text(exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
    return _clip(f"Reload failed: {reason}\nThe previous catalogs and knowledge index keep serving.",
                 MESSAGE_LIMIT)
