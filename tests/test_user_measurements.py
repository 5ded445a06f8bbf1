"""Users' speed reports in the rules (pure): reading a report (typed and llama-bench),
refusing what cannot be true, and learning from reports: outliers rejected, one user
never moves a class, enough users move the prediction and its range."""

from __future__ import annotations

import math

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calibration import load_fit
from rules.engine import answer_query
from rules.parse import parse
from rules.parse.speed_report import read_report
from rules.user_measurements import (
    MIN_USERS,
    SpeedReport,
    calibration_ratios,
    class_shift,
    learn,
    predict,
)

BENCH = ROOT / "tests" / "data" / "bench"
QUESTION = "can an RTX 3090 run llama 3.1 8b q4_k_m?"
# dense models that fit a 24 GB RTX 3090 whole at Q4_K_M: the "cuda" class
CONFIGS_3090 = [("Llama 3.1 8B", "Q4_K_M"), ("Llama 2 13B", "Q4_K_M"), ("Mistral 7B", "Q4_K_M"),
                ("Llama 3.1 8B", "Q8_0"), ("Qwen2.5 14B", "Q4_K_M")]


def _reports(user: str, factor: float, configs=CONFIGS_3090, device="RTX 3090", count=1) -> list[SpeedReport]:
    """A user's reports: RigBot's own prediction for each configuration × factor."""
    out = []
    for model, quant in configs:
        p = predict(device, count, model, quant)
        out.append(SpeedReport(user_id=user, device=device, gpu_count=count, model=model, quant=quant,
                               tokens_per_s=p.expected_tokens_per_s * factor))
    return out


def _answer(measured=None):
    return answer_query(parse(QUESTION), measured=measured)


# reading a report ---------------------------------------------------------------------

def test_typed_report_is_read_with_its_prediction():
    read = read_report("RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s")
    assert read.error is None
    [c] = read.candidates
    assert (c.device, c.gpu_count, c.model, c.quant, c.tokens_per_s, c.source) == \
        ("RTX 3090", 1, "Llama 3.1 8B", "Q4_K_M", 112.0, "typed")
    assert c.predicted.expected_range[0] < c.predicted.expected_tokens_per_s < c.predicted.expected_range[1]


def test_several_cards_and_other_speed_spellings():
    [c] = read_report("2x RTX 3090 llama 3.1 70b q4_k_m 17.5 tokens per second").candidates
    assert (c.device, c.gpu_count, c.tokens_per_s) == ("RTX 3090", 2, 17.5)
    [c] = read_report("RTX 3090 上 llama 3.1 8b q4_k_m 每秒 100 个 token").candidates
    assert c.tokens_per_s == 100
    [c] = read_report("Ryzen 9 7950X, llama 3.1 8b q4_k_m, 12 t/s").candidates
    assert (c.device, c.gpu_count) == ("Ryzen 9 7950X", 0)


@pytest.mark.parametrize("text, says", [
    ("RTX 9999, llama 3.1 8b q4_k_m, 100 tok/s", "I don't know a GPU called 'rtx 9999'. Did you mean"),
    ("RTX 3090, zorblax 8b q4_k_m, 100 tok/s", "I don't know a model called “zorblax 8b”"),
    ("RTX 3090, llama 3.1 8b, 100 tok/s", "Which quantization"),
    ("12GB VRAM, llama 3.1 8b q4_k_m, 50 tok/s", "Which GPU"),  # a typical card would be a guess
    ("RTX 3090, llama 3.1 8b q4_k_m", "no speed"),
    ("RTX 3090, llama 3.1 8b q4_k_m, 0 tok/s", "not a speed"),
    ("RTX 3090, llama 3.1 8b q4_k_m, -5 tok/s", "not a speed"),
    ("RTX 3090, llama 3.1 8b q4_k_m, 900 tok/s", "more than 3×"),  # a pp figure, say
    ("RTX 3090, llama 3.1 8b q4_k_m, 100 tok/s or 120 tok/s", "several speeds"),
    ("RTX 3090 + RTX 3060 12GB, llama 3.1 8b q4_k_m, 100 tok/s", "one kind of GPU"),
    ("RTX 3060 12GB, llama 3.1 405b q4_k_m, 1 tok/s", "does not fit"),
])
def test_bad_reports_are_refused_with_a_sentence(text, says):
    read = read_report(text)
    assert not read.candidates
    assert says in read.error and "Nothing was stored." in read.error


def test_chinese_report_is_refused_in_chinese():
    read = read_report("RTX 3090 跑 llama 3.1 8b，每秒 100 个 token")
    assert "量化" in read.error and "没有保存" in read.error


