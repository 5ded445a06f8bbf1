"""Quality evidence: the benchmark and quant-loss data, the ranking of the models that fit
by the evidence for a use, and two models weighed ("Qwen3-32B Q4_K_M or Qwen3-14B Q8_0?").
A model without a score is said to be unknown, never given a number."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.catalog import DATA_DIR
from rules.engine import answer_query, answer_question
from rules.parse import parse
from rules.parse.asks import read_use
from rules.quality import USES, load_evidence
from rules.rank import rank_for_use
from rules.rank_words import ranking_lines
from rules.rig import rig_from_query
from rules.schema import Verdict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def evidence(catalog):
    return load_evidence(catalog)


def _rig(text: str, catalog):
    return rig_from_query(parse(text, catalog), catalog)


# the data ------------------------------------------------------------------------------
def test_every_score_keeps_its_source_date_and_settings(evidence):
    assert len(evidence.scores) > 400
    for s in evidence.scores:
        assert s.use in USES
        assert s.source and s.date and s.settings and s.evaluated_by and s.group
        # a source names a paper table, a README or a leaderboard file at a commit
        assert re.search(r"Table \d+|README|(?:\.yml|MODEL_CARD\.md|results\.json) @[0-9a-f]{40}", s.source), s.source
        assert s.unit in ("%", "Elo", "chrF") and (s.score <= 100 or s.unit == "Elo")


def test_rows_resolve_by_name_or_repo_and_others_are_kept(evidence, catalog):
    names = {m.name for m in catalog.models}
    assert set(evidence.by_model) <= names
    # API-only models and models the catalog lacks stay in the data, unranked
    unresolved = {s.evaluated_as for s in evidence.unresolved}
    assert {"OpenAI-o1", "QwQ-32B", "Phi-4-mini"} <= unresolved
    # a version the catalog files under one entry resolves through its repo name
    v3 = {s.evaluated_as for s in evidence.for_model("DeepSeek V3", "coding")}
    assert "DeepSeek V3 (0324)" in v3


def test_the_data_is_what_the_gathering_script_transcribes(evidence):
    spec = importlib.util.spec_from_file_location("gather_quality", ROOT / "scripts" / "gather_quality.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    transcribed = {(r["evaluated_as"], r["benchmark"], r["group"], r["score"])
                   for r in script.qwen3_rows() + script.r1_rows() + script.aider_rows() + script.meta_rows()
                   + script.evalplus_rows() + script.gemma3_rows()}
    stored = {(s.evaluated_as, s.benchmark, s.group, s.score) for s in evidence.scores}
    assert transcribed == stored


def test_quant_losses_are_measured_rows_for_real_quant_types(evidence, catalog):
    quants = {q.name for q in catalog.quants} | {"Q2_K_S"}  # llama.cpp's Q2_K_S: measured, not in the catalog
    for loss in evidence.losses:
        assert loss.quant in quants, loss.quant
        assert loss.source and loss.settings and loss.date
    q4 = evidence.loss("Q4_K_M")
    # llama.cpp's LLaMA 3 8B scoreboard: KLD 0.031273, PPL 6.407115 (ΔPPL 0.175482)
    assert q4.kld == 0.031273 and q4.ppl_increase_pct == pytest.approx(2.816, abs=0.01)
    assert evidence.loss("Q4_K_M", imatrix=True).kld < q4.kld  # an importance matrix helps
    # fewer bits lose more, on the same model, without an imatrix
    order = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"]
    klds = [evidence.loss(q).kld for q in order]
    assert klds == sorted(klds)
    # a 70B model loses less to Q4_K_M than an 8B one
    assert evidence.loss("Q4_K_M", "Llama 2 70B").ppl_increase_pct < q4.ppl_increase_pct


def test_coverage_per_use(evidence):
    coverage = evidence.coverage()
    assert coverage["coding"] >= 30 and coverage["reasoning"] >= 25 and coverage["chinese"] >= 25
    assert coverage["general"] >= 25 and coverage["tool_use"] >= 25
    # few models have these: only Meta's cards and the Gemma 3 report give them among the tables gathered
    assert 1 <= coverage["long_context"] <= 6 and 1 <= coverage["vision"] <= 6


def test_a_broken_row_is_refused_with_its_file(tmp_path, catalog):
    for name in ("quality.toml", "quant_quality.toml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    path = tmp_path / "quality.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('use = "coding"', 'use = "poetry"', 1), encoding="utf-8")
    from rules.catalog import CatalogError

    with pytest.raises(CatalogError, match="quality.toml"):
        load_evidence(catalog, tmp_path)


# reading the use ---------------------------------------------------------------------
@pytest.mark.parametrize("question, use", [
    ("best model for coding on my 3090", "coding"),
    ("which model should I run for programming on a 4090?", "coding"),
    ("a good coding assistant for a 4060 ti 16gb", "coding"),
    ("best llm for math on a 3060 12gb", "reasoning"),
    ("what should I run for reasoning on 2x3090", "reasoning"),
    ("best model for Chinese on a 4090", "chinese"),
    ("best model for tool calling and agents on a 3090", "tool_use"),
    ("which model can read images on a 3090", "vision"),
    ("best model for long context on a 4090", "long_context"),
    ("general knowledge model for a 3060", "general"),
    ("我的3090写代码用什么模型最好？", "coding"),
    ("4090 做数学题用哪个模型", "reasoning"),
    ("24GB显存中文聊天用什么模型", "chinese"),
    ("3090 工具调用用什么模型好", "tool_use"),
    ("3090 看图用哪个模型", "vision"),
    ("4090 处理长上下文用什么模型", "long_context"),
])
def test_use_is_read_in_english_and_chinese(question, use, catalog):
    q = parse(question, catalog)
    assert q.use == use, question
    assert q.intent.value == "recommend" and q.gpu_names


@pytest.mark.parametrize("question", [
    "can a 3090 run Qwen2.5-Coder 32B?",  # a model's own name is not a use
    "what is the longest context for llama 3 8b on a 3090?",  # max context, not long-context use
    "can a 3090 run llama-2-7b-chat?",
    "what can I run on a 4090?",
])
def test_no_use_where_none_is_named(question, catalog):
    assert parse(question, catalog).use is None
    assert read_use("how fast is a 3090") is None


# the ranking -------------------------------------------------------------------------
@pytest.mark.parametrize("hardware", ["RTX 3090", "RTX 4060 Ti 16GB", "RTX 3060 12GB", "2x RTX 3090"])
@pytest.mark.parametrize("use", ["coding", "reasoning", "chinese", "general", "tool_use"])
def test_ranking_orders_by_that_uses_benchmark(hardware, use, catalog, evidence):
    r = rank_for_use(_rig(hardware, catalog), catalog, use, evidence=evidence)
    assert r.ranked, (hardware, use)
    scores = [s.score for s in r.scores]
    assert scores == sorted(scores, reverse=True)
    # one table, one benchmark, that use
    assert {s.group for s in r.scores} == {r.group} and {s.benchmark for s in r.scores} == {r.benchmark}
    assert {s.use for s in r.scores} == {use}
    for rec, s in r.ranked:
        assert rec.verdict == Verdict.FITS_GPU and rec.quality_score == s.score
        assert evidence.score(rec.model, r.group, r.benchmark) == s
        assert rec.expected_tokens_per_s  # speed beside the score
    # the unknown have no score in that table, and none is invented for them
    ranked = {rec.model for rec, _ in r.ranked}
    assert not ranked & set(r.unknown)
    assert all(evidence.score(name, r.group, r.benchmark) is None for name in r.unknown)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vram=st.sampled_from([6, 8, 10, 12, 16, 20, 24, 32, 48, 80, 96, 141]), use=st.sampled_from(
    ["coding", "reasoning", "chinese", "general", "tool_use"]))
def test_ranking_property_any_card_size(vram, use, catalog, evidence):
    q = parse(f"{vram}GB VRAM", catalog)
    r = rank_for_use(rig_from_query(q, catalog), catalog, use, evidence=evidence)
    scores = [s.score for s in r.scores]
    assert scores == sorted(scores, reverse=True)
    budget = rig_from_query(q, catalog).gpu_budget_gib
    assert all(rec.total_gib <= budget + 0.05 for rec, _ in r.ranked)


def _without(tmp_path: Path, model: str) -> Path:
    """A copy of the evidence with every score of one model removed."""
    for name in ("quality.toml", "quant_quality.toml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    path = tmp_path / "quality.toml"
    kept = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith(f'  ["{model}"')]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return tmp_path


def test_a_model_without_a_score_is_unknown_never_given_a_number(tmp_path, catalog, evidence):
    rig = _rig("RTX 3090", catalog)
    full = rank_for_use(rig, catalog, "coding", evidence=evidence)
    assert "Qwen3 14B" in {rec.model for rec, _ in full.ranked}
    thinned = load_evidence(catalog, _without(tmp_path, "Qwen3 14B"))
    r = rank_for_use(rig, catalog, "coding", evidence=thinned)
    assert "Qwen3 14B" not in {rec.model for rec, _ in r.ranked}
    assert "Qwen3 14B" in r.unknown
    from rules.engine import _rec_speed

    text = "\n".join(ranking_lines(r, thinned, "RTX 3090", "en", _rec_speed))
    # named, if at all, only in the unknown line (which may cut long lists short), never beside a score
    lines = [line for line in text.splitlines() if "Qwen3 14B" in line]
    assert all("unknown, not estimated" in line for line in lines), lines
    assert not re.search(r"Qwen3 14B\S* [\d.]+%", text)


def test_answer_names_the_benchmark_its_source_and_the_unknown(catalog):
    r = answer_question("best model for coding on my 3090", catalog)
    assert r.intent.value == "recommend" and r.quality is not None
    q = r.quality
    assert q.use == "coding" and q.benchmark and q.benchmark in r.answer
    assert q.scores and all(s.source and s.settings for s in q.scores)
    assert [rec.quality_score for rec in r.recommendations] == [s.score for s in q.scores]
    assert "self-reported" in r.answer and "Source:" in r.answer
    # a popular model that fits but no table measured: said unknown, no number
    assert "Mistral Small 3.2 24B" in q.unknown
    line = next(line for line in r.answer.splitlines() if "Mistral Small 3.2 24B" in line)
    assert "unknown, not estimated" in line and "Mistral Small 3.2 24B:" not in line
    assert "What the quants cost" in r.answer and "KLD" in r.answer


def test_chinese_questions_get_chinese_rankings(catalog):
    r = answer_question("我的3090写代码用什么模型最好？", catalog)
    assert r.quality.use == "coding" and r.answer.startswith("**RTX 3090 上最适合编程的模型**")
    assert "未知，不做估计" in r.answer and "量化的代价" in r.answer
    r = answer_question("24GB显存中文用什么模型最好", catalog)
    assert r.quality.use == "chinese" and r.quality.benchmark == "C-Eval"


def test_no_use_ranks_by_size_and_asks_what_for(catalog):
    r = answer_question("what can I run on a 3090?", catalog)
    assert r.quality is None and r.recommendations
    assert "Ranked by size, not by quality" in r.answer and "What is the model for?" in r.answer
    assert "coding, reasoning and math" in r.answer and "vision" in r.answer  # the uses it can rank by, said
    zh = answer_question("3090 能跑什么模型？", catalog)
    assert "模型打算用来做什么" in zh.answer


def test_a_use_without_evidence_says_so_and_ranks_by_size(catalog):
    r = answer_question("best model for vision with no GPU and 2GB RAM", catalog)
    assert r.quality.use == "vision" and not r.quality.scores
    assert "no vision (images) benchmark scores" in r.answer and r.recommendations
    assert "Gemma 3 4B" in r.answer and "do not fit" in r.answer  # who has a score, and why it is not ranked
    assert all(rec.quality_score is None for rec in r.recommendations)
    assert {rec.model for rec in r.recommendations} <= set(r.quality.unknown)


# bigger at a lower quant, or smaller at a higher one ---------------------------------
def test_qwen3_32b_q4_or_14b_q8_on_24gb(catalog):
    q = parse("Qwen3-32B Q4_K_M or Qwen3-14B Q8_0 on a 24 GB card?", catalog)
    assert [(o.model_name, o.quant) for o in q.options] == [("Qwen3 32B", "Q4_K_M"), ("Qwen3 14B", "Q8_0")]
    r = answer_query(q, catalog)
    quality = r.quality
    assert quality is not None and quality.recommendation == "Qwen3 32B Q4_K_M" and quality.reason == "bigger_model"
    # both models' evidence, from the same tables
    by_model = {}
    for s in quality.scores:
        by_model.setdefault(s.model, set()).add((s.group, s.benchmark))
    assert by_model["Qwen3 32B"] == by_model["Qwen3 14B"] and len(by_model["Qwen3 32B"]) >= 5
    assert "| LiveCodeBench v5 (2024.10-2025.02) (Qwen, Qwen3 report, thinking mode) | 65.7% | 63.5% |" in r.answer
    # both quants' measured loss, memory and speed, and why
    assert {x.quant for x in quality.quant_loss} == {"Q4_K_M", "Q8_0"}
    assert "Q4_K_M: KLD 0.0313" in r.answer and "Q8_0: KLD 0.0014" in r.answer
    assert re.search(r"\| Qwen3 32B Q4_K_M \| .* \| \d+\.\d GiB \| \d+", r.answer)
    assert "Recommendation: Qwen3 32B Q4_K_M" in r.answer and "as fast" in r.answer
    assert [rec.quant for rec in r.recommendations] == ["Q4_K_M", "Q8_0"]


def test_comparison_for_a_use_and_in_chinese(catalog):
    r = answer_question("Qwen3 32B at Q4_K_M or Qwen3 14B at Q8_0 on my 3090 for coding?", catalog)
    assert r.quality.use == "coding" and {s.benchmark for s in r.quality.scores} <= {
        "LiveCodeBench v5 (2024.10-2025.02)", "Codeforces rating (CodeElo)"}
    zh = answer_question("Qwen3-32B Q4_K_M 还是 Qwen3-14B Q8_0，24GB显存？", catalog)
    assert "**建议：Qwen3 32B Q4_K_M。**" in zh.answer and "质量证据" in zh.answer


def test_smaller_model_that_scores_higher_is_recommended(catalog):
    r = answer_question("deepseek r1 distill qwen 32b Q4_K_M or qwen3 14b q8_0 on a 3090 for math", catalog)
    assert r.quality.recommendation == "Qwen3 14B Q8_0" and r.quality.reason == "smaller_scores_higher"


def test_a_large_quant_loss_is_not_waved_through(catalog):
    r = answer_question("Qwen3 32B Q2_K or Qwen3 14B Q8_0 on a 3090", catalog)
    assert r.quality.reason == "quant_loss_large" and r.quality.recommendation == "Qwen3 14B Q8_0"
    assert "KLD 0.445" in r.answer


def test_no_shared_table_is_said_never_guessed(catalog):
    r = answer_question("Mistral Small 3.2 24B Q4_K_M or Qwen3 14B Q8_0 on a 3090", catalog)
    assert r.quality.reason == "no_evidence" and r.quality.recommendation is None and not r.quality.scores
    assert "cannot say which is better" in r.answer
    assert not re.search(r"\d+\.\d%", r.answer.split("in full")[0].split("What each quant costs")[0])


def test_one_option_that_does_not_fit_loses(catalog):
    r = answer_question("Qwen3 32B: Q4_K_M or Q8_0 on a 3090?", catalog)
    assert r.quality.recommendation == "Q4_K_M" and r.quality.reason == "fit"
    assert "Both options are Qwen3 32B" in r.answer


def test_a_bigger_moe_that_is_also_faster_is_said_so(catalog):
    r = answer_question("Qwen3 30B-A3B Q4_K_M or Qwen3 8B Q8_0 on a 3090", catalog)
    assert r.quality.recommendation == "Qwen3 30B-A3B Q4_K_M" and r.quality.reason == "bigger_model"
    assert "also the faster one" in r.answer and "× as fast" not in r.answer
