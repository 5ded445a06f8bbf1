"""The saved rig (/myrig, `rigbot rig`): read from typed text or pasted tool output,
stored per user (hardware fields only, never the text) in the real SQLite file and
PostgreSQL, used by questions that name no hardware and said so, in Discord (simcord),
the console and the CLI."""

from __future__ import annotations

import io
import json
import logging

import pytest
from conftest import ROOT
from test_cli import run_cli

from bot.saved_rig import SCHEMA_VERSION, apply_saved, load, read_rig
from rules.parser import parse

PASTED = ROOT / "tests" / "data" / "pasted"
# what must never reach the store or the log: serials, UUIDs, bus ids, process names
PRIVATE = ("GPU-4a1b2c3d", "00000000:01:00.0", "/usr/lib/xorg/Xorg", "Driver Version", "Hardware UUID",
           "Serial Number")


def pasted(name: str) -> str:
    return (PASTED / name).read_text(encoding="utf-8")


# reading ----------------------------------------------------------------------------
@pytest.mark.parametrize(("sample", "hardware"), [
    ("nvidia-smi-535-2x3090.txt", {"gpu_names": ["RTX 3090"], "gpu_counts": [2]}),
    ("nvidia-smi-550-h100.txt", {"gpu_names": ["H100 SXM"], "gpu_counts": [1]}),
    ("nvidia-smi-418-1080ti.txt", {"gpu_names": ["GTX 1080 Ti", "Tesla P40"], "gpu_counts": [1, 1]}),
    ("nvidia-smi-L.txt", {"gpu_names": ["RTX 4090"], "gpu_counts": [2]}),
    ("nvidia-smi-query-csv.txt", {"gpu_names": ["RTX 3060 12GB"], "gpu_counts": [1]}),
    ("rocm-smi-7900xtx.txt", {"gpu_names": ["Radeon RX 7900 XTX"], "gpu_counts": [1]}),
    ("macos-m2max-64gb.txt", {"gpu_names": ["Apple M2 Max 64GB"], "gpu_counts": [1]}),
    ("macos-m3max-40core-48gb.txt", {"gpu_names": ["Apple M3 Max 48GB"], "gpu_counts": [1]}),
    ("lscpu-free-xeon.txt", {"cpu_name": "Xeon Platinum 8480+", "ram_gib": 503.0}),
    ("lscpu-free-epyc.txt", {"cpu_name": "EPYC 9654", "ram_gib": 1511.0}),
])
def test_tool_output_becomes_hardware_fields_only(catalog, sample, hardware):
    stored, reply = read_rig(pasted(sample), catalog)
    assert reply.saved and stored == {"version": SCHEMA_VERSION, "hardware": hardware,
                                      "description": stored["description"], "assumptions": stored["assumptions"]}
    assert any("read from the pasted" in a for a in stored["assumptions"])
    text = json.dumps(stored)
    assert not [p for p in PRIVATE if p in text]
    assert stored["description"] in reply.text.replace("**", "")


@pytest.mark.parametrize(("text", "hardware", "description"), [
    ("RTX 3090 and 64GB DDR5-6000", {"gpu_names": ["RTX 3090"], "gpu_counts": [1], "ram_gib": 64.0,
                                     "ram_kind": "DDR5-6000"}, "RTX 3090 24 GB + 64 GiB DDR5-6000"),
    ("2x 4090, 128GB", {"gpu_names": ["RTX 4090"], "gpu_counts": [2], "ram_gib": 128.0},
     "2× RTX 4090 24 GB + 128 GiB RAM"),
    ("M2 Max 64GB", {"gpu_names": ["Apple M2 Max 64GB"], "gpu_counts": [1]}, "Apple M2 Max 64GB (unified memory)"),
    ("no GPU, Ryzen 9 7950X 64GB DDR5", {"cpu_only": True, "cpu_name": "Ryzen 9 7950X", "ram_gib": 64.0,
                                         "ram_kind": "DDR5-5600"}, "no GPU, Ryzen 9 7950X, 64 GiB DDR5-5600"),
])
def test_typed_rigs(catalog, text, hardware, description):
    stored, reply = read_rig(text, catalog)
    assert stored["hardware"] == hardware and stored["description"] == description


