"""The runtime a question names is read, echoed first and carried in the JSON `Answer`;
each runtime is sized as it allocates (tests/test_runtime_sizing.py has the figures);
combinations that cannot run are said with what would; no llama.cpp command for a file
that does not exist."""

from __future__ import annotations

import json

import pytest

from rules.engine import answer_question
from rules.parse import parse


@pytest.mark.parametrize(("question", "runtime"), [
    ("qwen2.5 32b AWQ on a 4090 with vLLM", "vllm"),
    ("vllm部署qwen2.5 72b，四张4090，能跑吗", "vllm"),
    ("用ollama跑qwen3 14b，3060 12g够吗", "ollama"),
    ("llama 3.1 8b in LM Studio on a 4060", "lm_studio"),
    ("exllamav2 llama 3.1 70b 4.0bpw on 2x 3090", "exllama"),
    ("mlx-lm qwen3 30b a3b on an M3 Max 64GB", "mlx"),
    ("deepseek r1 with ktransformers on a 4090 and 512gb ram", "ktransformers"),
    ("sglang qwen3 32b on an h100", "sglang"),
    ("can a 3090 run llama 3.1 8b?", None),
])
def test_the_runtime_is_read(question, runtime):
    assert parse(question).runtime == runtime


def test_a_named_runtime_is_echoed_first_and_in_the_json():
    result = answer_question("exllamav2 qwen2.5 32b gptq on a 4090")
    first, second = result.answer.splitlines()[:2]
    assert "ExLlama" in first and second.startswith("**ExLlama** sizing") and "sizes llama.cpp" not in result.answer
    assert result.runtime == "exllama" and result.model.quant == "GPTQ 4.15bpw"
    assert result.command.startswith("config.yml") and "llama-server" not in result.answer  # no GGUF that does not exist


def test_vllm_is_sized_as_vllm_allocates():  # tests/test_vllm.py has the figures
    result = answer_question("qwen2.5 32b AWQ on a 4090 with vLLM")
    first, second = result.answer.splitlines()[:2]
    assert "vLLM" in first and "vLLM" in second and "sizes llama.cpp" not in result.answer
    assert result.runtime == "vllm"
    assert result.command.startswith("vllm serve") and "llama-server" not in result.answer


def test_the_default_runtime_is_llama_cpp_and_said_nowhere_extra():
    result = answer_question("can a 3090 run llama 3.1 8b q4_k_m at 8k context?")
    assert result.runtime == "llama.cpp" and result.command.startswith("llama-server")
    assert "You named" not in result.answer


def test_runtimes_on_llama_cpp_keep_its_figures_and_command():
    result = answer_question("llama 3.1 8b with ollama on a 3060")
    assert result.runtime == "ollama" and "llama.cpp underneath" in result.answer
    assert "ollama run" in result.answer


@pytest.mark.parametrize(("question", "says"), [
    ("MLX on a 3090 with llama 3.1 8b", "runs only on Apple silicon"),
    ("vllm with llama 3.1 8b on cpu only, 64gb ram", "needs a CUDA"),
    ("exllamav2 llama 3.1 8b on an M2 Max 64GB", "needs a CUDA"),
    ("TensorRT-LLM on a 7900 XTX with llama 3.1 8b", "only on NVIDIA"),
    ("run qwen3 14b awq in llama.cpp on a 4090", "loads GGUF files, not GPTQ_4BIT"),
])
def test_a_combination_that_cannot_run_is_said_with_what_would(question, says):
    result = answer_question(question)
    assert says in result.answer, result.answer
    assert result.command is None


def test_the_same_in_chinese():
    result = answer_question("MLX 跑 llama 3.1 8b，显卡是 3090")
    assert "只能在苹果芯片上运行" in result.answer and result.runtime == "mlx"


def test_the_answer_json_carries_the_runtime():
    from bot.answer import Answer

    result = answer_question("sglang qwen3 32b on an h100")
    answer = Answer(question="q", route="rules", **result.model_dump())
    assert json.loads(answer.to_json())["runtime"] == "sglang"
