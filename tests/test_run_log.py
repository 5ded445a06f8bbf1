"""Run logs read by rules/parse/run_log.py: every sample under tests/data/logs is a real
log (its first line names the source); the values asserted were read from each sample by
hand. CUDA, Metal and CPU runs in the old and new llama.cpp wording, Ollama server logs
and `ollama run --verbose` timings, and an LM Studio developer log."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_log_samples import LOGS, sample

from rules.parse import parse
from rules.parse.run_log import cut_run_log, read_run_log, strip_prefix
from rules.schema import Intent


def test_every_sample_names_its_source():
    names = sorted(p.name for p in LOGS.glob("*.txt"))
    assert len(names) >= 10
    for name in names:
        sample(name)


def test_cuda_new_wording_v100():
    log = read_run_log(sample("cuda_llama_cli_v100_pythia.txt"))
    assert log.tool == "llama.cpp" and log.backends == ["CUDA"]
    assert [(d.backend, d.name, d.free_mib) for d in log.devices] == [("CUDA", "Tesla V100-PCIE-16GB", 15841.0)]
    assert (log.gpu_layers, log.total_layers, log.requested_gpu_layers) == (33, 33, 99)
    assert log.model_buffers_mib == {"CUDA0": 5049.71, "CPU_Mapped": 245.62}
    assert log.kv_buffers_mib == {"CUDA0": 640.0} and (log.kv_type_k, log.kv_type_v, log.kv_offload) == ("f16", "f16", True)
    assert log.compute_buffers_mib == {"CUDA0": 162.0, "CUDA_Host": 9.01}
    assert (log.n_ctx, log.n_seq_max, log.n_ctx_per_seq, log.flash_attn) == (2048, 1, 2048, "off")
    assert (log.model_name, log.model_params_b, log.model_size_gib, log.n_layer) == ("2.8B", 2.78, 5.17, 32)
    assert log.ftype is None  # "all F32 (guessed)" is llama.cpp's guess, not a file type to size from
    assert (log.prompt_tokens_per_s, log.eval_tokens_per_s, log.eval_tokens) == (491.09, 100.01, 255)
    assert log.evidence["offloaded"] == "load_tensors: offloaded 33/33 layers to GPU"  # without the timestamp


def test_cuda_partial_offload_llama_cpp_python():
    log = read_run_log(sample("cuda_partial_offload_4060_laptop_mistral7b.txt"))
    assert [(d.name, d.free_mib) for d in log.devices] == [("NVIDIA GeForce RTX 4060 Laptop GPU", 7622.0)]
    assert (log.gpu_layers, log.total_layers, log.requested_gpu_layers) == (20, 33, 20)
    assert log.kv_buffers_mib == {"CUDA0": 60.0, "CPU": 36.0}
    assert log.compute_buffers_mib == {"CUDA0": 137.79, "CUDA_Host": 4.76}
    assert (log.n_ctx, log.n_ctx_per_seq, log.kv_unified, log.flash_attn) == (768, 768, False, "on")
    assert (log.model_name, log.ftype, log.model_size_gib) == ("mistralai_mistral-7b-instruct-v0.1", "Q4_K_M", 4.07)
    # the run of 127 tokens, not a shorter one
    assert (log.eval_tokens_per_s, log.eval_tokens, log.prompt_tokens_per_s) == (18.53, 127, 65.87)


def test_metal_m4():
    log = read_run_log(sample("metal_llama_cli_m4_pythia.txt"))
    assert log.backends == ["Metal"]
    assert [(d.backend, d.name, d.free_mib) for d in log.devices] == [("Metal", "Apple M4", 10922.0)]
    assert (log.gpu_layers, log.total_layers) == (25, 25)
    assert log.model_buffers_mib == {"Metal_Mapped": 786.33, "CPU_Mapped": 55.27}
    assert log.kv_buffers_mib == {"Metal": 384.0}
    assert (log.ftype, log.eval_tokens_per_s, log.prompt_tokens_per_s) == ("Q4_0", 94.22, 141.79)


def test_cpu_llama_server_captured_here():
    """The real llama-server of this project's venv, run once on this machine (-c 2048 -t 1)."""
    log = read_run_log(sample("cpu_llama_server_smollm2.txt"))
    assert log.backends == [] and log.devices == [] and log.gpu_layers is None
    assert log.model_buffers_mib == {"CPU_Mapped": 92.1} and log.kv_buffers_mib == {"CPU": 45.0}
    # llama-server's automatic -np: 4 slots on one unified KV cache, each slot the whole 2048
    assert (log.n_ctx, log.n_seq_max, log.n_ctx_per_seq, log.kv_unified) == (2048, 4, 2048, True)
    assert (log.ftype, log.flash_attn, log.n_layer) == ("Q4_1", "auto", 30)
    assert (log.eval_tokens_per_s, log.eval_tokens, log.prompt_tokens_per_s) == (95.64, 32, 93.15)
    assert "print_timing" in log.evidence["eval_tokens_per_s"]


