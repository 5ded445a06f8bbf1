"""/report through discord.py's real app-command machinery against simcord, with the bot
from create_bot(): acknowledged with what was understood, shown in answers once users
report, rate-limited, listed and deleted by its owner; /rigbot purge everywhere for operators only."""

from __future__ import annotations


def _text(result) -> str:
    """Everything a reply shows: its content and every embed's description and fields."""
    message = result.response
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.description or ""] + [f.value for f in embed.fields]
    return "\n".join(parts)


async def test_report_acknowledged_then_shown_in_answers_and_rate_limited(world, service):
    service.settings.reports_per_hour = 1
    first = await world.alice.slash(world.channel, "report add", gpu="RTX 3090", model="Llama 3.1 8B",
                                    quant="Q4_K_M", tokens_per_s=80.0)
    assert first.ephemeral
    assert "Recorded: **80 tokens/s** for Llama 3.1 8B Q4_K_M on RTX 3090" in first.response.content
    assert "RigBot predicts" in first.response.content

    second = await world.bob.slash(world.channel, "report add", text="RTX 3090, llama 3.1 8b q4_k_m, 88 tok/s")
    assert "Recorded: **88 tokens/s**" in second.response.content

    answer = await world.alice.slash(world.channel, "ask", question="can an RTX 3090 run llama 3.1 8b q4_k_m?")
    assert "2 measurements on RTX 3090: median 84 tokens/s (range 80–88)" in _text(answer)
    assert "below RigBot's prediction" in _text(answer)  # both figures shown (the range is 103–170 tokens/s)
    stats = await world.alice.slash(world.channel, "stats")
    assert "User speed reports: 2 from 2 users (too few users 2)" in _text(stats)

    limited = await world.alice.slash(world.channel, "report add", gpu="RTX 3090", model="Llama 3.1 8B",
                                      quant="Q8_0", tokens_per_s=80.0)
    assert "You have reached the limit of 1 reports per hour; try again in" in limited.response.content
    assert len(await service.store.speed_reports(str(world.alice.id))) == 1


async def test_unknown_gpu_report_says_did_you_mean_and_stores_nothing(world, service):
    result = await world.alice.slash(world.channel, "report add", gpu="RTX 9999", model="Llama 3.1 8B",
                                     quant="Q4_K_M", tokens_per_s=100.0)
    assert "I don't know a GPU called" in result.response.content and "Did you mean" in result.response.content
    assert await service.store.speed_reports() == []


async def test_report_list_and_delete_are_the_owners(world, service):
    await world.alice.slash(world.channel, "report add", text="RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s")
    await world.bob.slash(world.channel, "report add", text="RTX 4090, llama 3.1 8b q4_k_m, 150 tok/s")
    listing = await world.alice.slash(world.channel, "report list")
    assert listing.ephemeral and "RTX 3090 · Llama 3.1 8B Q4_K_M · 112 tokens/s" in listing.response.content
    assert "4090" not in listing.response.content

    bobs = (await service.store.speed_reports(str(world.bob.id)))[0]["id"]
    refused = await world.alice.slash(world.channel, "report delete", number=bobs)
    assert "no speed report to delete" in refused.response.content
    deleted = await world.alice.slash(world.channel, "report delete")
    assert "Deleted 1 of your speed reports." in deleted.response.content
    assert [r["device"] for r in await service.store.speed_reports()] == ["RTX 4090"]


async def test_purge_is_for_admins(world, service):
    await world.alice.slash(world.channel, "report add", text="RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s")
    await service.store.set_rig(str(world.alice.id), {"gpus": ["RTX 3090"]})
    assert "rigbot purge" not in world.alice.available_commands(world.channel)

    # a server administrator purges what the server holds; a user's reports and rig follow
    # them across servers, so purging those everywhere is for RigBot's operators
    done = await world.admin.slash(world.channel, "rigbot purge", user=world.alice)
    assert done.ephemeral and "/report delete" in done.response.content
    assert len(await service.store.speed_reports()) == 1
    service.settings.admin_user_ids = [world.admin.id]
    done = await world.admin.slash(world.channel, "rigbot purge", user=world.alice, everywhere=True)
    assert done.ephemeral and "speed reports 1" in done.response.content and "saved rig 1" in done.response.content
    assert await service.store.speed_reports() == [] and await service.store.get_rig(str(world.alice.id)) is None


async def test_an_exponent_is_not_read_as_the_speed(world, service):
    """/report stored "1e9 tok/s" as 9.0 tokens/s: the exponent's digits were the figure."""
    result = await world.alice.slash(world.channel, "report add", text="RTX 3090, llama 3.1 8b q4_k_m, 1e9 tok/s")
    text = result.response.content
    assert "9.0" not in text and "Recorded" not in text
    assert await service.store.speed_reports() == []
