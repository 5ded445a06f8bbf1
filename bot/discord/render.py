"""Discord layout of an `Answer`: embeds, message text, splitting. Layout only, no logic:
every figure shown here was computed by the service."""

from __future__ import annotations

import math

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
# comes from the rules engine already in that language).
LABELS = {
    "en": {
        "fits_gpu": "fits in GPU memory", "partial_offload": "partial offload", "cpu_only": "CPU only",
        "does_not_fit": "does not fit", "not_answerable": "Not quite answerable as asked",
        "runs_on": "What runs on {hardware}", "needs": "What {model} needs", "speed_estimate": "Speed estimate",
        "on": " on ", "memory": "Memory", "speed": "Speed", "models_fit": "Models that fit",
        "hardware_runs_it": "Hardware that runs it", "alternatives": "Alternatives",
        "needs_gib": "needs {total:.1f} GiB", "layers_on_gpu": "{layers}/{total} layers on the GPU",
        "memory_sum": "weights {weights:.1f} + KV cache {kv:.2f} + overhead {overhead:.1f} GiB",
        "speed_value": "~{expected:.1f} tokens/s expected (ceiling {ceiling:.1f}); limited by {limit}",
        "gpu_memory_bandwidth": "GPU memory bandwidth", "ram_bandwidth": "RAM bandwidth",
        "cpu_compute": "CPU compute", "speed_range": "likely {low:g}–{high:g} ({count} measurements)",
        "speed_range_one": "likely {low:g}–{high:g} (1 measurement)",
        "per_user": " per user ({users} generating)",
        "prefill_value": "prompt: ~{rate:,.0f} tokens/s", "ttft_value": "first token after ~{seconds:.1f} s",
        "command": "Command", "serving": "Serving",
        "serving_value": "{users} users × {context:,} tokens: KV {kv:.1f} GiB; up to {max_users} users fit",
        "training": "Fine-tuning",
        "training_value": "{method}: {total:.1f} GiB (batch {batch}, sequence {seq:,})",
        "item_on": " on {hardware}", "more": "… and {count} more", "footer": "rules engine · {ms:.0f} ms",
        "sources": "**Sources:**",
        "diagnosis": "Run log", "diag_value": "measured {measured} tokens/s · predicted ~{predicted} ({low}–{high})",
        "diag_measured_only": "measured {measured} tokens/s · no prediction to compare",
        "diag_no_speed": "no generation speed in the log",
        "diag_verdict": {"normal": "normal", "slow": "slower than predicted", "fast": "faster than predicted",
                         "no_speed": "no speed", "no_prediction": "no prediction"},
        "diag_causes": {"partial_offload": "partial offload", "kv_on_cpu": "KV cache in RAM",
                        "cpu_fallback": "CPU fallback", "np_slots": "context divided across -np slots",
                        "slower_than_predicted": "slower than predicted"},
    },
    "zh": {
        "fits_gpu": "可完全放进显存", "partial_offload": "部分卸载", "cpu_only": "纯 CPU",
        "does_not_fit": "放不下", "not_answerable": "这样问还没法回答",
        "runs_on": "{hardware} 能跑什么", "needs": "{model} 需要什么", "speed_estimate": "速度估算",
        "on": " · ", "memory": "内存", "speed": "速度", "models_fit": "能放下的模型",
        "hardware_runs_it": "能跑它的硬件", "alternatives": "替代方案",
        "needs_gib": "需要 {total:.1f} GiB", "layers_on_gpu": "{layers}/{total} 层在 GPU 上",
        "memory_sum": "权重 {weights:.1f} + KV 缓存 {kv:.2f} + 额外开销 {overhead:.1f} GiB",
        "speed_value": "预计约 {expected:.1f} tokens/s（上限 {ceiling:.1f}）；瓶颈：{limit}",
        "gpu_memory_bandwidth": "显存带宽", "ram_bandwidth": "内存带宽",
        "cpu_compute": "CPU 算力", "speed_range": "大概 {low:g}–{high:g}（{count} 条实测）",
        "speed_range_one": "大概 {low:g}–{high:g}（1 条实测）",
        "per_user": "（{users} 人同时生成时每人）",
        "prefill_value": "提示词：约 {rate:,.0f} tokens/s", "ttft_value": "约 {seconds:.1f} 秒后出第一个 token",
        "command": "命令", "serving": "多用户",
        "serving_value": "{users} 个用户 × {context:,} token：KV {kv:.1f} GiB；最多 {max_users} 个用户",
        "training": "微调",
        "training_value": "{method}：{total:.1f} GiB（批大小 {batch}，序列 {seq:,}）",
        "item_on": "（{hardware}）", "more": "…… 另有 {count} 项", "footer": "规则引擎 · {ms:.0f} ms",
        "sources": "**来源：**",
        "diagnosis": "运行日志", "diag_value": "实测 {measured} tokens/s · 预测约 {predicted}（{low}–{high}）",
        "diag_measured_only": "实测 {measured} tokens/s · 没有可比较的预测",
        "diag_no_speed": "日志里没有生成速度",
        "diag_verdict": {"normal": "正常", "slow": "比预测慢", "fast": "比预测快", "no_speed": "没有速度",
                         "no_prediction": "没有预测"},
        "diag_causes": {"partial_offload": "部分卸载", "kv_on_cpu": "KV 缓存在内存", "cpu_fallback": "回退到 CPU",
                        "np_slots": "上下文被 -np 槽位平分", "slower_than_predicted": "比预测慢"},
    },
}


