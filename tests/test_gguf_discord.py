"""A GGUF attached to a Discord message: the model and quant are read from its file name
(the file is never downloaded) and the reply says so. discord.py runs for real against
the simcord simulator."""

from __future__ import annotations

FAKE_GGUF = b"GGUF" + bytes(60)  # the bot must not read it: only its name counts


async def test_attached_gguf_is_sized_by_its_file_name(world, service):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 3060 12GB run this?",
                                  attachments=[("Qwen2.5-7B-Instruct-Q4_K_M.gguf", FAKE_GGUF)])
    replies = world.replies_to(sent.id)
    assert replies, "no answer"
    first = replies[0]
    assert "Qwen2.5-7B-Instruct-Q4_K_M.gguf" in first.content and "not downloaded" in first.content
    title = first.embeds[0].get("title") or ""
    assert "3060" in title
    custom_id = first.components[0]["components"][0]["custom_id"]
    row = await service.store.get_answer(int(custom_id.rsplit(":", 1)[1]))
    assert "Qwen2.5 7B Q4_K_M" in row["question"]


async def test_unknown_model_in_the_file_name_is_said_not_guessed(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 3060 12GB run it?",
                                  attachments=[("Zorblax-13B.Q4_K_M.gguf", FAKE_GGUF)])
    replies = world.replies_to(sent.id)
    assert replies and "Zorblax-13B.Q4_K_M.gguf" in replies[0].content
    assert "don't recognise a model" in replies[0].content
