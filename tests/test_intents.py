"""The follow-on questions: longest context, fine-tuning, serving several users, time to
first token and the llama.cpp command, from words to the JSON contract's fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from rules.catalog import default_catalog
from rules.context import context_limits
from rules.engine import answer_question
from rules.memory import GPU_OVERHEAD_GIB, kv_cache_bytes, weights_bytes
from rules.parse import parse
from rules.rig import Rig
from rules.schema import GIB, Intent, Verdict
from rules.serving import serving

MIB = 2**20


@pytest.mark.parametrize(("text", "intent"), [
    ("What's the longest context Llama 3.1 8B Q4_K_M can use on a 3060 12GB?", Intent.MAX_CONTEXT),
    ("max context for qwen2.5 14b on a 4090", Intent.MAX_CONTEXT),
    ("4090 跑 qwen2.5 32b 最长上下文是多少", Intent.MAX_CONTEXT),
    ("How much VRAM to QLoRA fine-tune Llama 2 7B?", Intent.FINE_TUNE),
    ("can I finetune mistral 7b on a 3090", Intent.FINE_TUNE),
    ("3090 微调 llama 2 13b 要多少显存", Intent.FINE_TUNE),
    ("Can one 3090 serve 8 users at 8k context each?", Intent.SERVE),
    ("how many users can a 4090 handle with llama 3.1 8b", Intent.SERVE),
    ("一张 4090 跑 llama 3.1 8b 能同时服务多少用户", Intent.SERVE),
    ("Give me the llama.cpp command for llama 3.1 8b on a 3060", Intent.COMMAND),
    ("3060 跑 llama 3.1 8b 的启动命令", Intent.COMMAND),
    ("can a 3060 run llama 3.1 8b?", None),
    ("how fast is 70B on 2x3090?", None),
])
def test_intent_words(text, intent):
    assert parse(text).intent == (intent or parse(text).intent)
    if intent is None:
        assert parse(text).intent not in (Intent.MAX_CONTEXT, Intent.FINE_TUNE, Intent.SERVE, Intent.COMMAND)


def test_numbers_that_go_with_the_intents_are_read_into_the_query():
    e = parse("Can one 3090 serve 8 users at 8k context each?")
    assert (e.users, e.context, e.gpu_counts) == (8, 8192, [1])
    e = parse("How long until the first token for a 4000-token prompt with llama 3.1 8b?")
    assert e.prompt_tokens == 4000 and e.wants_first_token and e.context is None
    assert parse("time to first token with a 32k token prompt").prompt_tokens == 32000
    e = parse("QLoRA fine-tune llama 2 7b, batch size 4, sequence length 2048")
    assert (e.train_method, e.batch_size, e.sequence_length) == ("qlora", 4, 2048)
    assert parse("full fine-tune of llama 2 7b").train_method == "full"
    assert parse("a 3090 with experts in RAM (--n-cpu-moe)").experts_in_ram
    # the numbers are taken once: "batch 4" is no GPU count, "seq_len 4096" no context
    e = parse("fine-tune llama 3.1 70b on 2x3090 with QLoRA, batch 4, seq_len 4096")
    assert (e.gpu_counts, e.batch_size, e.sequence_length, e.context) == ([2], 4, 4096, None)


def test_parser_hook_sets_the_intent():
    from rules.parser import parse

    q = parse("What's the longest context Llama 3.1 8B Q4_K_M can use on a 3060 12GB?", default_catalog())
    assert q.intent == Intent.MAX_CONTEXT
    # no model: a question about LoRA in general stays a knowledge question
    assert parse("what is LoRA?", default_catalog()).intent != Intent.FINE_TUNE


def test_llama_cpp_kv_cache_sizes_match_its_logs():
    """llama.cpp logs `KV self size = 2048.00 MiB` for LLaMA v2 7B at n_ctx 4096 (f16) and
    1024 MiB for Llama 3 8B at 8192 (grouped-query attention)."""
    catalog = default_catalog()
    assert kv_cache_bytes(catalog.model("Llama 2 7B"), 4096) == 2048 * MIB
    assert kv_cache_bytes(catalog.model("Llama 3 8B"), 8192) == 1024 * MIB


def test_max_context_fills_the_memory_and_stops_at_native():
    catalog = default_catalog()
    model, quant = catalog.model("Llama 3.1 8B"), catalog.quant("Q4_K_M")
    rig = Rig(gpus=[(catalog.gpu("RTX 3060 12GB"), 1)], ram_gib=32, ram_bandwidth_gbs=51.2)
    f16, q8, q4 = context_limits(model, quant, rig)
    assert 0 < f16.context < q8.context <= q4.context <= model.native_context
    assert q4.capped_at_native
    # one step more would not fit
    room = (rig.gpu_budget_gib - GPU_OVERHEAD_GIB) * GIB - weights_bytes(model, quant)
    assert kv_cache_bytes(model, f16.context, "f16") <= room < kv_cache_bytes(model, f16.context + 256, "f16")


def test_max_context_answer_contract():
    r = answer_question("What's the longest context Llama 3.1 8B Q4_K_M can use on a 3060 12GB?")
    assert r.intent == Intent.MAX_CONTEXT
    # f16 KV: (12 − 0.8 GiB − 4.6 GiB of weights) ÷ 128 KiB per token, in steps of 256
    assert 50_000 < r.model.context < 56_000 and r.model.context % 256 == 0
    assert "q8_0" in r.answer and "q4_0" in r.answer and "131,072" in r.answer
    assert r.command == f"llama-server -m Llama-3.1-8B-Q4_K_M.gguf -ngl 99 -c {r.model.context}"


def test_serving_kv_per_slot_times_slots():
    """`llama-server -np 8 -c 65536`: eight slots of 8192 tokens, 1 GiB of KV each for Llama 3 8B."""
    catalog = default_catalog()
    model, quant = catalog.model("Llama 3 8B"), catalog.quant("Q4_K_M")
    rig = Rig(gpus=[(catalog.gpu("RTX 3090"), 1)], ram_gib=32, ram_bandwidth_gbs=51.2)
    info = serving(model, quant, rig, 8, 8192, "f16", None)
    assert info.kv_cache_per_user_gib == pytest.approx(1.0)
    assert info.kv_cache_gib == pytest.approx(8.0)
    assert info.max_users == 18  # (24 − 0.8 − 4.52) GiB ÷ 1 GiB


def test_serve_answer():
    r = answer_question("Can one 3090 serve 8 users at 8k context each with llama 3.1 8b?")
    assert r.intent == Intent.SERVE and r.verdict == Verdict.FITS_GPU
    assert r.serving.users == 8 and r.serving.context_per_user == 8192
    assert r.serving.per_user_tokens_per_s < r.speed.expected_tokens_per_s  # sharing costs each user speed
    assert r.serving.aggregate_tokens_per_s > r.speed.expected_tokens_per_s  # batching wins in total
    assert "-np 8" in r.command and "-c 65536" in r.command
    many = answer_question("how many users can a 4090 serve with llama 3.1 8b at 4k context")
    assert many.serving.users == many.serving.max_users > 8
    too_many = answer_question("Can one 3060 12GB serve 40 users at 32k context each with llama 3.1 8b?")
    assert too_many.verdict == Verdict.DOES_NOT_FIT and too_many.command is None


@pytest.mark.parametrize("question", ["Can one 3090 serve 8 users at 8k context each?",
                                      "一张3090能同时服务8个用户吗，每人8k上下文？"])
def test_serve_without_a_model_lists_models_sized_for_the_users(question):
    """No model named: not the single-user recommendation list, but the models that hold
    8 slots of 8192 tokens each, with each user's speed while all 8 generate."""
    r = answer_question(question)
    assert r.intent == Intent.SERVE and r.recommendations
    rig = Rig(gpus=[(_CATALOG.gpu("RTX 3090"), 1)], ram_gib=32, ram_bandwidth_gbs=51.2)
    for rec in r.recommendations:
        model, quant = _CATALOG.model(rec.model), _CATALOG.quant(rec.quant)
        need = (weights_bytes(model, quant) + 8 * kv_cache_bytes(model, 8192, "f16")) / GIB + GPU_OVERHEAD_GIB
        assert rec.total_gib == pytest.approx(need, abs=0.06) and need <= rig.gpu_budget_gib
        assert rec.users == 8 and rec.aggregate_tokens_per_s == pytest.approx(8 * rec.expected_tokens_per_s, rel=0.02)
        low, high = rec.expected_range
        assert low <= rec.expected_tokens_per_s <= high
        # each user is slower than one user alone would be
        single = answer_question(f"how fast is {rec.model} {rec.quant} on a 3090")
        assert rec.expected_tokens_per_s < single.speed.expected_tokens_per_s
    assert ("8,192" in r.answer) and ("8 users" in r.answer or "8 个用户" in r.answer)
    # the 32B that leads the one-user list does not hold 8 × 8k slots next to its weights
    assert "Qwen2.5 32B" not in [rec.model for rec in r.recommendations]


