"""vLLM and SGLang sized as they allocate (rules/vllm.py): 0.9 of each GPU, the weights
split over the tensor-parallel ranks, non-torch memory (0.15 GiB, 0.55 with TP) plus the
profiling run's peak (the larger of one batch of --max-num-batched-tokens through the FFN
and 1.2 x its fp32 logits; 2048 tokens below 70 GiB), the rest in 16-token KV blocks; from
the tokens that fit, the largest --max-model-len and --max-num-seqs. Figures worked by
hand here; tests/test_runtime_memory.py checks them against start-up logs."""

from __future__ import annotations

import pytest

from rules.catalog import default_catalog
from rules.engine import answer_question
from rules.parse import parse
from rules.schema import GIB, Verdict
from rules.vllm import BLOCK_SIZE, kv_bytes_per_token, size, tp_sizes, weights_bytes_vllm

CAT = default_catalog()
LLAMA_8B = CAT.model("Llama 3.1 8B")


def _overhead_by_hand(model, tp: int = 1, batched: int = 2048) -> float:
    # non-torch + max(batched x (3 x intermediate / TP + 4 x hidden) x 2 bytes, 1.2 x batched x vocab x 4 bytes)
    forward = batched * (3 * model.intermediate_size / tp + 4 * model.hidden_size) * 2
    logits = 1.2 * batched * model.vocab_size * 4
    return (0.15 if tp == 1 else 0.55) + max(forward, logits) / GIB


def _tokens_by_hand(weights_per_gpu_gib: float, vram: float, per_token_per_gpu: float, overhead: float) -> int:
    pool = 0.9 * vram - weights_per_gpu_gib - overhead
    return int(pool * GIB // (per_token_per_gpu * BLOCK_SIZE)) * BLOCK_SIZE


def test_the_overhead_is_non_torch_plus_the_profiling_peak():
    # Llama 3.1 8B: the logits dominate, 1.2 x 2048 x 128,256 x 4 bytes = 1.17 GiB (+0.15);
    # on an 80 GiB card vLLM batches 8192 tokens: 4.70 GiB (+0.15)
    assert size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096).overhead_gib == pytest.approx(1.32, abs=0.01)
    assert size(LLAMA_8B, CAT.quant("BF16"), 1, 80.0, 4096).overhead_gib == pytest.approx(4.85, abs=0.01)
    # vLLM 0.10 profiled logits for one token per sequence: the forward pass dominates
    assert size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096, logit_rows=256).overhead_gib == pytest.approx(
        0.15 + 2048 * (3 * 14336 + 4 * 4096) * 2 / GIB, abs=0.001)


def test_the_runtime_and_the_awq_word_are_read():
    q = parse("qwen2.5 32b AWQ on a 4090 with vLLM")
    assert q.runtime == "vllm" and q.quant == "GPTQ_4BIT" and q.quant_written == "awq"
    assert parse("qwen2.5 32b gptq on a 4090 with vllm").quant_written == "gptq"
    q = parse("llama 3.1 8b on a 4090 with vllm, fp8 kv cache")
    assert q.kv_cache_type == "q8_0" and q.quant is None  # "fp8" is the KV cache, not the weights


def test_llama_8b_bf16_on_one_24gb_card():
    # 8.03B x 2 bytes = 14.96 GiB; KV: 32 layers x 8 KV heads x 128 x (K+V) x 2 bytes = 128 KiB a token
    result = answer_question("llama 3.1 8b bf16 on a 3090 with vllm")
    assert result.runtime == "vllm" and result.verdict == Verdict.FITS_GPU
    weights = 8.03e9 * 2 / GIB
    assert result.memory.weights_gib == pytest.approx(weights, abs=0.05)
    assert kv_bytes_per_token(LLAMA_8B) == 32 * 8 * 128 * 2 * 2 == 128 * 1024
    f = size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096)
    assert f.tokens == _tokens_by_hand(f.weights_gib, 24.0, 128 * 1024, _overhead_by_hand(LLAMA_8B))
    assert 42_800 < f.tokens < 44_000  # (21.6 - 14.96 - 1.32) GiB / 128 KiB ≈ 43,550
    assert f.max_model_len == f.tokens and f.max_num_seqs == f.tokens // 4096 == 10
    assert f"--max-model-len {f.tokens}" in result.command and "--max-num-seqs 10" in result.command
    assert "128 KiB per token" in result.answer and f"{f.tokens:,} tokens" in result.answer
    assert "sizes llama.cpp" not in result.answer and "llama-server" not in result.answer


def test_no_quant_named_is_the_bf16_checkpoint():
    result = answer_question("llama 3.1 8b on a 4090 with vllm")
    assert result.model.quant == "BF16" and "BF16 checkpoint" in result.answer
    assert "GGUF support is experimental" not in result.answer


def test_fp8_kv_cache_doubles_the_tokens():
    plain = size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096)
    fp8 = size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096, kv_dtype="fp8")
    assert fp8.blocks in (2 * plain.blocks, 2 * plain.blocks + 1)
    result = answer_question("llama 3.1 8b on a 4090 with vllm, fp8 kv cache")
    assert "--kv-cache-dtype fp8" in result.command and f"{fp8.tokens:,} tokens" in result.answer


