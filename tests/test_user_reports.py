"""Users' speed reports in the store and the service, on both engines (the SQLite file
and a real PostgreSQL server): one report per user per configuration (a second one
replaces the first), owners delete theirs, admins purge a user, reports are
rate-limited; and the CLI over a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from bot.reports import rate_key
from bot.service import RigBotService

REPORT = "RTX 3090, llama 3.1 8b q4_k_m, {tps} tok/s"


@pytest.fixture
async def service(backend_settings):
    svc = await RigBotService(backend_settings).start()
    yield svc
    await svc.close()


def _config(**over):
    return dict(device="RTX 3090", gpu_count=1, model="Llama 3.1 8B", quant="Q4_K_M") | over


async def test_one_report_per_user_per_configuration(service):
    store = service.store
    assert await store.put_speed_report("alice", **_config(), tokens_per_s=100.0, now=1.0) is False
    assert await store.put_speed_report("alice", **_config(), tokens_per_s=120.0, context=8192, now=2.0) is True
    assert await store.put_speed_report("bob", **_config(), tokens_per_s=90.0, now=3.0) is False
    assert await store.put_speed_report("alice", **_config(gpu_count=2), tokens_per_s=95.0, now=4.0) is False
    assert await store.put_speed_report("alice", **_config(quant="Q8_0"), tokens_per_s=80.0, now=5.0) is False

    rows = await store.speed_reports()
    assert len(rows) == 4
    alice = {(r["gpu_count"], r["quant"]): r for r in await store.speed_reports("alice")}
    assert alice[(1, "Q4_K_M")]["tokens_per_s"] == 120.0 and alice[(1, "Q4_K_M")]["context"] == 8192
    assert set(alice) == {(1, "Q4_K_M"), (2, "Q4_K_M"), (1, "Q8_0")}


async def test_the_version_changes_with_every_write(service):
    store = service.store
    seen = {await store.speed_reports_version()}
    await store.put_speed_report("alice", **_config(), tokens_per_s=100.0, now=1.0)
    seen.add(await store.speed_reports_version())
    await store.put_speed_report("alice", **_config(), tokens_per_s=110.0, now=2.0)  # a replacement
    seen.add(await store.speed_reports_version())
    await store.delete_speed_reports("alice")
    assert await store.speed_reports_version() in seen  # back to empty
    assert len(seen) == 3


async def test_owner_deletes_one_or_all_and_never_anothers(service):
    store = service.store
    await store.put_speed_report("alice", **_config(), tokens_per_s=100.0)
    await store.put_speed_report("alice", **_config(quant="Q8_0"), tokens_per_s=80.0)
    await store.put_speed_report("bob", **_config(), tokens_per_s=90.0)
    bobs = (await store.speed_reports("bob"))[0]["id"]
    assert await store.delete_speed_reports("alice", bobs) == 0  # not hers
    one = (await store.speed_reports("alice"))[0]["id"]
    assert await store.delete_speed_reports("alice", one) == 1
    assert len(await store.speed_reports("alice")) == 1
    assert await store.delete_speed_reports("alice") == 1
    assert await store.speed_reports("alice") == [] and len(await store.speed_reports("bob")) == 1


async def test_purge_removes_everything_about_a_user(service):
    store = service.store
    answer = await service.ask("can an rtx 3090 run llama 3.1 8b q4_k_m?", user_id="alice",
                               conversation=("chan", "alice"))
    await store.set_feedback(answer.log_id, 1, "alice")
    await store.put_speed_report("alice", **_config(), tokens_per_s=100.0)
    await store.set_rig("alice", {"gpus": ["RTX 3090"]})
    await store.add_report("alice", "the 3090 answer looks wrong")
    await store.hit_rate_limit(rate_key("alice"), 10, 3600, 1.0)
    await store.put_speed_report("bob", **_config(), tokens_per_s=90.0)

    done = await service.reports.purge("alice")

    assert done == {"speed_reports": 1, "saved_rig": 1, "conversations": 1, "feedback_reports": 1,
                    "rate_limits": 1, "questions": 1}
    assert await store.speed_reports("alice") == [] and await store.get_rig("alice") is None
    assert await store.load_conversation("chan", "alice") is None
    row = await store.get_answer(answer.log_id)
    assert row["question"] == "" and row["user_id"] is None  # the count stays, the text goes
    assert row["feedback_by"] is None and row["feedback"] == 1
    assert len(await store.speed_reports("bob")) == 1


async def test_submit_stores_the_parsed_row_only_and_replaces(service, caplog):
    caplog.set_level("INFO")
    first = await service.reports.submit("alice", REPORT.format(tps=112), now=1000.0)
    assert first.stored == 1 and "Recorded: **112 tokens/s** for Llama 3.1 8B Q4_K_M on RTX 3090" in first.text
    assert "RigBot predicts" in first.text
    second = await service.reports.submit("alice", REPORT.format(tps=118), now=1001.0)
    assert "replaces your earlier report" in second.text
    [row] = await service.store.speed_reports("alice")
    assert (row["tokens_per_s"], row["source"]) == (118.0, "typed")
    assert "tok/s" not in caplog.text  # the raw text is not logged


async def test_submit_refuses_unknown_hardware_and_stores_nothing(service):
    result = await service.reports.submit("alice", "RTX 9999, llama 3.1 8b q4_k_m, 100 tok/s", now=1.0)
    assert result.error == "refused" and "Did you mean" in result.text
    assert await service.store.speed_reports() == []


async def test_reports_are_rate_limited_per_user(service):
    service.settings.reports_per_hour = 2
    for i in range(2):
        assert (await service.reports.submit("alice", REPORT.format(tps=100 + i), now=1000.0 + i)).stored
    limited = await service.reports.submit("alice", REPORT.format(tps=130), now=1100.0)
    assert limited.error == "rate_limited" and limited.stored == 0
    assert limited.text == "You have reached the limit of 2 reports per hour; try again in 59 min."
    assert (await service.reports.submit("bob", REPORT.format(tps=99), now=1100.0)).stored  # bob has his own
    assert (await service.reports.submit("alice", REPORT.format(tps=131), now=1000.0 + 3601)).stored
    [row] = await service.store.speed_reports("alice")
    assert row["tokens_per_s"] == 131.0


async def test_answers_show_stored_reports_and_stats_count_them(service):
    for user, tps in (("a", 150), ("b", 160), ("c", 155)):
        await service.reports.submit(user, REPORT.format(tps=tps), now=1.0)
    answer = await service.ask("can an rtx 3090 run llama 3.1 8b q4_k_m?")
    assert "3 measurements on RTX 3090: median 155 tokens/s (range 150–160)" in answer.answer
    assert "incl. 3 user reports" in answer.answer
    stats = await service.stats()
    assert stats["speed_reports"]["reports"] == 3 and stats["speed_reports"]["classes"]["cuda"]["users"] == 3
    await service.reports.delete("a")
    again = await service.ask("can an rtx 3090 run llama 3.1 8b q4_k_m?")
    assert "2 measurements on RTX 3090" in again.answer and "User reports" not in again.answer


# the CLI --------------------------------------------------------------------------------

def _cli(args, tmp_path, stdin=None):
    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_cli_report_list_delete_and_purge(tmp_path):
    out = _cli(["report", "RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Recorded: 112 tokens/s" in out.stdout.replace("**", "")

    bench = (ROOT / "tests" / "data" / "bench" / "rtx4080.csv").read_text()
    out = _cli(["report"], tmp_path, stdin=bench)
    assert out.returncode == 0, out.stderr
    assert "Qwen2.5 7B Q4_K_M on RTX 4080" in out.stdout and "prompt-processing (pp)" in out.stdout

    out = _cli(["report", "list"], tmp_path)
    assert "Your 2 speed report(s):" in out.stdout and "RTX 3090 · Llama 3.1 8B Q4_K_M · 112 tokens/s" in out.stdout

    out = _cli(["report", "RTX 9999, llama 3.1 8b q4_k_m, 5 tok/s"], tmp_path)
    assert out.returncode == 1 and "I don't know a GPU called 'rtx 9999'" in out.stderr

    out = _cli(["report", "delete", "1"], tmp_path)
    assert "Deleted 1 of your speed reports." in out.stdout
    out = _cli(["purge", "console"], tmp_path)
    assert out.returncode == 0 and "Purged user console: speed reports 1" in out.stdout
    assert "You have no speed reports." in _cli(["report", "list"], tmp_path).stdout


def test_console_report_paste_list_and_delete(tmp_path):
    bench = (ROOT / "tests" / "data" / "bench" / "rtx4080.json").read_text()
    lines = ["/report RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s", "/report", *bench.splitlines(), ".",
             "/report list", "/report delete", "/report list", "/quit"]
    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    env.pop("DISCORD_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "bot", "chat"], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "Recorded: **112 tokens/s** for Llama 3.1 8B Q4_K_M on RTX 3090" in out.stdout
    assert "Recorded: **119 tokens/s** for Qwen2.5 7B Q4_K_M on RTX 4080" in out.stdout  # the pasted table
    assert "Your 2 speed report(s):" in out.stdout
    assert "Deleted 2 of your speed reports." in out.stdout and "You have no speed reports." in out.stdout