def test_a_moe_serving_several_users_reads_more_experts():
    """Eight slots route to different experts, so a step reads far more than one token's
    8 of 128: the per-user speed of Qwen3-30B-A3B drops much more than a dense model's."""
    from rules.serving import extra_expert_bytes

    moe, q = _CATALOG.model("Qwen3 30B-A3B"), _CATALOG.quant("Q4_K_M")
    assert extra_expert_bytes(moe, q, 1) == 0
    assert extra_expert_bytes(moe, q, 8) > 4 * extra_expert_bytes(moe, q, 1) + 5e9
    assert extra_expert_bytes(_CATALOG.model("Llama 3.1 8B"), q, 8) == 0


def test_time_to_first_token():
    r = answer_question("How long until the first token for a 4000-token prompt with llama 3.1 8b on a 4090?")
    s = r.speed
    assert s.prompt_tokens == 4000
    assert s.time_to_first_token_s == pytest.approx(4000 / s.prompt_tokens_per_s, rel=0.02)
    assert "4,000" in r.answer


def test_every_can_run_answer_ends_with_the_command():
    r = answer_question("can a 3060 12GB run llama 3.1 8b q4_k_m?")
    assert r.command == "llama-server -m Llama-3.1-8B-Q4_K_M.gguf -ngl 99 -c 4096"
    assert r.answer.rstrip().endswith(
        "`ollama run llama3.1:8b-instruct-q4_K_M`, then `/set parameter num_ctx 4096` in the session")
    partial = answer_question("can a 3060 12GB run llama 3.1 70b q4_k_m with 64GB RAM?")
    assert partial.verdict == Verdict.PARTIAL_OFFLOAD
    assert f"-ngl {partial.memory.gpu_layers} " in partial.command
    kv = answer_question("can a 3060 12GB run llama 3.1 8b at 32k context with q8_0 kv cache?")
    assert "-ctk q8_0 -ctv q8_0" in (kv.command or "")
    assert answer_question("can a 3060 12GB run llama 3.1 405b?").command is None