def test_awq_on_a_4090():
    result = answer_question("qwen2.5 32b AWQ on a 4090 with vLLM")
    model = CAT.model("Qwen2.5 32B")
    weights = model.params_b * 1e9 * 4.15 / 8 / GIB  # ~4.15 bits: 4 bits + group-128 scales and zeros
    assert result.memory.weights_gib == pytest.approx(weights, abs=0.05)
    per_token = model.layers * model.kv_heads * model.kv_head_dim * 2 * 2
    f = size(model, CAT.quant("GPTQ_4BIT"), 1, 24.0, 4096)
    assert f.tokens == _tokens_by_hand(weights, 24.0, per_token, _overhead_by_hand(model))
    assert result.command.startswith("vllm serve ") and "--quantization awq" in result.command
    assert "--tensor-parallel-size 1" in result.command and "--gpu-memory-utilization 0.9" in result.command
    assert "--quantization gptq" in answer_question("qwen2.5 32b gptq on a 4090 with vllm").command


def test_70b_bf16_does_not_fit_one_24gb_card():
    result = answer_question("llama 3.1 70b bf16 on a 4090 with vllm")
    assert result.verdict == Verdict.DOES_NOT_FIT and result.command is None
    assert "does not offload" in result.answer and "partial" not in result.answer.lower()


def test_tensor_parallel_splits_the_weights():
    model = CAT.model("Llama 3.1 70B")
    f = size(model, CAT.quant("GPTQ_4BIT"), 2, 24.0, 8192)
    assert f.tp == 2 and f.pp == 1 and f.tp_ok
    assert f.weights_per_gpu_gib == pytest.approx(weights_bytes_vllm(model, CAT.quant("GPTQ_4BIT")) / GIB / 2)
    # each rank holds 4 of the 8 KV heads: 80 layers x 4 x 128 x 2 x 2 = 160 KiB a token per GPU
    assert f.tokens == _tokens_by_hand(f.weights_per_gpu_gib, 24.0, 80 * 4 * 128 * 2 * 2, _overhead_by_hand(model, 2))
    result = answer_question("llama 3.1 70b awq on 2x 3090 with vllm at 8k context")
    assert "--tensor-parallel-size 2" in result.command and result.verdict == Verdict.FITS_GPU


def test_heads_not_divisible_by_the_gpu_count():
    qwen7 = CAT.model("Qwen2.5 7B")  # 28 attention heads, 4 KV heads
    assert tp_sizes(qwen7, 4) == [1, 2, 4]
    f = size(qwen7, CAT.quant("BF16"), 3, 24.0, 8192)
    assert not f.tp_ok and (f.tp, f.pp) == (1, 3)
    result = answer_question("qwen2.5 7b on 3x 3090 with vllm at 8k context")
    assert "not divisible by 3" in result.answer and "1, 2" in result.answer
    assert "--tensor-parallel-size 1 --pipeline-parallel-size 3" in result.command


def test_more_users_than_fit_queue():
    result = answer_question("serve llama 3.1 8b to 20 users at 8k context on a 4090 with vllm")
    f = size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 8192)
    assert f.max_num_seqs == 5 and f"--max-num-seqs {f.max_num_seqs}" in result.command
    assert "wait in the queue" in result.answer


def test_sglang_command_flags():
    result = answer_question("sglang qwen3 32b awq on an h100")
    assert result.runtime == "sglang"
    cmd = result.command
    assert cmd.startswith("python -m sglang.launch_server --model-path ")
    for flag in ("--quantization awq", "--tp 1", "--context-length ", "--mem-fraction-static 0.9"):
        assert flag in cmd, cmd
    assert "--tensor-parallel-size" not in cmd and "--max-model-len" not in cmd


def test_in_chinese():
    result = answer_question("vllm部署qwen2.5 72b awq，四张4090，能跑吗")
    assert result.runtime == "vllm" and result.verdict == Verdict.FITS_GPU
    assert "估算" in result.answer and "KV 缓存" in result.answer and "GiB" in result.answer
    assert "--tensor-parallel-size 4" in result.command
    bf16 = answer_question("vllm部署qwen2.5 72b，四张4090，能跑吗")
    assert bf16.verdict == Verdict.DOES_NOT_FIT and "不会把权重卸载到内存" in bf16.answer


def test_a_gguf_quant_in_vllm_is_experimental():
    result = answer_question("llama 3.1 8b q4_k_m on a 4090 with vllm")
    assert "experimental" in result.answer and result.command.startswith("vllm serve")


def test_no_gpu_is_said_and_other_runtimes_get_their_own_sizing():
    assert "needs a CUDA" in answer_question("vllm with llama 3.1 8b on cpu only, 64gb ram").answer
    exl = answer_question("exllamav2 llama 3.1 8b on a 3090")
    assert "sizes llama.cpp" not in exl.answer and "vllm serve" not in (exl.command or "")


def test_max_context_is_the_largest_max_model_len():
    result = answer_question("what is the max context for llama 3.1 8b on a 4090 with vllm")
    f = size(LLAMA_8B, CAT.quant("BF16"), 1, 24.0, 4096)
    assert result.model.context == f.max_model_len and f"--max-model-len {f.max_model_len}" in result.command
    assert "--max-num-seqs 1 " in result.command and "context 4,096 tokens" not in result.answer