def _label(answer: Answer, key: str, **fields) -> str:
    return LABELS[language_of(answer.question)][key].format(**fields)


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
        return LABELS[lang]["needs_gib"].format(total=total_gib)
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
    lines = [f"`{memory_bar(m.total_gib, m.available_gib, lang=language_of(answer.question))}`",
             _label(answer, "memory_sum", weights=m.weights_gib, kv=m.kv_cache_gib, overhead=m.overhead_gib)]
    if m.gpu_layers is not None and answer.verdict is not None and answer.verdict.value == "partial_offload":
        lines.append(_label(answer, "layers_on_gpu", layers=m.gpu_layers, total=m.total_layers))
    return "\n".join(lines)


def _speed_field(answer: Answer) -> str | None:
    s = answer.speed
    if s is None:
        return None
    lines = [_label(answer, "speed_value", expected=s.expected_tokens_per_s,
                    ceiling=s.theoretical_max_tokens_per_s, limit=_label(answer, s.bottleneck))]
    if s.expected_range:
        key = "speed_range_one" if s.measurements == 1 else "speed_range"  # English singular
        lines.append(_label(answer, key, low=s.expected_range[0], high=s.expected_range[1], count=s.measurements))
    if s.prompt_tokens_per_s:
        lines.append(_label(answer, "prefill_value", rate=s.prompt_tokens_per_s))
    if s.time_to_first_token_s is not None:
        lines.append(_label(answer, "ttft_value", seconds=s.time_to_first_token_s))
    return "\n".join(lines)


def _serving_field(answer: Answer) -> str | None:
    v = answer.serving
    if v is None:
        return None
    return _label(answer, "serving_value", users=v.users, context=v.context_per_user, kv=v.kv_cache_gib,
                  max_users=v.max_users)


def _training_field(answer: Answer) -> str | None:
    t = answer.training
    if t is None:
        return None
    return _label(answer, "training_value", method=t.method, total=t.total_gib, batch=t.batch_size,
                  seq=t.sequence_length)


def _diagnosis_field(answer: Answer) -> str | None:
    d = answer.diagnosis
    if d is None:
        return None
    labels = LABELS[language_of(answer.question)]
    if d.measured_tokens_per_s is None:
        first = labels["diag_no_speed"]
    elif d.predicted_tokens_per_s is not None and d.predicted_range:
        first = labels["diag_value"].format(measured=f"{d.measured_tokens_per_s:g}", predicted=f"{d.predicted_tokens_per_s:g}",
                                            low=f"{d.predicted_range[0]:g}", high=f"{d.predicted_range[1]:g}")
    else:
        first = labels["diag_measured_only"].format(measured=f"{d.measured_tokens_per_s:g}")
    lines = [f"{first} → {labels['diag_verdict'][d.verdict]}"]
    lines += [f"• {labels['diag_causes'].get(c.code, c.code)}" for c in d.causes]
    return "\n".join(lines)


def _command_field(answer: Answer) -> str | None:
    return f"`{code(answer.command)}`" if answer.command else None


def _alternatives_field(answer: Answer, limit: int = 8) -> str | None:
    if not answer.recommendations:
        return None
    lines = []
    for r in answer.recommendations[:limit]:
        speed = f", ~{r.expected_tokens_per_s:.0f} tok/s" if r.expected_tokens_per_s else ""
        if r.expected_tokens_per_s and r.expected_range:
            speed += f" ({r.expected_range[0]:.0f}–{r.expected_range[1]:.0f})"
        if r.expected_tokens_per_s and r.users:
            speed += _label(answer, "per_user", users=r.users)
        where = _label(answer, "item_on", hardware=defuse(r.hardware)) if r.hardware else ""
        lines.append(f"• {defuse(r.model)} {defuse(r.quant)}{where}: {_label(answer, r.verdict.value)}, "
                     f"{r.total_gib:.1f} GiB{speed}")
    if len(answer.recommendations) > limit:
        lines.append(_label(answer, "more", count=len(answer.recommendations) - limit))
    return _clip("\n".join(lines), FIELD_VALUE_LIMIT)


