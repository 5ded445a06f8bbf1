"""Speed per runtime (issue 20): the public measurements validate, the ranges hold the
held-out rows, uncalibrated combinations say so, and the math keeps its physics."""

from __future__ import annotations

import math
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.catalog import default_catalog
from rules.engine import answer_question
from rules.runtime_speed import (
    DATA_FILE,
    MIN_HELD_OUT_COVERAGE,
    MIN_ROWS,
    MIN_SOURCES,
    RUNTIMES,
    SERVING_RUNTIMES,
    _sweep_points,
    calibrated_classes,
    calibration,
    concurrency_fit,
    concurrency_held_out,
    decode_rows,
    estimate,
    held_out_check,
    load_measurements,
)

ROWS, FORMATS = load_measurements()


# --- the data ------------------------------------------------------------------------------

def test_every_row_is_sourced_and_resolves_against_the_catalog():
    catalog = default_catalog()
    assert len(ROWS) >= 60
    for r in ROWS:
        assert r.m.source.startswith("https://"), r.m.source
        assert r.m.runtime in RUNTIMES
        assert catalog.gpu(r.m.device).name == r.m.device
        assert r.bytes_per_token > 0 and r.bandwidth_gbs > 0
    for f in FORMATS.values():
        assert len(f.source) > 20


def test_a_model_the_catalog_knows_carries_the_catalogs_parameter_count():
    catalog = default_catalog()
    known = {m.name: m.params_b for m in catalog.models}
    for r in ROWS:
        if r.m.model in known:
            assert r.m.params_b == pytest.approx(known[r.m.model], rel=0.02), r.m.model


def test_no_single_request_figure_passes_its_bandwidth_ceiling():
    for r in ROWS:
        if r.m.kind == "decode":
            assert r.m.tps <= r.ceiling_tps * 1.02, (r.m.model, r.m.device)