def test_what_was_assumed_is_said(catalog):
    _, reply = read_rig("2x 4090, 128GB", catalog)  # the comma ends the card: 128 GB is RAM, said so
    assert "128 GB not tied to a device: read as system RAM" in reply.text
    _, reply = read_rig("no GPU, Ryzen 9 7950X 64GB DDR5", catalog)
    assert "assumed DDR5-5600" in reply.text
    _, reply = read_rig(pasted("lscpu-free-xeon.txt"), catalog)
    assert "No GPU in that" in reply.text  # lscpu shows no GPU: the user is told it is sized as CPU-only


def test_unknown_gpu_is_not_saved_and_gets_did_you_mean(catalog):
    stored, reply = read_rig("RTX 9999 and 64GB", catalog)
    assert stored is None and not reply.saved and reply.error == "unknown_gpu"
    assert "I don't know a GPU called" in reply.text and "Did you mean" in reply.text
    assert "Nothing was saved" in reply.text


@pytest.mark.parametrize("text", ["hello there", "", "   ", "llama 3 8b"])
def test_text_without_hardware_says_what_to_give(catalog, text):
    stored, reply = read_rig(text, catalog)
    assert stored is None and reply.error == "no_hardware"
    assert "nvidia-smi" in reply.text and "RTX 3090 and 64GB DDR5-6000" in reply.text


def test_a_model_in_the_text_is_ignored_with_a_note(catalog):
    stored, reply = read_rig("RTX 3090 and llama 3 8b q8 at 8k", catalog)
    assert stored["hardware"] == {"gpu_names": ["RTX 3090"], "gpu_counts": [1]}
    assert "Llama 3 8B" in reply.text and "Q8_0" in reply.text and "hardware only" in reply.text
    stored, reply = read_rig(pasted("llama-cpp-cuda-log.txt"), catalog)  # a load log names its model
    assert stored["hardware"] == {"gpu_names": ["RTX 3090"], "gpu_counts": [2]}
    assert "Llama 3.1 70B" in reply.text and "Llama" not in json.dumps(stored)


def test_tool_output_with_joined_lines_is_refused_not_misread(catalog):
    # a Discord text option joins lines; rocm-smi joined would read as two different cards
    stored, reply = read_rig(pasted("rocm-smi-7900xtx.txt").replace("\n", " "), catalog)
    assert stored is None and reply.error == "joined_lines" and ".txt" in reply.text
    stored, _ = read_rig(pasted("nvidia-smi-L.txt").splitlines()[0], catalog)  # one GPU: one honest line
    assert stored["hardware"] == {"gpu_names": ["RTX 4090"], "gpu_counts": [1]}


def test_chinese_rig_reply(catalog):
    stored, reply = read_rig("我的是3090，64GB内存", catalog)
    assert stored["hardware"]["gpu_names"] == ["RTX 3090"] and stored["hardware"]["ram_gib"] == 64
    assert reply.text.startswith("已保存你的配置：**RTX 3090 24 GB + 64 GiB 内存**")


def test_a_renamed_gpu_or_older_format_is_a_sentence_not_a_crash(catalog):
    renamed = {"version": SCHEMA_VERSION, "hardware": {"gpu_names": ["RTX 3090 Turbo"], "gpu_counts": [1]}}
    saved = load(renamed, catalog)
    assert saved.problem_text("en") == ("Your saved rig names RTX 3090 Turbo, which I no longer know; "
                                        "set it again with `/myrig set`.")
    query, line = apply_saved(parse("can I run qwen2.5 32b?"), "can I run qwen2.5 32b?", saved, catalog)
    assert not query.has_hardware and "RTX 3090 Turbo" in line
    for odd in ({"version": 0, "hardware": {}}, {"version": SCHEMA_VERSION, "hardware": {"gpu_names": "x"}},
                {"version": SCHEMA_VERSION, "hardware": {"paste": "..."}}, ["not", "a", "dict"]):
        assert load(odd, catalog).problem == ("rig_stale_format", {})


