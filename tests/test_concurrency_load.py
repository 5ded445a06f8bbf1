"""The load test's own check, small: two bot processes on one PostgreSQL database,
simulated users asking concurrently, one process killed (SIGKILL) in the middle. The
other keeps answering, every question is answered, and every question has exactly
one answer row: nothing lost, nothing doubled (bench/load.py; the full run, with
knowledge questions, is `./rigbot-bench load`)."""

from __future__ import annotations

from bench.load import run_load


async def test_killing_one_bot_process_mid_load_loses_nothing(tmp_path, postgres_url):
    report = await run_load(postgres_url, users=30, questions=4, knowledge_share=0.0, kill_after=0.4,
                            data_dir=tmp_path / "data", max_tokens=16)
    assert report["killed"] is not None and report["killed"]["after_answers"] >= 48
    assert report["answered"] == report["asked"] == 120
    assert report["answered_after_kill"] >= 60, "the surviving process kept answering"
    assert report["lost"] == 0 and report["doubled"] == 0
    assert report["db_rows"] == 120 and report["exactly_one_row_each"]
    assert sum(f["n"] for route, f in report["latency_ms"].items() if route.startswith("rules")) == 120


async def test_load_without_a_kill_answers_everything_once(tmp_path, postgres_url):
    report = await run_load(postgres_url, users=20, questions=3, knowledge_share=0.0, kill_after=None,
                            data_dir=tmp_path / "data", max_tokens=16)
    assert report["killed"] is None and report["asked_again_after_kill"] == 0
    assert report["answered"] == 60 and report["exactly_one_row_each"]
    assert report["error_answers"].keys() <= {"unknown_gpu"}, report["error_answers"]