def _alternatives_name(answer: Answer) -> str:
    if answer.intent in ("recommend", "serve"):
        return _label(answer, "models_fit")
    if any(r.hardware for r in answer.recommendations):
        return _label(answer, "hardware_runs_it")
    return _label(answer, "alternatives")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rule_embeds(answer: Answer) -> list[discord.Embed]:
    """One embed with the verdict, memory bar, speed and alternatives; a long answer
    text continues in further embeds (each within Discord's limits)."""
    colour = answer_colour(answer)
    first = discord.Embed(title=_title(answer), colour=colour)
    fields = [(_label(answer, "memory"), _memory_field(answer)), (_label(answer, "speed"), _speed_field(answer)),
              (_label(answer, "serving"), _serving_field(answer)), (_label(answer, "training"), _training_field(answer)),
              (_alternatives_name(answer), _alternatives_field(answer)), (_label(answer, "diagnosis"), _diagnosis_field(answer)),
              (_label(answer, "command"), _command_field(answer))]
    for name, value in fields:
        if value:
            first.add_field(name=name, value=_clip(value, FIELD_VALUE_LIMIT), inline=False)
    footer = _label(answer, "footer", ms=answer.elapsed_ms)
    first.set_footer(text=footer)
    used = len(first.title or "") + len(footer) + sum(len(f.name or "") + len(f.value or "") for f in first.fields)
    room = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used - 16)
    text = defuse(answer.answer.strip()) or "(no answer)"  # it may echo what the user typed
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
        parts.append(f"-# {answer.llm.model}: {answer.llm.completion_tokens} tokens at "
                     f"{answer.llm.tokens_per_s:.1f} tokens/s")
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
def _host_lines(host: dict | None) -> list[str]:
    """The host's hardware. Not its kernel, Python or model-server flags: /botinfo is
    for every member, and software versions only help someone looking for a hole."""
    if not host:
        return ["Host: not probed yet"]
    cpu = host.get("cpu") or {}
    gpus = host.get("gpus") or []
    lines = [
        f"**CPU:** {cpu.get('model', '?')} ({cpu.get('cores', '?')} cores / {cpu.get('threads', '?')} threads)",
        f"**RAM:** {host.get('ram_gib', '?')} GiB",
        "**GPUs:** " + (", ".join(f"{g.get('name')} {g.get('vram_gib')} GiB" for g in gpus) or "none"),
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
    if (p := data.get("predicted")) and p.get("expected_tokens_per_s"):
        low, high = p["expected_range"]
        lines.append(f"**Rule engine predicts:** ~{p['expected_tokens_per_s']} tokens/s, likely {low}–{high} "
                     f"(ceiling {p['theoretical_max_tokens_per_s']}; from the measured "
                     f"{p['ram_bandwidth_gbs_measured']:g} GB/s and {p['matmul_gflops_measured']:g} GFLOP/s)")
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
    if threads and "decode_tokens_per_s" in threads:  # measured by llama-server at first start
        for label, key, flag in (("Decode", "decode_tokens_per_s", "threads"),
                                 ("Prefill", "prefill_tokens_per_s", "threads_batch")):
            lines.append(f"**{label} tokens/s by thread count:** "
                         + ", ".join(f"{k}: {float(v):.0f}" for k, v in sorted(threads[key].items()))
                         + f" (using {threads[flag]})")
    if reports := data.get("speed_reports"):
        from bot.stats import speed_reports_line

        lines.append(speed_reports_line(reports))
    if guilds is not None:
        lines.append(f"**Servers:** {guilds}")
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


def compare_embed(comparison) -> discord.Embed:
    """The chart of `rules.compare.compare`, with the fastest card that holds each quant."""
    embed = discord.Embed(title=f"{defuse(comparison.model)} across GPUs and quantizations",
                          colour=discord.Colour.blurple())
    lines = []
    for row in comparison.summary():
        if best := row.fastest:
            low, high = best.expected_range
            lines.append(f"**{row.quant}** ({row.total_gib:.1f} GiB): fastest on {best.gpu}, "
                         f"~{best.expected_tokens_per_s:g} tokens/s (likely {low:g}–{high:g})")
        else:
            lines.append(f"**{row.quant}** ({row.total_gib:.1f} GiB): fits none of these cards whole")
    embed.description = _clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    embed.set_image(url=f"attachment://{COMPARE_PNG}")
    embed.set_footer(text=f"{comparison.context:,} context; partial offload assumes {comparison.ram_gib:g} GiB RAM")
    return embed