def test_old_wording_all_on_cpu():
    log = read_run_log(sample("cpu_fallback_old_5137.txt"))
    assert (log.gpu_layers, log.total_layers) == (0, 33)
    assert log.model_buffers_mib == {"CPU": 11712.97} and log.kv_buffers_mib == {"CPU": 64.0}
    assert (log.ftype, log.model_params_b, log.n_ctx) == ("IQ2_XSS", 46.7, 512)


def test_ollama_journal_log_with_slots():
    log = read_run_log(sample("ollama_parallel_slots_9415.txt"))
    assert log.tool == "ollama" and log.backends == ["CUDA"]
    assert (log.gpu_layers, log.total_layers) == (43, 43)
    assert log.model_buffers_mib == {"CPU_Mapped": 717.77, "CUDA0": 5185.21}
    assert (log.n_ctx, log.n_seq_max, log.n_ctx_per_seq, log.flash_attn) == (8192, 4, 2048, "on")


def test_ollama_offload_line_and_runner_command():
    log = read_run_log(sample("ollama_offload_line_8098.txt"))
    assert log.tool == "ollama" and log.backends == ["CUDA"]
    assert (log.requested_gpu_layers, log.gpu_layers, log.total_layers) == (29, 29, 29)  # --n-gpu-layers 29
    assert (log.ollama_memory_available_gib, log.ollama_memory_required_gib) == ([78.6], 3.7)
    assert (log.n_ctx, log.n_seq_max) == (8192, 4)  # --ctx-size 8192 --parallel 4


def test_ollama_docker_log_kv_split():
    log = read_run_log(sample("ollama_partial_kv_split_8447.txt"))
    assert (log.gpu_layers, log.total_layers) == (1, 62)
    assert log.kv_buffers_mib == {"CPU": 9600.0, "CUDA0": 160.0}


def test_ollama_old_log_device_and_partial():
    log = read_run_log(sample("ollama_partial_offload_3301.txt"))
    assert [d.name for d in log.devices] == ["NVIDIA GeForce RTX 4070 Ti SUPER"]
    assert (log.gpu_layers, log.total_layers) == (30, 81)
    assert log.model_buffers_mib == {"CPU": 38110.61, "CUDA0": 13771.88}


def test_ollama_verbose_timings():
    log = read_run_log(sample("ollama_verbose_12237.txt"))
    assert log.tool == "ollama"
    assert (log.eval_tokens_per_s, log.prompt_tokens_per_s, log.eval_tokens) == (10.63, 512.13, 9)


def test_llama_server_command_and_timings():
    log = read_run_log(sample("llama_server_timing_12237.txt"))
    assert log.tool == "llama.cpp"  # "/ollama/" in a model path does not make it an Ollama log
    assert (log.requested_gpu_layers, log.n_ctx, log.kv_type_k, log.kv_type_v, log.flash_attn) == \
        (30, 2048, "q4_0", "q4_0", "on")
    assert (log.eval_tokens_per_s, log.eval_tokens, log.prompt_tokens_per_s) == (17.66, 19, 111.17)


def test_lm_studio_log():
    log = read_run_log(sample("lmstudio_vulkan_qwen3vl.txt"))
    assert log.tool == "lm studio" and log.backends == ["Vulkan"]
    assert [(d.name, d.total_mib, d.free_mib) for d in log.devices] == [
        ("RX 7900 XT (RADV NAVI31)", 20224.0, 3982.0), ("RX 6800 (RADV NAVI21)", 16128.0, 13503.0)]
    assert (log.n_ctx, log.eval_tokens_per_s, log.eval_tokens) == (16384, 1.65, 100)
    assert log.prompt_tokens_per_s is None  # "0.00 ms / 1 tokens ... inf": not a measurement


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("*.txt")))
def test_the_question_around_a_log_is_what_remains(name):
    text = "is this speed normal?\n" + sample(name) + "\n为什么这么慢？"
    rest, log = cut_run_log(text)
    assert log is not None
    assert [line for line in rest.splitlines() if line.strip()] == ["is this speed normal?", "为什么这么慢？"]


def test_prefixes_are_cut():
    assert strip_prefix("0.01.456.734 I llama_init_from_model: n_ctx         = 2048") == \
        "llama_init_from_model: n_ctx         = 2048"
    assert strip_prefix("Feb 28 12:44:32 ai-server ollama[854770]: load_tensors: offloaded 43/43 layers to GPU") == \
        "load_tensors: offloaded 43/43 layers to GPU"
    assert strip_prefix("ollama  | llm_load_tensors: offloaded 1/62 layers to GPU") == \
        "llm_load_tensors: offloaded 1/62 layers to GPU"
    assert strip_prefix("0.08.442.848 I slot print_timing: id  3 | task 0 |") == "print_timing: id  3 | task 0 |"


