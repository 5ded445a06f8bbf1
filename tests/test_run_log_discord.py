"""A run log in Discord: pasted into a message (within the 2000-character limit) or
attached as a .log file (longer than any message), the reply names the partial offload
and gives the corrected flags, and the answers table keeps only the lines the diagnosis
used. discord.py runs for real against the simcord simulator."""

from __future__ import annotations

from pathlib import Path

LOG = (Path(__file__).parent / "data" / "logs" / "cuda_partial_offload_4060_laptop_mistral7b.txt").read_text(
    "utf-8").split("\n", 1)[1]
# the lines a user pastes from that log: the device, the model, the offload and the timings
PASTED = "\n".join(line for line in LOG.splitlines() if any(key in line for key in (
    "Device 0", "using device", "general.name str", "file type", "offloaded", "model buffer size",
    "KV buffer size", "n_ctx =", "eval time")))


def _text(reply) -> str:
    embed = reply.embeds[0] if reply.embeds else {}
    fields = " ".join(f.get("value", "") for f in embed.get("fields", []))
    return " ".join([reply.content or "", embed.get("title") or "", embed.get("description") or "", fields])


async def _stored_question(service, reply) -> str:
    custom_id = reply.components[0]["components"][0]["custom_id"]
    row = await service.store.get_answer(int(custom_id.rsplit(":", 1)[1]))
    return row["question"]


async def test_pasted_partial_offload_log_gets_the_cause_and_the_flags(world, service):
    me = world.env.bot.user
    content = f"<@{me.id}> why is it so slow?\n{PASTED}"
    assert len(content) <= 2000
    sent = await world.alice.send(world.channel, content)
    replies = world.replies_to(sent.id)
    assert replies, "no answer"
    text = _text(replies[0])
    assert "Partial offload" in text and "20 of 33 layers" in text
    assert "-ngl 99" in text  # the corrected flags
    assert "offloaded 20/33 layers to GPU" in text  # the evidence line


async def test_attached_log_longer_than_a_message_is_read(world, service):
    me = world.env.bot.user
    assert len(LOG) > 2000
    sent = await world.alice.send(world.channel, f"<@{me.id}> is this speed normal?",
                                  attachments=[("server.log", LOG.encode())])
    replies = world.replies_to(sent.id)
    assert replies, "no answer"
    text = _text(replies[0])
    assert "Partial offload" in text and "-ngl 99" in text and "18.5 tokens/s" in text
    stored = await _stored_question(service, replies[0])
    assert stored.startswith("is this speed normal?")
    assert "load_tensors: offloaded 20/33 layers to GPU" in stored
    # not the raw paste: the per-layer lines of the log are not kept
    assert "layer 5 assigned to device CPU" not in stored and len(stored) < len(LOG) / 3


async def test_attached_log_over_the_size_limit_is_refused_with_a_sentence(world, service):
    service.settings.max_paste_chars = 4000
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> why is it slow?",
                                  attachments=[("server.log", LOG.encode())])
    replies = world.replies_to(sent.id)
    assert replies and "server.log is" in replies[0].content and "4,000 bytes" in replies[0].content


async def test_console_paste_of_a_log_is_diagnosed(settings):
    """The console's /paste: a whole log (blank lines included) up to a line with only "."."""
    import io

    from bot.console import run_console

    stdin = io.StringIO("/paste why is it so slow?\n" + LOG + "\n.\n/quit\n")
    out = io.StringIO()
    await run_console(settings, stdin=stdin, stdout=out)
    text = out.getvalue()
    assert "Partial offload: only 20 of 33 layers" in text and "-ngl 99" in text


async def test_a_long_llama_bench_table_is_not_refused_as_too_long(service):
    """16 rows of markdown are past max_question_chars (1000); the words around them are not."""
    table = (Path(__file__).parent / "data" / "bench" / "cuda-ngl-sweep-old.md").read_text("utf-8")
    question = "Llama 2 7B Q4_0: is this speed normal?\n" + table
    assert len(question) > service.settings.max_question_chars
    answer = await service.ask(question)
    assert answer.error is None and answer.intent == "diagnose" and len(answer.diagnosis.rows) == 8
    junk = "word " * 400 + "\n" + table  # 2000 characters of words: still too long
    assert (await service.ask(junk)).error == "question_too_long"


async def test_what_the_answers_table_keeps_of_a_paste(service):
    answer = await service.ask("why is it slow?\n" + LOG)
    row = await service.store.get_answer(answer.log_id)
    assert row["question"].startswith("why is it slow?\n[pasted llama.cpp log:")
    assert "offloaded 20/33 layers to GPU" in row["question"] and len(row["question"]) < 2000
    refused = await service.ask("x" * 300_000)  # past max_paste_chars: refused, and only its start kept
    row = await service.store.get_answer(refused.log_id)
    assert refused.error == "question_too_long" and len(row["question"]) < 1100


async def test_a_utf16_log_without_a_byte_order_mark_is_read_as_the_log(world, service):
    """Windows tools can write UTF-16 without a BOM; it was decoded as UTF-8 with a NUL
    between every letter and answered as a 16,504-character question."""
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> is this speed normal?",
                                  attachments=[("server.log", LOG.encode("utf-16-le"))])
    text = _text(world.replies_to(sent.id)[0])
    assert "Partial offload" in text and "18.5 tokens/s" in text


async def test_a_log_beside_nvidia_smi_output_is_not_ignored(world, service):
    me = world.env.bot.user
    smi = ("+-----------------------------------------------------------------------------+\n"
           "| NVIDIA-SMI 550.54       Driver Version: 550.54       CUDA Version: 12.4     |\n"
           "|   0  NVIDIA GeForce RTX 4060 Laptop GPU   Off | 00000000:01:00.0 Off |  N/A |\n"
           "| N/A   52C    P0    30W /  80W |   7800MiB /  8188MiB |     45%      Default |\n")
    sent = await world.alice.send(world.channel, f"<@{me.id}> is this speed normal?",
                                  attachments=[("nvidia-smi.txt", smi.encode()), ("server.log", LOG.encode())])
    text = _text(world.replies_to(sent.id)[0])
    assert "Partial offload" in text and "18.5 tokens/s" in text, "the log was read too"


async def test_a_laptop_named_in_the_question_does_not_block_the_diagnosis(world, service):
    """"why is it slow on my RTX 4060 laptop?" over the laptop's log got only "tell me the
    laptop GPU's VRAM" (and saying it changed nothing), while "is this speed normal?" over
    the same log was diagnosed."""
    me = world.env.bot.user
    for words in ("why is it slow on my RTX 4060 laptop?", "why is my 4060 laptop (8GB VRAM) this slow?"):
        sent = await world.alice.send(world.channel, f"<@{me.id}> {words}",
                                      attachments=[("server.log", LOG.encode())])
        text = _text(world.replies_to(sent.id)[0])
        assert "Partial offload" in text and "-ngl 99" in text and "VRAM instead" not in text, words
