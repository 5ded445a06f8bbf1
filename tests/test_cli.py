"""The CLI contract: ask (text), ask --json (one object), stdin batch (JSON lines),
and a rules-only ask that imports none of the heavy libraries."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

ANSWER_FIELDS = {"question", "route", "intent", "hardware", "model", "verdict", "memory", "speed",
                 "serving", "training", "command", "diagnosis", "runtime", "quality",
                 "recommendations", "answer", "sources", "llm", "error", "elapsed_ms"}
HEAVY = ("torch", "sentence_transformers", "faiss", "llama_cpp", "transformers")


def run_cli(args, tmp_path, stdin=None, extra=()):
    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, *extra, "-m", "bot", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_ask_prints_a_readable_answer(tmp_path):
    out = run_cli(["ask", "can a 3060 12GB run 13B 4-bit?"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "fits" in out.stdout
    assert "GiB" in out.stdout and "tokens/s" in out.stdout
    assert "**" not in out.stdout


def test_ask_json_is_one_complete_answer_object(tmp_path):
    out = run_cli(["ask", "--json", "can a 3060 12GB run 13B 4-bit?"], tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == ANSWER_FIELDS
    assert data["route"] == "rules" and data["verdict"] == "fits_gpu"
    assert data["hardware"]["gpus"][0]["vram_gib"] == 12
    assert data["model"]["quant"] == "Q4_K_M"
    assert data["memory"]["total_gib"] <= data["memory"]["available_gib"]
    assert data["speed"]["expected_tokens_per_s"] <= data["speed"]["theoretical_max_tokens_per_s"]


def test_stdin_batch_writes_one_json_line_per_question_in_order(tmp_path):
    questions = ["can a 4090 run 70b?", "", "can 2x3090 run llama 2 70b q4_k_m?", "can an rtx 9999 run 7b?"]
    out = run_cli(["ask", "--json"], tmp_path, stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [item["question"] for item in lines] == questions
    assert lines[0]["verdict"] == "partial_offload"
    assert lines[1]["error"] == "empty_question"
    assert lines[2]["verdict"] == "fits_gpu"
    assert lines[3]["error"] == "unknown_gpu"


def test_rules_only_ask_imports_no_heavy_library(tmp_path):
    out = run_cli(["ask", "--json", "can a 3060 12GB run 13B 4-bit?"], tmp_path, extra=["-X", "importtime"])
    assert out.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY), imported & set(HEAVY)
    assert json.loads(out.stdout)["route"] == "rules"


def test_help_lists_every_command(tmp_path):
    out = run_cli(["--help"], tmp_path)
    for command in ("ask", "chat", "run", "reload", "stats"):
        assert command in out.stdout


def test_run_with_a_blank_token_explains_instead_of_crashing(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env=dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), DISCORD_TOKEN="   "))
    assert out.returncode == 2
    assert "DISCORD_TOKEN is not set" in out.stderr and "Traceback" not in out.stderr


LOG = Path(__file__).parent / "data" / "logs" / "cuda_partial_offload_4060_laptop_mistral7b.txt"


def test_ask_file_reads_a_run_log_with_the_question(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(LOG.read_text("utf-8").split("\n", 1)[1], "utf-8")  # the log without its source line
    out = run_cli(["ask", "--json", "--file", str(log), "why is it slow?"], tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["intent"] == "diagnose" and data["diagnosis"]["measured_tokens_per_s"] == 18.53
    assert [c["code"] for c in data["diagnosis"]["causes"]] == ["partial_offload"]
    assert "-ngl 99" in data["diagnosis"]["command"]
    assert data["question"].startswith("why is it slow?") and len(data["question"]) < 3000  # not the raw paste


def test_ask_file_that_is_missing_is_a_sentence(tmp_path):
    out = run_cli(["ask", "--file", str(tmp_path / "nope.log"), "why?"], tmp_path)
    assert out.returncode == 2 and "Cannot read" in out.stderr and "Traceback" not in out.stderr


def test_recommend_ranks_by_the_use_given(tmp_path):
    out = run_cli(["recommend", "RTX 3090", "--use", "coding", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == ANSWER_FIELDS and data["intent"] == "recommend"
    quality = data["quality"]
    assert quality["use"] == "coding" and quality["benchmark"] and quality["scores"] and quality["unknown"]
    assert [r["quality_score"] for r in data["recommendations"]] == [s["score"] for s in quality["scores"]]
    refused = run_cli(["recommend", "RTX 3090", "--use", "poetry"], tmp_path)
    assert refused.returncode == 2 and "coding" in refused.stderr