def test_absurd_limit_is_three_times_the_ceiling():
    p = predict("RTX 3090", 1, "Llama 3.1 8B", "Q4_K_M")
    limit = 3 * p.theoretical_max_tokens_per_s
    assert read_report(f"RTX 3090, llama 3.1 8b q4_k_m, {limit * 0.99:.1f} tok/s").candidates
    assert read_report(f"RTX 3090, llama 3.1 8b q4_k_m, {limit * 1.01:.1f} tok/s").error


def test_llama_bench_json_tg_row_becomes_a_report_and_pp_is_said_skipped():
    read = read_report((BENCH / "rtx4080.json").read_text())
    [c] = read.candidates  # the GPU and the model come from the JSON's gpu_info and file name
    assert (c.device, c.model, c.quant, c.source) == ("RTX 4080", "Qwen2.5 7B", "Q4_K_M", "llama-bench")
    assert c.tokens_per_s == pytest.approx(118.88, abs=0.01)
    assert any("prompt-processing (pp)" in n for n in read.notes)


def test_llama_bench_markdown_needs_the_device_and_model_named():
    table = (BENCH / "cuda-ngl-sweep-old.md").read_text()
    assert "Which GPU" in read_report(table).error
    assert "only as “llama 7B”" in read_report("RTX 3090\n" + table).error
    read = read_report("RTX 3090 Llama 2 7B\n" + table)
    [c] = read.candidates  # the fastest full-offload tg row; partial offloads said skipped
    assert (c.device, c.model, c.quant, c.tokens_per_s) == ("RTX 3090", "Llama 2 7B", "Q4_0", 131.66)
    assert any("-ngl 10 of 32" in n for n in read.notes)


@pytest.mark.parametrize("prefix, says", [
    ("RTX 3090\n", "backend Metal,BLAS does not run on RTX 3090"),  # a Mac's table, a PC's card
    ("Apple M1 Ultra 64GB Llama 3.1 8B\n", "1.1B parameters, which is not Llama 3.1 8B"),
])
def test_llama_bench_contradicting_the_words_is_refused(prefix, says):
    read = read_report(prefix + (BENCH / "m1-ultra-metal.md").read_text())
    assert not read.candidates and says in read.error


def test_llama_bench_cpu_rows_are_not_stored_on_a_named_gpu():
    read = read_report("RTX 3090 Llama 2 7B\n" + (BENCH / "cpu-threads-old.md").read_text())
    assert not read.candidates and "Which GPU (or CPU)" in read.error
    [c] = read_report("Ryzen 9 7950X Llama 2 7B\n" + (BENCH / "cpu-threads-old.md").read_text()).candidates
    assert (c.device, c.gpu_count, c.tokens_per_s) == ("Ryzen 9 7950X", 0, 16.71)


# learning from reports ---------------------------------------------------------------

def test_calibration_ratios_reproduce_the_fitted_range():
    from rules.user_measurements import _percentile

    for name, cf in load_fit().classes.items():
        ratios = list(calibration_ratios(name))
        assert len(ratios) == cf.range_rows
        assert _percentile(ratios, 10) == pytest.approx(cf.ratio_low, abs=0.001)
        assert _percentile(ratios, 90) == pytest.approx(cf.ratio_high, abs=0.001)


FAST = 1.5


def test_reports_move_the_prediction_and_its_range():
    """THE required test: five users measuring RTX 3090 configurations 50 % faster than
    predicted (the range an answer states is the held-out band since issue 21, up to about
    1.34x for CUDA, so reports must lie beyond it to disagree) move a 3090 answer's expected speed and its range up, and the answer says
    so beside the calibrated figure; one user alone (five configurations) does not; an
    outlier user is rejected and changes nothing."""
    base = _answer()
    five = [r for i in range(5) for r in _reports(f"user{i}", FAST)]
    moved = _answer(learn(five))
    assert moved.speed.expected_tokens_per_s > base.speed.expected_tokens_per_s
    assert moved.speed.expected_range[0] >= base.speed.expected_range[0]
    assert moved.speed.expected_range[1] > base.speed.expected_range[1]
    assert moved.speed.measurements == base.speed.measurements + 5
    assert "incl. 5 user reports" in moved.answer
    assert f"Calibration alone: {base.speed.expected_tokens_per_s:.0f} tokens/s" in moved.answer
    # shrunk toward the calibration: 62 CUDA rows outweigh 5 users
    cuda_rows = load_fit().classes["cuda"].rows
    factor = moved.speed.expected_tokens_per_s / base.speed.expected_tokens_per_s
    assert factor == pytest.approx(FAST ** (5 / (5 + cuda_rows)), rel=0.01)
    # its own configuration's reports are shown, with the disagreement
    assert "5 measurements on RTX 3090: median" in moved.answer
    assert "above RigBot's prediction" in moved.answer

    one = learn(_reports("alone", FAST))
    alone = _answer(one)
    assert alone.speed == base.speed
    assert {a.status for a in one.assessed} == {"too_few_users"}
    assert "1 measurement on RTX 3090" in alone.answer  # shown, but moves nothing

    with_outlier = learn(five + _reports("outlier", 0.4))
    assert with_outlier.shifts["cuda"].users == 5 and with_outlier.shifts["cuda"].rejected == len(CONFIGS_3090)
    assert {a.status for a in with_outlier.assessed if a.report.user_id == "outlier"} == {"outlier"}
    assert _answer(with_outlier).speed.expected_tokens_per_s == moved.speed.expected_tokens_per_s
    assert "set aside as outlier" in _answer(with_outlier).answer


