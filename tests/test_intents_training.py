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


@pytest.mark.parametrize(("question", "setup", "inference_words"), [
    ("How much VRAM to QLoRA fine-tune Llama 2 7B?", "4-bit NF4", ("Q4_K_M", "no quantization named")),
    ("3090 微调 llama 2 13b 要多少显存", "4 位 NF4", ("Q4_K_M", "未指定量化")),
])
def test_fine_tune_assumptions_say_what_training_assumes(question, setup, inference_words):
    """A GGUF quant has nothing to do with training memory: the assumptions name the
    training setup (bf16 / NF4 base, AdamW, LoRA rank, checkpointing), not 'Q4_K_M'."""
    r = answer_question(question)
    assumptions = r.answer.splitlines()[-1]
    assert setup in assumptions and "AdamW" in assumptions
    for word in inference_words:
        assert word not in r.answer
    assert r.model.quant in ("BF16", "NF4")


def test_a_named_gguf_quant_is_said_to_be_unused_for_training():
    r = answer_question("QLoRA fine-tune Llama 2 7B Q4_K_M on a 3060 12GB")
    assert "fine-tuning does not use it" in r.answer and r.model.quant == "NF4"


@pytest.mark.parametrize("said", ["sequence 4096", "sequence length 4096", "seq 4096", "seq_len=4096"])
def test_the_sequence_length_is_read_however_it_is_written(said):
    """"batch 4, sequence 4096" was answered for the default 512 tokens (✅ 42.5 GiB) while
    "sequence length 4096" gave ❌ 63.8 GiB: the same question must get the same answer."""
    result = answer_question(f"fine-tune llama 3.1 70b on 2x3090 with QLoRA, batch 4, {said}", default_catalog())
    assert result.training.sequence_length == 4096 and result.verdict == Verdict.DOES_NOT_FIT
    assert "not given" not in result.answer.split("Assumptions")[-1].split("sequence length")[-1][:20]


def test_serving_more_users_than_the_gpus_hold_offloads_like_one_user_does():
    """DeepSeek V3 Q2 on 2x3090 + 512 GB RAM at 128k: one user was a partial (expert)
    offload, four users were ❌ "more than the 48 GiB" beside a speed. Four users offload too."""
    catalog = default_catalog()
    question = "can I run deepseek v3 at q2 on 2x3090 with 512gb ddr5 12 channel at 128k context{}?"
    one = answer_question(question.format(""), catalog)
    four = answer_question(question.format(" for 4 users"), catalog)
    assert one.verdict == Verdict.PARTIAL_OFFLOAD
    assert four.verdict == Verdict.PARTIAL_OFFLOAD and "more than the" in four.answer and "system RAM" in four.answer
    assert "--n-cpu-moe" in four.command and "-np 4" in four.command
    assert four.serving.per_user_tokens_per_s < one.speed.expected_tokens_per_s
    # a rig whose RAM cannot take the rest still gets "no"
    small = answer_question("serve deepseek v3 q2 to 4 users at 128k context on 2x3090 with 64gb ram", catalog)
    assert small.verdict == Verdict.DOES_NOT_FIT
