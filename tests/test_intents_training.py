"""Fine-tuning memory against LLaMA-Factory's hardware-requirement table
(https://github.com/hiyouga/LLaMA-Factory README, "Hardware Requirement", estimated GB):
Full bf16/fp16 AMP 18x; LoRA (16-bit) 2x; QLoRA 8-bit x; QLoRA 4-bit x/2, for 7B to 70B."""

from __future__ import annotations

import pytest

from rules.catalog import default_catalog
from rules.engine import answer_question
from rules.schema import Intent, Verdict
from rules.training import training_memory

# (catalog model, the table's column): LLaMA-Factory's 7B / 14B / 30B / 70B
SIZES = [("Llama 2 7B", 7), ("Qwen2.5 14B", 14), ("LLaMA 30B", 30), ("Llama 2 70B", 70)]
TABLE = {  # GB by method and size column
    "full": {7: 120, 14: 240, 30: 600, 70: 1200},
    "lora": {7: 16, 14: 32, 30: 64, 70: 160},
    "qlora": {7: 6, 14: 12, 30: 24, 70: 48},
}


@pytest.mark.parametrize("method", ["full", "lora", "qlora"])
@pytest.mark.parametrize(("model_name", "column"), SIZES)
def test_matches_llama_factory_table_within_30_percent(method, model_name, column):
    model = default_catalog().model(model_name)
    info = training_memory(model, method)
    total_gb = info.total_gib * 2**30 / 1e9
    assert total_gb == pytest.approx(TABLE[method][column], rel=0.30), (model_name, method, total_gb)


def test_parts_add_up_and_order_of_methods():
    model = default_catalog().model("Llama 2 7B")
    plans = {m: training_memory(model, m) for m in ("full", "lora", "qlora")}
    for t in plans.values():
        parts = t.weights_gib + t.adapters_gib + t.gradients_gib + t.optimizer_gib + t.activations_gib + t.overhead_gib
        assert t.total_gib == pytest.approx(parts)
    assert plans["full"].total_gib > plans["lora"].total_gib > plans["qlora"].total_gib
    # activations grow with batch and sequence
    long = training_memory(model, "lora", batch_size=4, sequence_length=4096)
    assert long.activations_gib == pytest.approx(plans["lora"].activations_gib * 32)


def test_answer_states_batch_and_sequence_and_gives_the_verdict_for_the_gpu():
    r = answer_question("How much VRAM to QLoRA fine-tune Llama 2 7B?")
    assert r.intent == Intent.FINE_TUNE and r.training.method == "qlora"
    assert r.training.batch_size == 1 and r.training.sequence_length == 512
    assert r.memory.total_gib == r.training.total_gib
    assert r.verdict is None  # no GPU named
    assert "batch size" in r.answer and "512" in r.answer
    fits = answer_question("can I QLoRA fine-tune llama 2 13b on a 3060 12GB with batch size 2?")
    assert fits.verdict == Verdict.FITS_GPU and fits.training.batch_size == 2
    no = answer_question("full fine-tune llama 2 7b on a 4090")
    assert no.verdict == Verdict.DOES_NOT_FIT and no.training.method == "full"
    assert "QLoRA" in no.answer  # what fits instead