def test_a_class_is_moved_only_by_its_own_users():
    moved = learn([r for i in range(5) for r in _reports(f"u{i}", 1.3)])
    mac = "can an apple m2 max 64gb run llama 3.1 8b q4_k_m?"
    assert answer_query(parse(mac), measured=moved).speed == answer_query(parse(mac)).speed


def test_reports_beyond_the_ceiling_do_not_refine():
    p = predict("RTX 3090", 1, "Llama 3.1 8B", "Q4_K_M")
    fast = [SpeedReport(user_id=f"u{i}", device="RTX 3090", gpu_count=1, model="Llama 3.1 8B", quant="Q4_K_M",
                        tokens_per_s=p.theoretical_max_tokens_per_s * 1.4) for i in range(5)]
    learned = learn(fast)
    assert not learned.shifts and {a.status for a in learned.assessed} == {"out_of_band"}


def test_chinese_answer_shows_the_reports():
    learned = learn([r for i in range(3) for r in _reports(f"u{i}", 1.2)])
    zh = "RTX 3090 能跑 llama 3.1 8b q4_k_m 吗？"
    answer = answer_query(parse(zh), measured=learned).answer
    assert "用户报告" in answer and "3 条实测" in answer


# the math (hypothesis) -----------------------------------------------------------------

ratio = st.floats(min_value=0.4, max_value=2.5)


@settings(max_examples=60, deadline=None)
@given(r1=ratio, r2=ratio, users=st.integers(min_value=MIN_USERS, max_value=40))
def test_shift_is_monotone_in_what_users_measured(r1, r2, users):
    low, high = sorted((r1, r2))
    a, _ = class_shift("cuda", {f"u{i}": [low] for i in range(users)})
    b, _ = class_shift("cuda", {f"u{i}": [high] for i in range(users)})
    assert a.factor <= b.factor + 1e-9


@settings(max_examples=60, deadline=None)
@given(r=ratio, users=st.integers(min_value=MIN_USERS, max_value=40))
def test_shift_is_bounded_by_one_and_the_median_ratio(r, users):
    shift, _ = class_shift("cuda", {f"u{i}": [r] for i in range(users)})
    assert min(1.0, r) - 1e-3 <= shift.factor <= max(1.0, r) + 1e-3
    more, _ = class_shift("cuda", {f"u{i}": [r] for i in range(users + 10)})
    assert abs(math.log(more.factor)) >= abs(math.log(shift.factor)) - 1e-3  # more users, more weight
    assert shift.range_ratio[0] <= shift.factor <= shift.range_ratio[1]


@settings(max_examples=40, deadline=None)
@given(r=ratio, reports=st.integers(min_value=1, max_value=50), others=st.integers(min_value=0, max_value=MIN_USERS - 2))
def test_fewer_than_min_users_never_move_a_class(r, reports, others):
    users = {"heavy": [r] * reports} | {f"u{i}": [r] for i in range(others)}
    shift, _ = class_shift("cuda", users)
    assert shift is None


@settings(max_examples=40, deadline=None)
@given(agree=st.floats(min_value=0.8, max_value=1.3), wild=st.floats(min_value=2.0, max_value=3.0))
def test_a_wild_user_is_an_outlier_among_agreeing_ones(agree, wild):
    users = {f"u{i}": [agree * (1 + 0.01 * i)] for i in range(5)} | {"wild": [agree * wild]}
    shift, outliers = class_shift("cuda", users)
    assert outliers == {"wild"} and shift.users == 5


@pytest.mark.parametrize("gpu_info, says", [
    ("NVIDIA GeForce RTX 3090, NVIDIA GeForce RTX 3090", "2× RTX 3090"),
    ("NVIDIA GeForce RTX 3090, NVIDIA GeForce RTX 4090", "one kind of GPU"),
    ("Zorblax Accelerator 9000", "Which GPU"),  # not a card RigBot knows: never a guess
])
def test_llama_bench_gpu_info_gives_the_cards_and_their_count(gpu_info, says):
    text = (BENCH / "rtx4080.json").read_text().replace("NVIDIA GeForce RTX 4080", gpu_info)
    read = read_report(text)
    shown = read.error or read.candidates[0].where
    assert says in shown