def test_explain_and_what_do_i_need_questions_leave_the_saved_rig_alone(catalog):
    saved = load(read_rig("RTX 3090 and 64GB DDR5-6000", catalog)[0], catalog)
    for question in ("why does memory bandwidth matter?", "what is quantization?",
                     "what GPU do I need for llama 3 70b?", "how much VRAM does qwen2.5 32b need?", "thanks!"):
        query = parse(question)
        assert apply_saved(query, question, saved, catalog) == (query, None), question


# the service, over the real store ----------------------------------------------------------
async def test_saved_rig_round_trip_on_both_stores(backend_settings, caplog):
    from bot.service import RigBotService

    caplog.set_level(logging.DEBUG)
    service = await RigBotService(backend_settings).start()
    try:
        reply = await service.set_rig("u1", pasted("nvidia-smi-535-2x3090.txt"))
        assert reply.saved and "2× RTX 3090 24 GB" in reply.text
        row = await service.store._one("SELECT rig FROM saved_rigs WHERE user_id = ?", ("u1",))
        assert json.loads(row["rig"])["hardware"] == {"gpu_names": ["RTX 3090"], "gpu_counts": [2]}
        assert not [p for p in PRIVATE if p in row["rig"]]

        answer = await service.ask("can I run llama 3 70b?", user_id="u1")
        assert answer.answer.startswith("Using your saved rig (/myrig): 2× RTX 3090 24 GB.")
        assert answer.hardware.gpus[0].name == "RTX 3090" and answer.hardware.gpus[0].count == 2
        assert answer.verdict.value == "fits_gpu"  # 42 GiB in 48 GiB of VRAM

        bad = await service.set_rig("u1", "RTX 9999")  # not saved: the old rig stays
        assert not bad.saved and "Did you mean" in bad.text
        assert (await service.store.get_rig("u1"))["hardware"]["gpu_counts"] == [2]

        assert "2× RTX 3090" in (await service.show_rig("u1")).text
        assert "deleted" in (await service.clear_rig("u1")).text
        assert await service.store.get_rig("u1") is None
        assert (await service.show_rig("u1")).error == "no_rig"
        rows = await service.store._all("SELECT question FROM answers")
        assert rows and not [r for r in rows if "NVIDIA" in r["question"]]  # the paste never went to the log table
    finally:
        await service.close()
    assert not [p for p in PRIVATE if p in caplog.text]


async def test_questions_without_hardware_use_the_saved_rig_and_say_so(service):
    await service.set_rig("u1", "RTX 3090 and 64GB DDR5-6000")
    expected = "Using your saved rig (/myrig): RTX 3090 24 GB + 64 GiB DDR5-6000."
    can = await service.ask("can I run qwen2.5 32b?", user_id="u1")
    assert can.answer.startswith(expected) and can.intent == "can_run" and can.verdict.value == "fits_gpu"
    assert can.hardware.ram_gib == 64 and can.hardware.ram_bandwidth_gbs == 96.0  # DDR5-6000 dual channel
    fast = await service.ask("how fast is llama 3 8b?", user_id="u1")
    assert fast.answer.startswith(expected) and fast.speed.expected_tokens_per_s > 50
    best = await service.ask("What is the best model I can run?", user_id="u1")
    assert best.intent == "recommend" and best.answer.startswith(expected)
    zh_what = await service.ask("我能跑什么模型?", user_id="u1")
    assert zh_what.intent == "recommend" and zh_what.answer.startswith("使用你保存的配置（/myrig）")
    what = await service.ask("what can I run?", user_id="u1")
    assert what.route == "rules" and what.intent == "recommend" and what.answer.startswith(expected)
    assert what.recommendations
    zh = await service.ask("我能跑qwen2.5 32b吗?", user_id="u1")
    assert zh.answer.startswith("使用你保存的配置（/myrig）：RTX 3090 24 GB + 64 GiB DDR5-6000。")
    assert zh.verdict.value == "fits_gpu"

    other = await service.ask("can I run qwen2.5 32b?", user_id="u2")  # another user: nothing saved
    assert other.hardware is None and other.intent == "requirements"
    assert other.answer.startswith("No hardware named and no saved rig")
    anonymous = await service.ask("can I run qwen2.5 32b?")  # no user at all: as before
    assert anonymous.hardware is None and not anonymous.answer.startswith("No hardware")