def test_mixed_gpus_split_by_memory():
    r = answer_question("can a 3090 + 3060 run llama 3.1 70b q3_k_m?")
    assert r.verdict == Verdict.FITS_GPU
    split = ",".join(f"{g.vram_gib:g}" for g in r.hardware.gpus)  # in the order the cards are listed
    assert split in ("24,12", "12,24") and f"-ts {split}" in r.command
    assert "67% RTX 3090" in r.answer and "33% RTX 3060 12GB" in r.answer


def test_moe_experts_in_ram():
    r = answer_question("Can a 3090 with 64 GB DDR5 run mixtral 8x22b?")
    assert r.verdict == Verdict.PARTIAL_OFFLOAD
    assert "--n-cpu-moe" in r.command and "-ngl 99" in r.command
    # experts from RAM beat splitting whole layers
    layers = answer_question("Can a 3090 with 64 GB DDR5 run llama 3.1 70b?")
    assert r.speed.expected_tokens_per_s > layers.speed.expected_tokens_per_s


def test_new_fields_in_the_json_contract():
    r = answer_question("Can one 3090 serve 8 users at 8k context each with llama 3.1 8b?")
    data = Answer(question="q", route="rules", **r.model_dump()).model_dump()
    for field in ("serving", "training", "command"):
        assert field in data
    for field in ("expected_range", "prompt_tokens_per_s", "time_to_first_token_s", "prompt_tokens"):
        assert field in data["speed"]


def test_chinese_answers():
    r = answer_question("一张 3090 跑 llama 3.1 8b 8k 上下文能同时服务多少用户")
    assert r.intent == Intent.SERVE and "个用户" in r.answer
    r = answer_question("3090 微调 llama 2 13b 要多少显存")
    assert r.intent == Intent.FINE_TUNE and "微调" in r.answer


_CATALOG = default_catalog()


@settings(max_examples=80, deadline=None)
@given(model=st.sampled_from([m for m in _CATALOG.models if m.params_b < 80]),
       vram=st.floats(4, 96), extra=st.floats(0.5, 48))
def test_more_memory_never_shortens_the_context(model, vram, extra):
    quant = _CATALOG.quant("Q4_K_M")
    gpu = _CATALOG.gpu("RTX 3090")

    def limits(v):
        rig = Rig(gpus=[(gpu.model_copy(update={"vram_gib": v}), 1)], ram_gib=32, ram_bandwidth_gbs=51.2)
        return [c.context for c in context_limits(model, quant, rig)]

    small, big = limits(vram), limits(vram + extra)
    assert all(b >= s for s, b in zip(small, big, strict=True))
    assert small[0] <= small[1] <= small[2] <= model.native_context  # f16 ≤ q8_0 ≤ q4_0
