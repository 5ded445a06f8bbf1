"""Each runtime's own sizing, worked by hand: ExLlama (EXL2/EXL3 at any bpw, FP16/Q8/Q6/Q4
cache), MLX (bits and group size), ktransformers (experts in RAM, MLA on the GPU),
transformers + bitsandbytes, TensorRT-LLM; their readings, answers, commands, speeds
(bandwidth ceiling, said uncalibrated), and the combinations that cannot run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import exllama, hf_transformers, ktransformers, mlx
from rules.catalog import default_catalog
from rules.engine import answer_question
from rules.param_split import split
from rules.parse import parse
from rules.schema import GIB, Verdict

CAT = default_catalog()


# --- reading -------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "fields"), [
    ("llama 3 70b exl2 4.65bpw on 2x 3090", {"runtime": "exllama", "quant": "EXL2", "bits_per_weight": 4.65}),
    ("llama 3 70b exl2 8bpw on 2x 3090 with q4 cache", {"bits_per_weight": 8.0, "cache_bits": 4}),
    ("tabbyapi qwen2.5 32b exl3 5.0bpw, cache_mode: Q6, on a 4090", {"quant": "EXL3", "cache_bits": 6}),
    ("qwen3 30b a3b mlx 4bit group size 32 on M3 Max 64GB", {"runtime": "mlx", "group_size": 32}),
    ("bitsandbytes nf4 llama 3 8b on a 3060", {"runtime": "transformers", "quant": "NF4"}),
    ("llama 3.1 8b load_in_8bit on a 3060", {"runtime": "transformers", "quant": "W8A8"}),
    ("llama 3.1 8b w8a8 on a 4090 with vllm", {"runtime": "vllm", "quant": "W8A8"}),
])
def test_formats_and_settings_are_read(question, fields):
    q = parse(question)
    for key, value in fields.items():
        assert getattr(q, key) == value, (key, q)


def test_a_bpw_outside_exllama_stays_unread():
    q = parse("can a 3090 run llama 3.1 8b 4.5bpw")
    assert q.bits_per_weight is None and any("4.5bpw" in u for u in q.unread)


@pytest.mark.parametrize(("question", "runtimes"), [
    ("llama.cpp or vLLM for 10 users on 2x 3090?", ["llama.cpp", "vllm"]),
    ("MLX or llama.cpp on my M3 Max?", ["mlx", "llama.cpp"]),
    ("qwen3 8b: ollama 还是 vllm，4090", ["ollama", "vllm"]),
])
def test_a_runtime_choice_is_one_option_per_runtime(question, runtimes):
    assert [o.runtime for o in parse(question).options] == runtimes


def test_ktransformers_is_not_also_transformers():
    assert parse("deepseek r1 with ktransformers on a 4090").options == []


# --- ExLlama -------------------------------------------------------------------------
def test_exl2_weights_at_the_bpw_given_head_at_6_bits_embedding_in_ram():
    m = CAT.model("Llama 3 70B")
    p = split(m)
    on_gpu, ram = exllama.weights_gib(m, 4.65)
    assert on_gpu == pytest.approx(((p.rest + p.experts) * 4.65 / 8 + p.head * 6 / 8) / GIB)
    assert ram == pytest.approx(p.embedding * 2 / GIB)
    assert exllama.weights_gib(m, 8.0)[0] > 1.7 * on_gpu


def test_the_q4_cache_is_what_turboderp_states():
    # "384 kB per token ... 108 kB with Q4 cache" (Phi-3 mini, turboderp-org/exllamav2#425)
    m = CAT.model("Phi-3 Mini")
    fp16 = exllama.cache_gib(m, 1024, 16) * GIB / 1024
    assert fp16 == 384 * 1024
    q4 = (exllama.cache_gib(m, 1024, 4) * GIB - 1024 * 3072 * 2 * 2) / 1024  # less the FP16 dequant layer
    assert q4 / 1024 == pytest.approx(108, abs=0.5)


@given(st.floats(min_value=2.0, max_value=8.0), st.integers(min_value=256, max_value=32768))
def test_exllama_memory_grows_with_bpw_and_context(bpw, context):
    m = CAT.model("Llama 3.1 8B")
    a = exllama.size(m, bpw, context, 1, 24.0)
    assert exllama.size(m, bpw + 0.5, context, 1, 24.0).total_gib > a.total_gib
    assert exllama.size(m, bpw, context + 256, 1, 24.0).total_gib > a.total_gib
    assert exllama.size(m, bpw, context, 1, 24.0, 4).cache_gib < a.cache_gib


def test_70b_exl2_on_two_3090s():
    ok = answer_question("llama 3 70b exl2 4.65bpw on 2x 3090")
    assert ok.runtime == "exllama" and ok.verdict == Verdict.FITS_GPU and ok.model.quant == "EXL2 4.65bpw"
    assert ok.answer.splitlines()[1].startswith("**ExLlama** sizing")
    assert ok.command.startswith("config.yml") and "cache_mode: FP16" in ok.command and "gpu_split_auto" in ok.command
    assert "llama-server" not in ok.answer and ".gguf" not in ok.answer
    big = answer_question("llama 3 70b exl2 8bpw on 2x 3090")
    assert big.verdict == Verdict.DOES_NOT_FIT and big.command is None
    assert "largest bpw that fits" in big.answer and "does not offload" in big.answer
    q4 = answer_question("llama 3 70b exl2 4.65bpw on 2x 3090 with q4 cache at 8k context")
    assert "cache_mode: Q4" in q4.command and q4.memory.kv_cache_gib < ok.memory.kv_cache_gib * 2


# --- MLX -----------------------------------------------------------------------------
@pytest.mark.parametrize(("bits", "group", "effective"), [(4, 64, 4.5), (4, 32, 5.0), (8, 64, 8.5), (6, 64, 6.5),
                                                          (16, 64, 16.0)])
def test_mlx_bits_with_scales_and_biases(bits, group, effective):
    assert mlx.effective_bits(bits, group) == effective


def test_qwen3_30b_a3b_mlx_4bit_on_an_m3_max():
    result = answer_question("qwen3 30b a3b mlx 4bit on M3 Max 64GB")
    m = CAT.model("Qwen3 30B-A3B")
    assert result.runtime == "mlx" and result.verdict == Verdict.FITS_GPU and result.model.quant == "MLX_4BIT"
    assert result.memory.weights_gib == pytest.approx(m.params_b * 1e9 * 4.5 / 8 / GIB, abs=0.01)
    assert "4.50 bits per weight" in result.answer
    assert result.command == "mlx_lm.server --model mlx-community/Qwen3-30B-A3B-4bit"
    # MLX on Apple is calibrated (rules/runtime_speed.py): its own range, from MLX's weights read per token
    assert "Speed with MLX:" in result.answer and "MLX 4-bit weights read per token" in result.answer
    low, high = result.speed.expected_range
    assert low <= result.speed.expected_tokens_per_s <= high <= result.speed.theoretical_max_tokens_per_s
    g32 = answer_question("qwen3 30b a3b mlx 4bit group size 32 on M3 Max 64GB")
    assert g32.memory.weights_gib > result.memory.weights_gib and "-4bit-g32" in g32.command


# --- ktransformers -------------------------------------------------------------------
def test_deepseek_r1_with_ktransformers():
    result = answer_question("deepseek r1 q4 with a 4090 + 512gb ram, ktransformers")
    assert result.runtime == "ktransformers" and result.verdict == Verdict.PARTIAL_OFFLOAD
    assert "--n-cpu-moe" not in result.answer and "llama-server" not in result.answer
    assert result.command.startswith("ktransformers --model_path") and "--gguf_path" in result.command
    assert "--cache_lens 4096" in result.command
    f = ktransformers.size(CAT.model("DeepSeek R1"), CAT.quant("Q4_K_M"), 4096, 24.0, 512.0)
    assert 330 < f.experts_ram_gib < 400 and f.gpu_total_gib < 16  # experts in RAM, MLA + dense on the GPU
    # MLA's latent: 61 layers x (512 + 64) x 2 bytes a token
    assert f.kv_gib == pytest.approx(61 * 576 * 2 * 4096 / GIB)
    short = answer_question("deepseek r1 q4 with a 4090 + 256gb ram, ktransformers")
    assert short.verdict == Verdict.DOES_NOT_FIT


# --- transformers + bitsandbytes ------------------------------------------------------
def test_nf4_llama_3_8b_on_a_3060():
    result = answer_question("bitsandbytes nf4 llama 3 8b on a 3060")
    p = split(CAT.model("Llama 3 8B"))
    weights = (p.rest * 4.5 / 8 + (p.embedding + p.head) * 2) / GIB
    assert result.runtime == "transformers" and result.verdict == Verdict.FITS_GPU
    assert result.memory.weights_gib == pytest.approx(weights, abs=0.01)
    assert "load_in_4bit=True" in result.command and "bnb_4bit_quant_type='nf4'" in result.command
    assert hf_transformers.weights_gib(CAT.model("Llama 3 8B"), CAT.quant("NF4"), double_quant=True) < weights


# --- TensorRT-LLM and SGLang ----------------------------------------------------------
def test_tensorrt_llm_pool_is_of_the_free_memory_and_its_command():
    result = answer_question("tensorrt-llm llama 3.1 8b fp8 on an h100")
    assert result.runtime == "tensorrt_llm" and result.verdict == Verdict.FITS_GPU
    cmd = result.command
    assert cmd.startswith("trtllm-serve ") and "--tp_size 1" in cmd and "--kv_cache_free_gpu_memory_fraction 0.9" in cmd
    assert "--max_seq_len" in cmd and "--max_batch_size" in cmd and "--quantization" not in cmd


# --- impossible combinations ----------------------------------------------------------
@pytest.mark.parametrize(("question", "says"), [
    ("llama 3.1 8b exl2 on cpu only, 64gb ram", "run only in ExLlama"),
    ("llama 3.1 8b exl2 4.0bpw with vllm on a 4090", "does not load EXL2"),
    ("mlx qwen3 8b on a 4090", "runs only on Apple silicon"),
    ("ktransformers deepseek r1 on an M3 Ultra 512GB", "needs a CUDA"),
])
def test_combinations_that_cannot_run(question, says):
    result = answer_question(question)
    assert says in result.answer, result.answer
    assert result.command is None or not result.command.startswith(("vllm", "config.yml", "mlx_lm"))


def test_tensor_parallel_over_heads_not_divisible():
    result = answer_question("vllm qwen2.5 32b awq on 3x 3090 tensor parallel")
    assert "not divisible by 3" in result.answer and "--pipeline-parallel-size 3" in result.command


# --- which runtime for me ---------------------------------------------------------------
def test_llama_cpp_or_vllm_for_ten_users_on_two_3090s():
    result = answer_question("llama.cpp or vLLM for 10 users on 2x 3090?")
    head = result.answer.split("**llama.cpp** in full")[0]
    assert "| llama.cpp |" in head and "| vLLM |" in head
    assert "`llama-server " in head and "`vllm serve " in head and "--quantization awq" in head
    assert len(result.recommendations) == 2


def test_mlx_or_llama_cpp_on_an_m3_max():
    result = answer_question("MLX or llama.cpp on my M3 Max?")
    head = result.answer.split("in full")[0]
    assert "| MLX |" in head and "| llama.cpp |" in head
    mlx_row = next(line for line in head.splitlines() if line.startswith("| MLX |"))
    assert "–" in mlx_row.split("|")[4]  # MLX's calibrated range, not a bare ceiling
    assert "`mlx_lm.server --model mlx-community/" in head and "`llama-server " in head


def test_in_chinese():
    result = answer_question("用 exllamav2 跑 llama 3 70b exl2 4.65bpw，两张3090")
    assert result.runtime == "exllama" and "估算" in result.answer and "缓存" in result.answer
    assert "sizing" not in result.answer and result.command.startswith("config.yml")


def test_ollama_answers_carry_its_own_command():
    result = answer_question("llama 3.1 8b with ollama on a 3060")
    assert result.runtime == "ollama" and result.command == "ollama run llama3.1:8b-instruct-q4_K_M"