async def test_a_question_naming_hardware_is_not_silently_mixed_with_the_saved_rig(service):
    await service.set_rig("u1", "RTX 3090 and 64GB DDR5-6000")
    gpu_only = await service.ask("can a 4090 run llama 3 70b?", user_id="u1")
    assert [g.name for g in gpu_only.hardware.gpus] == ["RTX 4090"]  # the question's GPU, not the 3090
    assert gpu_only.hardware.ram_gib == 64  # RAM from the saved rig, and said
    assert gpu_only.answer.startswith("GPU from your question; RAM from your saved rig (/myrig): 64 GiB DDR5-6000.")
    assert "Using your saved rig" not in gpu_only.answer

    ram_only = await service.ask("can I run qwen2.5 32b with 128GB RAM?", user_id="u1")
    assert ram_only.hardware.gpus == [] and ram_only.verdict.value == "cpu_only"  # the 3090 is not added
    assert ram_only.answer.startswith("Your question names its own hardware (128 GiB RAM), so your saved rig "
                                      "(RTX 3090 24 GB + 64 GiB DDR5-6000) is not used.")

    cpu = await service.ask("can I run llama 3 8b without a GPU?", user_id="u1")
    assert cpu.hardware.gpus == [] and cpu.hardware.ram_gib == 64 and cpu.verdict.value == "cpu_only"
    assert cpu.answer.startswith("CPU only, as your question says; RAM from your saved rig (/myrig): 64 GiB DDR5-6000.")

    whole = await service.ask("can a 4090 with 32GB DDR4-3200 run qwen2.5 32b?", user_id="u1")
    assert whole.hardware.ram_gib == 32 and "saved rig" not in whole.answer

    await service.set_rig("mac", "M2 Max 64GB")  # a Mac's memory is its GPU's: never lent to another card
    mac = await service.ask("can a 4090 run llama 3 70b?", user_id="mac")
    assert mac.hardware.ram_gib == 32 and "saved rig" not in mac.answer and "system RAM not given" in mac.answer


async def test_follow_ups_keep_the_hardware_of_the_previous_turn(service):
    await service.set_rig("u1", "RTX 3090 and 64GB DDR5-6000")
    conversation = ("chan", "u1")
    first = await service.ask("can I run qwen2.5 32b?", user_id="u1", conversation=conversation)
    assert first.verdict.value == "fits_gpu"
    longer = await service.ask("and at 32k context?", user_id="u1", conversation=conversation)
    assert longer.model.context == 32768 and longer.hardware.gpus[0].name == "RTX 3090"
    assert longer.answer.startswith("Using your saved rig (/myrig)") and "4,096 → 32,768" in longer.answer
    two = await service.ask("what about two of them?", user_id="u1", conversation=conversation)
    assert two.hardware.gpus[0].count == 2 and "Using your saved rig" not in two.answer  # not the saved rig now

    named = ("chan2", "u1")
    await service.ask("can a 4090 with 32GB RAM run qwen2.5 32b?", user_id="u1", conversation=named)
    follow = await service.ask("and at 32k context?", user_id="u1", conversation=named)
    assert follow.hardware.gpus[0].name == "RTX 4090" and follow.hardware.ram_gib == 32
    assert "saved rig" not in follow.answer


async def test_a_stale_saved_rig_is_said_and_the_question_still_answered(service):
    await service.store.set_rig("u1", {"version": SCHEMA_VERSION, "description": "RTX 3090 Turbo",
                                       "hardware": {"gpu_names": ["RTX 3090 Turbo"], "gpu_counts": [1]}})
    answer = await service.ask("can I run qwen2.5 32b?", user_id="u1")
    assert answer.error is None and answer.hardware is None
    assert answer.answer.startswith("Your saved rig names RTX 3090 Turbo, which I no longer know; set it again")
    assert "RTX 3090 Turbo" in (await service.show_rig("u1")).text
    assert (await service.clear_rig("u1")).text == "Your saved rig is deleted."


