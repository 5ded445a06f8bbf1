"""Layout of answers for Discord: splitting within Discord's limits, verdict colours,
the memory bar. Pure functions; no Discord connection needed."""

from __future__ import annotations

import discord

from bot.answer import Answer
from bot.discord import render


def test_split_text_prefers_paragraphs_then_lines():
    paragraphs = [("word " * 80).strip() for _ in range(12)]  # 12 × ~400 chars
    text = "\n\n".join(paragraphs)
    pieces = render.split_text(text, 2000)
    assert len(pieces) >= 3 and all(len(p) <= 2000 for p in pieces)
    assert all(p.endswith("word") for p in pieces), "cut at a boundary, not inside a word"
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert render.split_text("x" * 4500, 2000) == ["x" * 2000, "x" * 2000, "x" * 500]


def test_long_rule_text_continues_in_more_embeds():
    answer = Answer(question="q", route="rules", intent="can_run", answer="\n".join(["line " * 30] * 60))
    embeds = render.rule_embeds(answer)
    assert len(embeds) >= 2
    for e in embeds:
        assert len(e.description) <= render.EMBED_DESCRIPTION_LIMIT and len(e) <= render.EMBED_TOTAL_LIMIT


def test_memory_bar():
    assert render.memory_bar(9.5, 12) == "████████░░ 9.5/12 GiB"
    assert render.memory_bar(30, 12).startswith("█" * 10)
    assert render.memory_bar(7.2, None) == "needs 7.2 GiB"


def test_verdict_colours():
    def colour(verdict, error=None):
        return render.answer_colour(Answer(question="q", route="rules", intent="can_run", answer="a",
                                           verdict=verdict, error=error))

    assert colour("fits_gpu") == discord.Colour.green()
    assert colour("partial_offload") == colour("cpu_only") == discord.Colour.gold()
    assert colour("does_not_fit") == discord.Colour.red()
    assert colour(None, error="unknown_gpu") == discord.Colour.light_grey()


def test_rate_limited_text():
    assert render.rate_limited_text(59.2).startswith("You're asking the model fast — try again in 60 s.")
    assert "60 秒" in render.rate_limited_text(59.2, "zh")


async def test_chinese_question_gets_a_chinese_embed(service):
    answer = await service.ask("一张4090能跑llama 3.1 70b吗")
    embed = render.rule_embeds(answer)[0]
    assert "部分卸载" in embed.title
    assert [f.name for f in embed.fields] == ["内存", "命令"]
    assert "llama-server" in embed.fields[1].value and "llama-server" not in embed.description
    assert "█" in embed.fields[0].value and "替代" not in [f.name for f in embed.fields]
    assert "部分可以" in embed.description and "规则引擎" in embed.footer.text


async def test_english_question_gets_an_english_embed(service):
    answer = await service.ask("can a 4090 run llama 3.1 70b?")
    embed = render.rule_embeds(answer)[0]
    assert "partial offload" in embed.title and [f.name for f in embed.fields] == ["Memory", "Command"]


async def test_each_figure_shows_once_rounded_one_way(service):
    """The KV cache was "3.1" in the text and "3.12" in a field; the speed, serving,
    training and alternatives fields repeated the text. Now the text holds every figure
    and the fields only the memory bar and the command."""
    answer = await service.ask("can an RTX 3060 12GB run 13B 4-bit?")
    embed = render.rule_embeds(answer)[0]
    whole = embed.description + "\n" + "\n".join(f.value for f in embed.fields)
    assert "KV cache 3.1 " in embed.description and "3.12" not in whole
    assert whole.count(answer.command) == 1, "the command once, in its field"
    assert whole.count("11.2") == 2, "the total in the text and on the memory bar, rounded the same"
    assert whole.count("tokens/s expected") == 1


def test_botinfo_stats_and_compare_in_chinese():
    data = {"host": {"cpu": {"model": "EPYC", "cores": 2, "threads": 2}, "ram_gib": 8, "gpus": []},
            "model": "SmolLM2.gguf", "tokens_per_s": None, "answers_by_route": {"rules": 3}}
    info = render.botinfo_embed(data, 12.0, "zh")
    assert info.title == "RigBot 运行在" and "**内存：** 8 GiB" in info.description and "网关延迟" in info.footer.text
    assert "还没有生成" in render.stats_embed(data, 2, "zh").description
    from rules.compare import compare

    embed = render.compare_embed(compare("llama 3.1 8b"), "zh")
    assert "在各显卡和量化下的对比" in embed.title and "最快的是" in embed.description


def test_a_comparison_table_reads_as_columns_in_discord():
    """Discord renders no Markdown tables: the comparison's rows show as aligned columns."""
    from bot.answer import Answer
    from bot.discord.render import rule_embeds
    from rules.engine import answer_question

    result = answer_question("4090 vs 5090 for llama 3.3 70b")
    embed = rule_embeds(Answer(question="q", route="rules", **result.model_dump()))[0]
    assert "```" in embed.description and "|---" not in embed.description
    block = embed.description.split("```")[1]
    assert "RTX 4090" in block and "RTX 5090" in block and "|" not in block