def test_a_plain_question_has_no_run_log(catalog):
    assert read_run_log("can an RTX 3060 12GB run llama 3.1 8b?") is None
    assert parse("can an RTX 3060 12GB run llama 3.1 8b?", catalog).run_log is None


def test_parse_carries_the_log_and_asks_for_a_diagnosis(catalog):
    query = parse(sample("cuda_partial_offload_4060_laptop_mistral7b.txt") + "\nwhy is it slow?", catalog)
    assert query.error is None and query.intent == Intent.DIAGNOSE
    assert (query.model_name, query.quant, query.context) == ("Mistral 7B", "Q4_K_M", 768)
    assert query.gpu_names == []  # a laptop card is not sized as the desktop RTX 4060
    assert any("laptop card" in a for a in query.assumptions)
    assert query.run_log.gpu_layers == 20


def test_a_log_with_only_model_facts_and_a_sizing_question_stays_a_sizing_question(catalog):
    """tests/data/pasted logs name the GPUs and the model but show no run: "can this run
    llama 3.1 70b?" is still a can-run question (test_parser covers the fields)."""
    text = (Path(__file__).parent / "data" / "pasted" / "llama-cpp-cuda-log.txt").read_text("utf-8")
    query = parse(text + "\ncan this run llama 3.1 70b q4_k_m?", catalog)
    assert query.intent == Intent.CAN_RUN and query.run_log is not None and not query.run_log.has_run_facts
    assert parse(text + "\nwhy only 14 tokens/s?", catalog).intent == Intent.DIAGNOSE


def test_ollama_api_json_timings():
    """Ollama's /api/generate JSON: counts with durations in nanoseconds, and the model tag."""
    log = read_run_log(sample("ollama_api_timings_5843.txt"))
    assert log.tool == "ollama" and log.model_name == "gemma2:9b-instruct-q4_0" and log.ftype == "Q4_0"
    assert log.eval_tokens == 192 and log.eval_tokens_per_s == pytest.approx(192 / 3.209729, abs=0.01)
    assert log.prompt_tokens_per_s == pytest.approx(18 / 0.025726, abs=0.01)


def test_cpu_only_build_warning():
    log = read_run_log(sample("cpu_build_no_gpu_ci_pythia.txt"))
    assert log.cpu_only_build and log.backends == [] and log.requested_gpu_layers == 99
    assert log.evidence["no_gpu"] == "warning: no usable GPU found, --gpu-layers option will be ignored"
    assert log.model_buffers_mib == {"CPU_AARCH64": 648.0, "CPU_Mapped": 777.31}
    assert (log.eval_tokens_per_s, log.eval_tokens) == (39.61, 63)


def test_ollama_tag_names_the_catalog_model(catalog):
    query = parse("is this speed normal?\n" + sample("ollama_api_timings_5843.txt"), catalog)
    assert (query.model_name, query.quant, query.intent) == ("Gemma 2 9B", "Q4_0", Intent.DIAGNOSE)


# properties -------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LOG_LINES = [line for name in sorted(LOGS.glob("*.txt")) for line in sample(name.name).splitlines()[:40]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LOG_LINES), st.text(st.characters(blacklist_characters="\n"), max_size=80)), max_size=30))
def test_any_mix_of_log_lines_and_text_is_read_without_error(lines):
    text = "\n".join(lines)
    log = read_run_log(text)
    rest, cut = cut_run_log(text)
    assert (log is None) == (cut is None)
    kept = rest.split("\n") if rest else []
    assert all(line in lines for line in kept)  # the rest is the question's own lines, in order
    if log is not None:
        assert 0 <= (log.gpu_layers or 0) <= (log.total_layers or 10**6)
        assert all(v >= 0 for v in [*log.model_buffers_mib.values(), *log.kv_buffers_mib.values()])


def test_llama_server_slots_without_a_unified_cache():
    log = read_run_log(sample("cpu_llama_server_np4_split.txt"))
    assert (log.n_ctx, log.n_seq_max, log.n_ctx_per_seq, log.kv_unified) == (2048, 4, 512, False)
    assert (log.eval_tokens_per_s, log.eval_tokens) == (76.82, 32)


def test_a_log_with_another_question_keeps_that_question(catalog):
    text = sample("cuda_llama_cli_v100_pythia.txt")
    assert parse(text + "\nwhat is the longest context that fits?", catalog).intent == Intent.MAX_CONTEXT
    assert parse(text, catalog).intent == Intent.DIAGNOSE  # the log alone: what it shows
    assert parse(text + "\nwhat command should I run?", catalog).intent == Intent.DIAGNOSE