def test_the_loader_rejects_a_row_above_its_ceiling_and_an_unsourced_row(tmp_path):
    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[group]]\nsource = "https://example.org/x a test row"\nruntime = "vllm"\nrows = [\n'
                   '  { device = "RTX 4090", model = "Llama 3.1 8B", params_b = 8.03, format = "BF16", '
                   'kind = "decode", tps = 300 },\n]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="ceiling"):
        load_measurements.__wrapped__(bad)
    unsourced = tmp_path / "unsourced.toml"
    unsourced.write_text('[[group]]\nsource = ""\nruntime = "vllm"\nrows = [\n'
                         '  { device = "RTX 4090", model = "Llama 3.1 8B", params_b = 8.03, format = "BF16", '
                         'kind = "decode", tps = 50 },\n]\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_measurements.__wrapped__(unsourced)
    assert data["group"]  # the real file parsed as TOML


def test_rows_cover_the_runtimes_asked_for():
    runtimes = {r.m.runtime for r in ROWS}
    assert {"vllm", "sglang", "exllama", "mlx", "tensorrt_llm", "transformers"} <= runtimes


# --- held-out ranges -----------------------------------------------------------------------

def test_ranges_hold_at_least_80_percent_of_held_out_rows_per_calibrated_runtime():
    """Leave one source out: fit on the other sources, form the range as answers form it,
    and count the left-out rows inside, per runtime over its calibrated classes."""
    per_runtime: dict[str, list[bool]] = {}
    for runtime, device_class in calibrated_classes():
        if not calibration(runtime, device_class).calibrated:
            continue
        checks = held_out_check(decode_rows(runtime, device_class))
        assert checks, (runtime, device_class)
        per_runtime.setdefault(runtime, []).extend(c.inside for c in checks)
    assert {"exllama", "mlx", "vllm"} <= set(per_runtime)
    for runtime, inside in per_runtime.items():
        assert sum(inside) / len(inside) >= 0.8, (runtime, sum(inside), len(inside))


def test_a_class_whose_held_out_check_fails_is_not_calibrated():
    for runtime, device_class in calibrated_classes():
        cal = calibration(runtime, device_class)
        if cal.held_out_coverage is not None and cal.held_out_coverage < MIN_HELD_OUT_COVERAGE:
            assert not cal.calibrated and cal.fit is None
    assert not calibration("exllama", "cuda_hbm").calibrated  # A100 runs disagree (CPU-bound setups)


def test_the_concurrency_exponent_holds_its_held_out_sweeps():
    conc = concurrency_fit("vllm")
    assert conc.alpha is not None and 0.5 < conc.alpha < 1.0 and conc.sources >= 2
    points = _sweep_points([r for r in ROWS if r.m.kind == "throughput" and r.m.runtime == "vllm"])
    checks = concurrency_held_out(points)
    assert sum(lo <= 1 / e <= hi for e, lo, hi in checks) / len(checks) >= 0.8


# --- uncalibrated combinations -------------------------------------------------------------

def test_too_few_rows_give_only_the_ceiling():
    for runtime, device_class in [("vllm", "cuda"), ("sglang", "cuda_hbm"), ("tensorrt_llm", "cuda_hbm"),
                                  ("ktransformers", "cuda"), ("mlx", "cuda")]:
        cal = calibration(runtime, device_class)
        assert cal.rows < MIN_ROWS or cal.sources < MIN_SOURCES or not cal.calibrated
        est = estimate(runtime, 10e9, 1000, device_class)
        assert not est.calibrated and est.expected_tps is None and est.range_tps is None
        assert est.ceiling_tps == pytest.approx(100)


def test_an_uncalibrated_answer_says_so_and_shows_the_ceiling():
    r = answer_question("qwen2.5 32b AWQ on a 4090 with vLLM")
    assert "no calibration for vLLM on NVIDIA GPUs with CUDA" in r.answer
    assert "only the bandwidth ceiling: at most 59 tokens/s" in r.answer
    assert r.speed.expected_range is None and r.speed.device_class == "uncalibrated:vllm/cuda"
    assert r.speed.theoretical_max_tokens_per_s == pytest.approx(1008e9 / (32.76e9 * 4.15 / 8), abs=0.1)
    assert "llama.cpp's bandwidth estimate" not in r.answer  # the old sentence is gone
    zh = answer_question("vllm部署qwen2.5 72b awq，四张4090，能跑吗")
    assert "没有校准数据" in zh.answer and "上限" in zh.answer


def test_a_calibrated_answer_gives_the_range_and_what_it_rests_on():
    r = answer_question("llama 3 8b on M2 Max mlx")
    assert r.runtime == "mlx" and r.speed.device_class == "mlx/metal"
    low, high = r.speed.expected_range
    assert low <= r.speed.expected_tokens_per_s <= high <= r.speed.theoretical_max_tokens_per_s
    assert "**Speed with MLX:**" in r.answer and "4 public MLX measurements" in r.answer
    assert "MLX 4-bit" in r.answer  # a GGUF quant is read as the MLX file of the same width
    assert r.answer.count("**Speed") == 1  # llama.cpp's speed line was replaced, not kept beside


def test_llama_cpp_answers_are_unchanged():
    for q in ("llama 3 8b on a 4090", "llama 3 8b on a 4090 with ollama"):
        r = answer_question(q)
        assert r.runtime in ("llama.cpp", "ollama")
        assert r.speed.device_class == "cuda" and "**Speed:**" in r.answer


def test_users_on_vllm_get_the_fitted_aggregate():
    r = answer_question("10 users llama 3.1 8b on H100 SXM vllm")
    assert "**With 10 users at once:**" in r.answer and "concurrency sweeps" in r.answer
    r2 = answer_question("10 users qwen2.5 14b awq vllm on a 3090")
    assert "**With 10 users at once:** at most" in r2.answer  # uncalibrated: the bound only


# --- properties ----------------------------------------------------------------------------

CLASSES = st.sampled_from(sorted({c for _, c in calibrated_classes()} | {"vulkan_rocm"}))


@settings(max_examples=200, deadline=None)
@given(runtime=st.sampled_from(RUNTIMES), device_class=CLASSES, gb=st.floats(0.3, 400),
       bw=st.floats(50, 4000), factor=st.floats(1.01, 4))
def test_faster_memory_never_slows_an_estimate(runtime, device_class, gb, bw, factor):
    slow = estimate(runtime, gb * 1e9, bw, device_class)
    fast = estimate(runtime, gb * 1e9, bw * factor, device_class)
    assert fast.ceiling_tps > slow.ceiling_tps
    if slow.calibrated:
        assert fast.expected_tps >= slow.expected_tps
        assert slow.range_tps[0] <= slow.expected_tps <= slow.range_tps[1] <= slow.ceiling_tps * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(runtime=st.sampled_from(sorted(SERVING_RUNTIMES)), device_class=CLASSES, gb=st.floats(0.3, 200),
       bw=st.floats(100, 4000), users=st.integers(2, 512))
def test_aggregate_is_at_least_one_request_and_at_most_n_times_it(runtime, device_class, gb, bw, users):
    one = estimate(runtime, gb * 1e9, bw, device_class)
    many = estimate(runtime, gb * 1e9, bw, device_class, users=users)
    if many.aggregate_tps is not None:
        assert one.expected_tps <= many.aggregate_tps <= users * one.expected_tps * (1 + 1e-9)
        low, high = many.aggregate_range
        assert one.range_tps[0] <= low <= many.aggregate_tps <= high <= users * one.range_tps[1] * (1 + 1e-9)
    elif many.aggregate_range is not None:
        low, high = many.aggregate_range
        assert low == one.range_tps[0] and high == pytest.approx(users * one.range_tps[1])


@settings(max_examples=100, deadline=None)
@given(gb=st.floats(1, 100), bw=st.floats(100, 4000), gpus=st.integers(2, 8))
def test_tensor_parallel_adds_bandwidth_to_the_ceiling_but_the_low_end_assumes_no_gain(gb, bw, gpus):
    one = estimate("vllm", gb * 1e9, bw, "cuda_hbm")
    tp = estimate("vllm", gb * 1e9, bw, "cuda_hbm", gpus=gpus)
    assert tp.ceiling_tps == pytest.approx(gpus * one.ceiling_tps)
    assert tp.expected_tps >= one.expected_tps and tp.tensor_parallel_uncalibrated
    assert tp.range_tps[0] <= one.expected_tps * calibration("vllm", "cuda_hbm").band[0] * (1 + 1e-9)
    layer_split = estimate("exllama", gb * 1e9, bw, "cuda", gpus=gpus)
    assert layer_split.gpus == 1 and layer_split.ceiling_tps == pytest.approx(bw * 1e9 / (gb * 1e9))


def test_estimate_reproduces_a_measured_row_within_its_band():
    r = next(r for r in ROWS if r.m.runtime == "exllama" and r.m.device == "RTX 4090" and r.m.model == "LLaMA 13B")
    est = estimate("exllama", r.bytes_per_token, r.bandwidth_gbs, "cuda")
    assert est.range_tps[0] <= r.m.tps <= est.range_tps[1]
    assert math.isclose(est.expected_tps, r.m.tps, rel_tol=0.25)
