"""RigBot's own host: the start-up measurement of RAM bandwidth and compute, and the
`stats` self-prediction made with the same speed model as every answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.host import measure_performance
from bot.stats import model_from_gguf, predicted_tokens_per_s
from knowledge.llm import default_model_path
from rules.memory import fit
from rules.rig import Rig
from rules.speed import HostCompute, speed


def test_measurement_is_quick_and_plausible():
    m = measure_performance()
    assert 0.5 < m["ram_read_gbs"] < 5000
    assert 0.5 < m["matmul_gflops_1thread"] < 100000
    assert m["seconds"] < 5  # a few hundred ms on an idle machine; shared CI hosts are slower


def test_default_model_read_from_its_gguf_header():
    model, quant = model_from_gguf(Path(default_model_path()))
    assert (model.layers, model.hidden_size, model.heads, model.kv_heads) == (30, 576, 9, 3)
    assert model.params_b == pytest.approx(0.1345, abs=0.001)
    assert quant.name == "Q4_1"
    # the file's real tensor bytes, not the nominal 5 bits: the embeddings are kept wider
    assert quant.bits_per_weight * model.params_b * 1e9 / 8 == pytest.approx(
        Path(default_model_path()).stat().st_size, rel=0.02)


def test_self_prediction_uses_the_answers_speed_model():
    measured = {"ram_read_gbs": 20.0, "matmul_gflops_1thread": 100.0}
    host = {"measured": measured, "ram_gib": 8, "cpu": {"flags": ["avx2", "avx512f"]}, "n_threads": 1}
    path = Path(default_model_path())
    p = predicted_tokens_per_s(host, path)
    model, quant = model_from_gguf(path)
    rig = Rig(gpus=[], ram_gib=8, ram_bandwidth_gbs=20.0)
    s = speed(model, quant, fit(model, quant, 512, rig), rig, host=HostCompute("cpu_avx512", 100.0))
    assert p["expected_tokens_per_s"] == round(s.expected_tokens_per_s, 1)
    assert p["bottleneck"] == "cpu_compute"  # a 98 MB model is compute-bound, not bandwidth-bound
    assert p["expected_tokens_per_s"] < p["theoretical_max_tokens_per_s"] / 2
    # without a measurement the answer says so rather than assuming a RAM kind
    assert predicted_tokens_per_s({"ram_gib": 8}, path)["expected_tokens_per_s"] is None