# console and CLI ---------------------------------------------------------------------------
async def test_console_myrig_paste_show_clear(settings):
    from bot.console import LOCAL_USER, run_console

    lines = ["/myrig", *pasted("rocm-smi-7900xtx.txt").splitlines(), ".", "can I run qwen2.5 32b?",
             "/myrig show", "/myrig clear", "can I run qwen2.5 32b?", "/quit"]
    out = io.StringIO()
    await run_console(settings, io.StringIO("\n".join(lines) + "\n"), out)
    text = out.getvalue()
    assert "Saved your rig: Radeon RX 7900 XTX 24 GB." in text and "**" not in text.split("rigbot>")[0]
    assert "Using your saved rig (/myrig): Radeon RX 7900 XTX 24 GB." in text
    assert "Your saved rig: Radeon RX 7900 XTX 24 GB." in text
    assert "Your saved rig (Radeon RX 7900 XTX 24 GB) is deleted." in text
    assert "No hardware named and no saved rig" in text.split("is deleted.")[1]
    assert LOCAL_USER == "console"


def test_cli_rig_set_show_ask_clear(tmp_path):
    out = run_cli(["rig", "set", "--file", str(PASTED / "nvidia-smi-550-h100.txt")], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Saved your rig: H100 SXM 80 GB." in out.stdout
    answer = json.loads(run_cli(["ask", "--json", "can I run llama 3 70b?"], tmp_path).stdout)
    assert answer["hardware"]["gpus"][0]["name"] == "H100 SXM" and answer["verdict"] == "fits_gpu"
    assert answer["answer"].startswith("Using your saved rig (/myrig): H100 SXM 80 GB.")
    shown = run_cli(["rig", "show"], tmp_path)
    assert shown.returncode == 0 and "Your saved rig: H100 SXM 80 GB." in shown.stdout

    bad = run_cli(["rig", "set", "-"], tmp_path, stdin="RTX 9999 with 64GB\n")
    assert bad.returncode == 1 and "Did you mean" in bad.stdout and "Nothing was saved" in bad.stdout
    assert "H100" in run_cli(["rig", "show"], tmp_path).stdout  # the unknown GPU replaced nothing

    cleared = run_cli(["rig", "clear"], tmp_path)
    assert cleared.returncode == 0 and "is deleted" in cleared.stdout
    again = run_cli(["rig", "clear"], tmp_path)
    assert again.returncode == 1 and "nothing was deleted" in again.stdout
    helped = run_cli(["rig", "--help"], tmp_path)
    assert all(word in helped.stdout for word in ("set", "show", "clear"))
    assert run_cli(["rig", "set"], tmp_path).returncode == 2


# Discord (simcord) ---------------------------------------------------------------------------
def _modal_input_id(result) -> str:
    modal = result.modal
    assert modal is not None, result
    rows = modal["components"]
    inputs = [c.get("component") or c for c in rows]
    inputs = [x for c in inputs for x in (c.get("components") or [c])]
    return next(c["custom_id"] for c in inputs if c.get("custom_id"))


async def test_discord_myrig_set_ask_show_clear(world, service):
    shown = await world.alice.slash(world.channel, "myrig set")  # no options: a box to paste into
    filled = await world.alice.submit_modal(shown, {_modal_input_id(shown): pasted("nvidia-smi-535-2x3090.txt")})
    assert filled.ephemeral and "Saved your rig: **2× RTX 3090 24 GB**" in filled.response.content

    asked = await world.alice.slash(world.channel, "ask", question="can I run qwen2.5 32b?")
    embed = asked.response.embeds[0]
    assert embed.description.startswith("Using your saved rig (/myrig): 2× RTX 3090 24 GB.")
    assert "3090" in embed.title and "fits" in embed.description
    assert embed.colour.value == 0x2ECC71  # green: fits the GPUs

    other = await world.bob.slash(world.channel, "ask", question="can I run qwen2.5 32b?")
    other_text = other.response.embeds[0].description  # bob saved nothing: what it needs, and how to save one
    assert other_text.startswith("No hardware named and no saved rig") and "2× RTX 3090" not in other_text

    mine = await world.alice.slash(world.channel, "myrig show")
    assert mine.ephemeral and "2× RTX 3090 24 GB" in mine.response.content
    theirs = await world.bob.slash(world.channel, "myrig show")
    assert theirs.ephemeral and "You have no saved rig" in theirs.response.content

    cleared = await world.alice.slash(world.channel, "myrig clear")
    assert cleared.ephemeral and "is deleted" in cleared.response.content
    after = await world.alice.slash(world.channel, "ask", question="can I run qwen2.5 32b?")
    assert after.response.embeds[0].description.startswith("No hardware named and no saved rig")
    rows = await service.store._all("SELECT question FROM answers")
    assert not [r for r in rows if "NVIDIA" in r["question"]]


async def test_discord_myrig_set_by_text_and_by_attachment(world):
    typed = await world.alice.slash(world.channel, "myrig set", text="RTX 9999 and 64GB")
    assert typed.ephemeral and "Did you mean" in typed.response.content and "Nothing was saved" in typed.response.content
    joined = await world.alice.slash(world.channel, "myrig set", text=pasted("rocm-smi-7900xtx.txt").replace("\n", " "))
    assert "line breaks were lost" in joined.response.content
    assert "You have no saved rig" in (await world.alice.slash(world.channel, "myrig show")).response.content

    attached = await world.alice.slash(world.channel, "myrig set",
                                       file=("rocm.txt", pasted("rocm-smi-7900xtx.txt").encode("utf-16")))
    assert attached.ephemeral and "Radeon RX 7900 XTX 24 GB" in attached.response.content
    binary = await world.alice.slash(world.channel, "myrig set", file=("x.txt", bytes(range(256)) * 4))
    assert "not text" in binary.response.content
    typed = await world.alice.slash(world.channel, "myrig set", text="M2 Max 64GB")
    assert "Apple M2 Max 64GB (unified memory)" in typed.response.content
    assert "It replaces your previous rig: Radeon RX 7900 XTX 24 GB." in typed.response.content


async def test_discord_mentions_and_canrun_use_the_saved_rig_too(world):
    assert {"myrig set", "myrig show", "myrig clear"} <= set(world.alice.available_commands(world.channel))
    await world.alice.slash(world.channel, "myrig set", text="RTX 3090 and 64GB DDR5-6000")
    sent = await world.alice.send(world.channel, f"<@{world.bot_id}> how fast is llama 3 8b?")
    reply = world.replies_to(sent.id)[0]
    assert reply.embeds[0]["description"].startswith("Using your saved rig (/myrig): RTX 3090 24 GB + 64 GiB DDR5-6000.")
    canrun = await world.alice.slash(world.channel, "canrun", gpu="RTX 4090", model="Llama 3 70B")
    text = canrun.response.embeds[0].description  # the named card, with the saved RAM for the offloaded layers
    assert text.startswith("GPU from your question; RAM from your saved rig (/myrig): 64 GiB DDR5-6000.")
    assert "4090" in canrun.response.embeds[0].title


def test_any_catalog_rig_round_trips_and_is_used_as_stored(catalog):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bot.saved_rig import describe

    discrete = sorted(g.name for g in catalog.gpus if not g.unified_memory)
    kinds = sorted(k.name for k in catalog.ram_kinds)

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(discrete), st.integers(1, 4), st.sampled_from([8.0, 16.0, 32.0, 64.0, 128.0]),
           st.sampled_from(kinds))
    def check(gpu, count, ram, kind):
        hardware = {"gpu_names": [gpu], "gpu_counts": [count], "ram_gib": ram, "ram_kind": kind}
        saved = load({"version": SCHEMA_VERSION, "hardware": hardware}, catalog)
        assert saved.problem is None
        query, line = apply_saved(parse("can I run qwen2.5 32b?"), "can I run qwen2.5 32b?", saved, catalog)
        assert {f: getattr(query, f) for f in hardware} == hardware
        assert line == f"Using your saved rig (/myrig): {describe(hardware, catalog, 'en')}."

    check()
