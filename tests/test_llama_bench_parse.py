"""Reading llama-bench output as users paste it: markdown (old and new builds), CSV, JSON
and JSON lines (samples in tests/data/bench/, sources in its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.parse.bench import cut_llama_bench, read_llama_bench
from rules.parse.ftype import quant_from_ftype, split_model_type

BENCH = Path(__file__).parent / "data" / "bench"


def rows_of(name: str):
    return read_llama_bench((BENCH / name).read_text(encoding="utf-8"))


def test_old_markdown_ngl_sweep():
    rows = rows_of("cuda-ngl-sweep-old.md")
    assert len(rows) == 16
    first, last = rows[0], rows[-1]
    assert first.format == "markdown"
    assert first.model_type == "llama 7B mostly Q4_0" and first.model_words == "llama 7B" and first.quant == "Q4_0"
    assert first.size_gib == pytest.approx(3.56) and first.params_b == pytest.approx(6.74)
    assert first.backend == "CUDA" and first.gpu_layers == 10
    assert first.is_prefill and first.n_prompt == 512 and first.test == "pp512"
    assert first.tokens_per_s == pytest.approx(373.36) and first.stddev == pytest.approx(2.25)
    assert last.is_decode and last.n_gen == 128 and last.gpu_layers == 35 and last.tokens_per_s == pytest.approx(131.66)
    assert not last.on_cpu
    decode = [r.tokens_per_s for r in rows if r.is_decode]
    assert decode == sorted(decode)  # more layers on the GPU, faster: the table as printed


def test_cpu_backend_markdown_has_threads_and_no_ngl():
    rows = rows_of("cpu-threads-old.md")
    assert len(rows) == 12
    assert {r.threads for r in rows} == {1, 2, 4, 8, 16, 32}
    assert all(r.gpu_layers is None and r.on_cpu for r in rows)
    tg16 = [r for r in rows if r.is_decode]
    assert [r.n_gen for r in tg16] == [16] * 6 and tg16[0].tokens_per_s == pytest.approx(4.05)


def test_new_markdown_depth_tests():
    rows = rows_of("cuda-depth.md")
    assert [r.test for r in rows] == ["pp512", "tg128", "pp512 @ d512", "tg128 @ d512"]
    assert rows[3].n_depth == 512 and rows[3].n_gen == 128 and rows[3].tokens_per_s == pytest.approx(116.71)
    assert rows[0].quant == "Q4_K_M" and rows[0].model_words == "qwen2 7B"
    assert rows[0].gpu_layers == -1  # "all layers" in new builds' default


def test_metal_table_in_surrounding_text_and_combined_test():
    text = (BENCH / "m1-ultra-metal.md").read_text(encoding="utf-8")
    rest, rows = cut_llama_bench(text)
    assert len(rows) == 4
    assert rows[0].backend == "Metal,BLAS" and not rows[0].on_cpu and rows[0].threads == 16
    assert rows[0].size_gib == pytest.approx(636.18 / 1024)
    assert rows[2].is_decode and rows[2].tokens_per_s == pytest.approx(242.56)
    combined = rows[3]
    assert combined.n_prompt == 4096 and combined.n_gen == 128 and not combined.is_decode and not combined.is_prefill
    # the words around the table stay for the rest of the parser; the table does not
    assert "tinyllama-1.1b" in rest and "macOS 14.8.3" in rest
    assert "t/s" not in rest and "Metal,BLAS" not in rest


def test_old_k_quant_without_size_is_not_guessed():
    """A 2023 build printed "Q4_K" for both Q4_K_S and Q4_K_M: the quant stays unknown."""
    rows = rows_of("metal-old-kquants.md")
    assert len(rows) == 6
    by_type = {r.model_type: r.quant for r in rows}
    assert by_type["llama2 7B Q4_K"] is None
    assert by_type["llama2 7B F16"] == "F16" and by_type["llama2 7B Q8_0"] == "Q8_0"
    assert all(r.gpu_layers is None and r.backend == "Metal" and not r.on_cpu for r in rows)


@pytest.mark.parametrize("name, fmt", [("rtx4080.csv", "csv"), ("rtx4080.json", "json"), ("rtx4080.jsonl", "jsonl")])
def test_machine_formats(name, fmt):
    rows = rows_of(name)
    assert len(rows) == 2 and {r.format for r in rows} == {fmt}
    pp, tg = rows
    assert pp.is_prefill and pp.n_prompt == 512 and tg.is_decode and tg.n_gen == 128
    assert tg.gpu_info == "NVIDIA GeForce RTX 4080" and tg.cpu_info == "AMD Ryzen 7 7800X3D 8-Core Processor"
    assert tg.backend == "CUDA" and tg.gpu_layers == 99 and tg.threads == 8
    assert tg.quant == "Q4_K_M" and tg.model_words == "qwen2 7B"
    assert tg.model_filename == "models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
    assert tg.size_gib == pytest.approx(4677120000 / 2**30) and tg.params_b == pytest.approx(7.615616512)
    assert tg.flash_attn is False and tg.no_kv_offload is False and tg.type_k == "f16"
    assert tg.build == "8cf427ff"
    assert 110 < tg.tokens_per_s < 125 and pp.tokens_per_s > 7000


def test_question_around_a_csv_table_is_kept():
    csv_text = (BENCH / "rtx4080.csv").read_text(encoding="utf-8")
    rest, rows = cut_llama_bench(f"is this speed normal?\n{csv_text}\nthanks")
    assert len(rows) == 2
    assert "is this speed normal?" in rest and "thanks" in rest and "build_commit" not in rest


def test_new_json_fields_flash_attn_auto_is_unknown():
    record = ('[{"build_commit": "bebc9350e", "build_number": 10700, "gpu_info": "Intel(R) Arc(TM) Pro B70 Graphics", '
              '"backends": "SYCL", "model_type": "qwen35moe 35B.A3B Q4_K - Medium", "model_size": 21155768832, '
              '"model_n_params": 34660610688, "n_threads": 12, "n_gpu_layers": -1, "n_cpu_moe": 0, '
              '"flash_attn": -1, "no_kv_offload": false, "n_prompt": 0, "n_gen": 128, "n_depth": 0, '
              '"avg_ts": 61.5, "stddev_ts": 0.4, "samples_ts": [61.1, 61.9]}]')
    (row,) = read_llama_bench(record)
    assert row.flash_attn is None and row.n_cpu_moe == 0 and row.model_words == "qwen35moe 35B.A3B"
    assert row.quant == "Q4_K_M" and row.backend == "SYCL" and row.is_decode


@pytest.mark.parametrize("text", [
    "", "can a 3060 run 13b?", "| model | t/s |\n| --- | --- |\n| x | fast |",
    "[1, 2, 3] t/s", '{"avg_ts": 3}', "build_commit,avg_ts\n", "| model | test | t/s |\n| a | tg128 | -5 |",
])
def test_not_llama_bench_gives_no_rows(text):
    rest, rows = cut_llama_bench(text)
    assert rows == [] and rest == text


@pytest.mark.parametrize("ftype, quant", [
    ("Q4_K - Medium", "Q4_K_M"), ("mostly Q4_0", "Q4_0"), ("(guessed) Q8_0", "Q8_0"), ("all F32", "F32"),
    ("IQ4_XS - 4.25 bpw", "IQ4_XS"), ("IQ3_S mix - 3.66 bpw", "IQ3_M"), ("MXFP4 MoE", "MXFP4"),
    ("Q4_K", None), ("banana", None),
])
def test_file_type_names(ftype, quant):
    assert quant_from_ftype(ftype) == quant


def test_model_type_split():
    assert split_model_type("qwen3moe 30B.A3B Q4_K - Medium") == ("qwen3moe 30B.A3B", "Q4_K - Medium", "Q4_K_M")
    assert split_model_type("gpt-oss 20B MXFP4 MoE") == ("gpt-oss 20B", "MXFP4 MoE", "MXFP4")
    assert split_model_type("llama 7B mostly Q4_0")[2] == "Q4_0"
    assert split_model_type("mystery model") == ("mystery model", None, None)


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_this_hosts_own_llama_bench_run_in_every_format(fmt):
    """One llama-bench run (build 0c1e570, the llama.cpp of llama-cpp-python 0.3.36) on
    RigBot's 2-vCPU EPYC host, SmolLM2-135M Q4_1, written as md, csv and json: the three
    readings agree on what was run."""
    rows = rows_of(f"epyc-2vcpu.{fmt}")
    assert [r.test for r in rows] == ["pp64", "tg32"]
    pp, tg = rows
    assert tg.backend == "CPU" and tg.on_cpu and tg.threads == 1 and tg.quant == "Q4_1"
    # llama.cpp labels this 135M-parameter model "256M" (its size bucket): the parameter
    # count, not the label, says how big it is
    assert tg.model_words == "llama 256M" and tg.params_b == pytest.approx(0.1345, abs=1e-4)
    assert tg.size_gib == pytest.approx(92.10 / 1024, rel=1e-3)
    assert 20 < tg.tokens_per_s < 200 and pp.tokens_per_s > 20
    assert tg.build == "0c1e570"
