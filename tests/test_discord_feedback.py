"""👍/👎 buttons under an answer store feedback in SQLite, statelessly: they keep
working after the bot restarts (persistent dynamic items)."""

from __future__ import annotations

QUESTION = "can an RTX 3060 12GB run 13B 4-bit?"


def _button_ids(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


async def test_feedback_buttons_store_votes(world, service):
    result = await world.alice.slash(world.channel, "ask", question=QUESTION)
    up, down = _button_ids(result.response)
    log_id = int(up.rsplit(":", 1)[1])
    assert up == f"rigbot:fb:up:{log_id}" and down == f"rigbot:fb:down:{log_id}"

    click = await world.bob.click(result.response, custom_id=up)
    assert click.ephemeral and "Thanks" in click.response.content
    row = await service.store.get_answer(log_id)
    assert row["feedback"] == 1 and row["feedback_by"] == str(world.bob.id)

    await world.bob.click(result.response, custom_id=down)  # changing one's mind
    row = await service.store.get_answer(log_id)
    assert row["feedback"] == -1


async def test_feedback_survives_a_restart(world, service):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> {QUESTION}")
    answer = world.replies_to(sent.id)[0]
    down = _button_ids(answer)[1]

    from bot.discord import create_bot

    await world.env.restart_bot(create_bot(service.settings, service))
    message = world.channel.history()[-1]
    await world.alice.click(message, custom_id=down)

    row = await service.store.get_answer(int(down.rsplit(":", 1)[1]))
    assert row["feedback"] == -1 and row["feedback_by"] == str(world.alice.id)
