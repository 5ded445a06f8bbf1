"""Slash commands and their autocomplete, driven through discord.py's real app-command
machinery against the simcord simulator."""

from __future__ import annotations

import discord

GREEN, AMBER, RED = discord.Colour.green().value, discord.Colour.gold().value, discord.Colour.red().value


def _embed(result) -> discord.Embed:
    assert result.response is not None and result.response.embeds, result
    return result.response.embeds[0]


def _field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


async def test_commands_are_synced(world):
    visible = world.alice.available_commands(world.channel)
    assert {"ask", "canrun", "recommend", "speed", "botinfo", "stats"} <= set(visible)
    assert "reload" not in visible and "rigbot channel enable" not in visible  # admin only
    admin_visible = world.admin.available_commands(world.channel)
    assert {"reload", "rigbot channel enable", "rigbot channel disable"} <= set(admin_visible)


async def test_ask_rules_question(world):
    result = await world.alice.slash(world.channel, "ask", question="can an RTX 3060 12GB run 13B 4-bit?")
    # ready at once: answered without deferring (an error would then go to the asker alone)
    assert world.callback_types() == [4] and not result.ephemeral
    embed = _embed(result)
    assert embed.colour.value == GREEN
    assert "3060" in embed.title
    bar = _field(embed, "Memory")
    assert "█" in bar and "/12 GiB" in bar
    # each figure once: the speed is in the answer text, not again in a field
    assert "tokens/s" in embed.description and [f.name for f in embed.fields] == ["Memory", "Command"]
    assert "llama-server" in _field(embed, "Command") and "llama-server" not in embed.description
    assert embed.description  # the engine's answer text, assumptions included
    ids = [c["custom_id"] for row in result.response.components for c in row["components"]]
    assert ids[0].startswith("rigbot:fb:up:") and ids[1].startswith("rigbot:fb:down:")


async def test_canrun_with_all_options(world, catalog):
    model = next(m.name for m in catalog.models if m.name.lower().startswith("llama 2 70b"))
    result = await world.alice.slash(world.channel, "canrun", gpu="RTX 3060 12GB", model=model,
                                     quant="Q4_K_M", context=2048)
    embed = _embed(result)
    assert embed.colour.value in (AMBER, RED)  # 70B does not fit a 12 GB card
    assert model in embed.title and "Q4_K_M" in embed.title


async def test_canrun_fits_green(world, catalog):
    result = await world.alice.slash(world.channel, "canrun", gpu="RTX 4090", model="Llama 2 7B")
    embed = _embed(result)
    assert embed.colour.value == GREEN
    assert "4090" in embed.title


async def test_autocomplete_gpu_model_quant(world, catalog):
    gpus = await world.alice.autocomplete(world.channel, "canrun", "gpu", "3060")
    names = [c["name"] for c in gpus]
    assert names and all("3060" in n for n in names[:2]) and len(names) <= 25
    assert all(c["name"] == c["value"] for c in gpus)

    fuzzy = await world.alice.autocomplete(world.channel, "canrun", "gpu", "rtx4o90")
    assert any("4090" in c["name"] for c in fuzzy[:3])

    everything = await world.alice.autocomplete(world.channel, "canrun", "gpu", "")
    assert len(everything) == min(25, len(catalog.gpus))

    models = await world.alice.autocomplete(world.channel, "canrun", "model", "llama 2 13", gpu="RTX 3060 12GB")
    assert models and "13B" in models[0]["name"]

    quants = await world.alice.autocomplete(world.channel, "canrun", "quant", "q4_k")
    assert quants and quants[0]["name"].upper().startswith("Q4_K")

    speed_models = await world.alice.autocomplete(world.channel, "speed", "model", "mistral")
    assert all(c["name"] in {m.name for m in catalog.models} for c in speed_models)


async def test_recommend(world):
    result = await world.alice.slash(world.channel, "recommend", hardware="RTX 4070 12GB")
    embed = _embed(result)
    assert "4070" in embed.title
    assert embed.description.count("•") >= 2  # the models that fit, listed once, in the text


async def test_recommend_for_a_use_ranks_by_evidence(world):
    uses = await world.alice.autocomplete(world.channel, "recommend", "use", "cod")
    assert uses and uses[0] == {"name": "coding", "value": "coding"}
    assert {c["value"] for c in await world.alice.autocomplete(world.channel, "recommend", "use", "")} >= {
        "coding", "reasoning", "chinese", "general", "tool_use"}
    result = await world.alice.slash(world.channel, "recommend", hardware="RTX 3090", use="coding")
    embed = _embed(result)
    assert "3090" in embed.title
    assert "ranked by **LiveCodeBench" in embed.description and "unknown, not estimated" in embed.description


async def test_speed_by_model_and_gpu(world):
    result = await world.alice.slash(world.channel, "speed", model="Llama 2 13B", gpu="RTX 3090")
    assert "tokens/s" in _embed(result).description


async def test_speed_by_bandwidth_and_size(world):
    # the article's own example: 115 GB/s ÷ 13 GB ≈ 8.8 tokens/s
    result = await world.alice.slash(world.channel, "speed", bandwidth_gbs=115.0, model_size_gb=13.0)
    embed = _embed(result)
    assert "8.8" in embed.description


async def test_speed_needs_something_to_size(world):
    result = await world.alice.slash(world.channel, "speed", model="Llama 2 13B")
    assert result.ephemeral and "bandwidth_gbs" in result.response.content


async def test_botinfo_shows_host_and_measured_speed(world, service):
    await service.probe_host()
    result = await world.alice.slash(world.channel, "botinfo")
    assert world.callback_types() == [5]
    embed = _embed(result)
    assert "CPU:" in embed.description and "RAM:" in embed.description
    assert "Measured:" in embed.description


async def test_stats(world):
    await world.alice.slash(world.channel, "ask", question="can an RTX 3060 12GB run 13B 4-bit?")
    result = await world.alice.slash(world.channel, "stats")
    embed = _embed(result)
    assert "rules 1" in embed.description


async def test_command_descriptions_in_chinese_for_chinese_clients(world):
    """Every command's and option's description comes from phrases.toml; a Chinese Discord
    client is shown the Chinese one (synced as its zh-CN localization)."""
    ask = world.env.backend.find_command("ask", None, type=1)
    assert ask["description"] == "Ask about running LLMs on your hardware"
    assert ask["description_localizations"]["zh-CN"] == "问关于在你的硬件上运行大模型的问题"
    option = ask["options"][0]
    assert option["description_localizations"]["zh-CN"].startswith("例如")
    report = world.env.backend.find_command("report", None, type=1)
    add = next(o for o in report["options"] if o["name"] == "add")
    assert add["description_localizations"]["zh-TW"].startswith("报告你实测的生成速度")
