"""Model sizes and KV caches against what real files and llama.cpp show.

Weights: real GGUF file sizes (tests/data/gguf-sizes-more.csv, reference gguf-sizes.csv),
each row with its source. KV cache: the `llama_kv_cache` / `KV self size` lines llama.cpp
prints, from public threads (sources next to each row) and from this project's own runs.
"""

import csv
from pathlib import Path

import pytest
from conftest import reference_file

from rules.catalog import DATA_DIR, CatalogError, load_catalog
from rules.memory import (
    kv_cache_bytes,
    modelled_params,
    read_bytes_per_token,
    tensor_bytes,
    weights_bytes,
)
from rules.schema import GIB, Verdict

MIB = 2**20
UNITS = {"GB": 1e9, "GiB": GIB, "MiB": MIB}
# reference gguf-sizes.csv spells models by their file names
REFERENCE_NAMES = {"Llama-2-7B": "Llama 2 7B", "Llama-2-13B": "Llama 2 13B", "Llama-2-70B": "Llama 2 70B",
                   "Meta-Llama-3-8B": "Llama 3 8B", "Mistral-7B-v0.1": "Mistral 7B",
                   "Mixtral-8x7B-v0.1": "Mixtral 8x7B"}
# made by 2023 llama.cpp with since-changed mixes (see tests/test_catalogs.py OLDER_MIX)
OLDER_MIX = {("Llama 2 7B", "Q2_K"), ("Llama 2 13B", "Q2_K"), ("Llama 2 70B", "Q2_K"), ("Mixtral 8x7B", "Q4_K_M")}


def size_rows() -> list[dict]:
    rows = []
    with reference_file("gguf-sizes.csv").open() as f:
        for r in csv.DictReader(f):
            rows.append({"model": REFERENCE_NAMES[r["model"]], "quant": r["quant"], "size": r["file_gb"],
                         "unit": "GB", "source": r["source"]})
    with (Path(__file__).parent / "data" / "gguf-sizes-more.csv").open() as f:
        rows += list(csv.DictReader(f))
    return [r for r in rows if (r["model"], r["quant"]) not in OLDER_MIX]


ROWS = size_rows()


def test_enough_real_sizes_including_i_quants_and_gemma():
    assert len(ROWS) >= 40
    assert sum(r["quant"].startswith("IQ") for r in ROWS) >= 5
    assert sum(r["model"].startswith("Gemma") for r in ROWS) >= 10
    assert all(r["source"].strip() for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['model']}-{r['quant']}")
def test_weights_within_5_percent_of_the_real_file(catalog, row):
    estimate = weights_bytes(catalog.model(row["model"]), catalog.quant(row["quant"]), catalog)
    real = float(row["size"]) * UNITS[row["unit"]]
    assert estimate == pytest.approx(real, rel=0.05), (estimate / real - 1, row["source"])


def test_the_issue_s_figures(catalog):
    """Issue 8: IQ1_S 1.46 GiB and Q2_K 3.14 GiB for Llama 3.1 8B against 1.87 and 2.95 real;
    Gemma 2 2B and Gemma 3 4B 8-13% small."""
    llama = catalog.model("Llama 3.1 8B")
    assert weights_bytes(llama, catalog.quant("IQ1_S")) / GIB == pytest.approx(1.87, abs=0.03)
    assert weights_bytes(llama, catalog.quant("Q2_K")) / GIB == pytest.approx(2.95, abs=0.03)
    # the 256k vocabulary: Gemma 3 4B's tied embedding is 0.67B of 3.88B parameters, at Q6_K
    gemma = catalog.model("Gemma 3 4B")
    by_type = tensor_bytes(gemma, catalog.quant("Q4_K_M"), catalog)
    assert by_type["Q6_K"] > 0.5e9


def test_ggml_block_sizes_match_the_gguf_package(catalog):
    import gguf

    for t in catalog.ggml_types:
        block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[t.name]]
        assert (t.block, t.bits) == (block, size * 8 / block), t.name


def test_architecture_figures_account_for_every_parameter(catalog):
    """A typo in a config figure shows up as parameters the shapes do not explain."""
    for model in catalog.models:
        if model.vocab_size is None:
            continue
        assert modelled_params(model) / 1e9 == pytest.approx(model.params_b, rel=0.03), model.name


def test_required_families_are_in_the_catalog(catalog):
    names = {m.name for m in catalog.models}
    for required in ["Qwen2.5 0.5B", "Qwen2.5 72B", "Qwen2.5-Coder 7B", "Qwen3 0.6B", "Qwen3 32B", "Qwen3 30B-A3B",
                     "Qwen3 235B-A22B", "gpt-oss-20b", "gpt-oss-120b", "Llama 3.1 8B", "Llama 3.1 405B",
                     "Llama 3.2 1B", "Llama 3.3 70B", "Llama 4 Scout", "Llama 4 Maverick", "Gemma 2 2B",
                     "Gemma 3 270M", "Gemma 3 27B", "Mistral Small 3.2 24B", "Mistral Nemo 12B", "Phi-4",
                     "DeepSeek V3", "DeepSeek R1", "DeepSeek-R1-Distill-Qwen 7B", "GLM-4.5", "GLM-4.5-Air",
                     "Kimi K2"]:
        assert required in names, required
    assert all(m.source for m in catalog.models)


@pytest.mark.parametrize(("spelling", "name"), [
    ("qwen3 32b", "Qwen3 32B"), ("gpt-oss-120b", "gpt-oss-120b"), ("qwen2.5-coder-7b", "Qwen2.5-Coder 7B"),
    ("ds r1", "DeepSeek R1"), ("deepseek r1 7b", "DeepSeek-R1-Distill-Qwen 7B"), ("qwen3-30b-a3b", "Qwen3 30B-A3B"),
    ("llama 4 scout", "Llama 4 Scout"), ("glm-4.5-air", "GLM-4.5-Air"), ("kimi k2", "Kimi K2"),
    ("gemma-3-270m", "Gemma 3 270M"), ("mistral nemo", "Mistral Nemo 12B"),
])
def test_people_s_spellings_name_one_model(catalog, spelling, name):
    owners = [m.name for m in catalog.models if spelling in m.aliases]
    assert owners == [name]


def test_an_alias_naming_two_models_is_rejected(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    models = data / "models.toml"
    models.write_text(models.read_text().replace('"qwen3 32b"', '"qwen3 14b"', 1))
    with pytest.raises(CatalogError, match="qwen3 14b"):
        load_catalog(data)


# --- KV cache: llama.cpp's own figures -------------------------------------------------
KV_ROWS = [
    # model, context, cache type, MiB, source
    ("Qwen2.5 7B", 2048, "f16", 112.00,
     "JamePeng/llama-cpp-python PR #1 log: 28 layers, n_embd_k_gqa = 512, 'KV self size = 112.00 MiB, "
     "K (f16): 56.00 MiB, V (f16): 56.00 MiB' (a Qwen2.5-7B-shaped model at 2048 cells)"),
    ("DeepSeek R1", 32768, "q8_0", 1166.62,
     "ikawrakow/ik_llama.cpp PR #259 log, DeepSeek-R1 at n_ctx 32768: 'KV self size = 1166.62 MiB, "
     "c^KV (q8_0): 1166.62 MiB' - the MLA latent (kv_lora_rank 512 + rope 64 per layer), the same "
     "cache llama.cpp's MLA path allocates (llama-kv-cache.cpp: K only, no V, when is_mla())"),
    ("Gemma 3 270M", 4096, "f16", 27.00,
     "llama.cpp via llama-cpp-python 0.3.36 on gemma-3-270m-q4_k_m.gguf, n_ctx 4096, swa_full off "
     "(llama-server's default): non-SWA 'size = 12.00 MiB (4096 cells, 3 layers)' + SWA 'size = "
     "15.00 MiB (1024 cells, 15 layers)', measured in this project"),
]


@pytest.mark.parametrize("row", KV_ROWS, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_kv_cache_matches_what_llama_cpp_printed(catalog, row):
    name, context, kv_type, mib, _source = row
    assert kv_cache_bytes(catalog.model(name), context, kv_type) / MIB == pytest.approx(mib, abs=0.01)


def test_sliding_window_layers_hold_only_their_window(catalog):
    gemma = catalog.model("Gemma 3 27B")
    full = gemma.model_copy(update={"sliding_window": None, "swa_pattern": None})
    # 52 of 62 layers keep 1024 + 512 cells, so at 32k the cache is a fraction of a full one
    assert kv_cache_bytes(gemma, 32768) < 0.25 * kv_cache_bytes(full, 32768)
    oss = catalog.model("gpt-oss-120b")
    # half the layers keep 128 + 512 cells (padded to 768): about half the cache at 128k
    assert kv_cache_bytes(oss, 131072) / GIB == pytest.approx(18 * 131072 * 2048 / GIB + 18 * 768 * 2048 / GIB)


def test_qwen3_32b_cache_is_about_10_gib_at_its_native_context(catalog):
    """Issue 8: sized as LLaMA 30B it came out at 60.9 GiB."""
    assert kv_cache_bytes(catalog.model("Qwen3 32B"), 40960) / GIB == pytest.approx(10.0, abs=0.01)


def test_moe_reads_only_the_active_experts(catalog):
    q4 = catalog.quant("Q4_K_M")
    qwen = catalog.model("Qwen3 30B-A3B")
    assert read_bytes_per_token(qwen, q4) < 0.15 * weights_bytes(qwen, q4)
    oss = catalog.model("gpt-oss-120b")
    mx = catalog.quant("MXFP4")
    # 5.1B of 116.8B parameters active; the dense part is Q8_0, so a bit more by bytes
    assert 0.04 < read_bytes_per_token(oss, mx) / weights_bytes(oss, mx) < 0.09
    dense = catalog.model("Qwen3 32B")
    assert read_bytes_per_token(dense, q4) == weights_bytes(dense, q4)


def test_gpt_oss_keeps_its_mxfp4_experts_whatever_the_mix(catalog):
    oss = catalog.model("gpt-oss-20b")
    assert oss.default_quant == "MXFP4"
    # ggml-org/gpt-oss-20b-GGUF gpt-oss-20b-MXFP4.gguf is "~12GB" (NVIDIA/dgx-spark-playbooks PR #99)
    assert weights_bytes(oss, catalog.quant("MXFP4")) / 1e9 == pytest.approx(12.0, rel=0.05)
    # "every gpt-oss-20b GGUF on Hugging Face keeps the 72 expert tensors in [MXFP4] regardless of
    # the quant label" (NousResearch/hermes-agent issue #116681, read from the files' headers)
    assert "MXFP4" in tensor_bytes(oss, catalog.quant("Q4_K_M"), catalog)


def test_moe_speed_with_experts_in_ram_is_what_users_report(catalog):
    """Issue 8: gpt-oss-120b on a 3090 with 64 GB of DDR5 came out at 1.3 tokens/s as a dense
    model, against the roughly 20-30 users report with the experts in system RAM."""
    from rules.engine import answer_query
    from rules.schema import Query

    result = answer_query(Query(gpu_names=["RTX 3090"], gpu_counts=[1], ram_gib=64, ram_kind="DDR5-5600",
                                model_name="gpt-oss-120b"), catalog)
    assert result.verdict == Verdict.PARTIAL_OFFLOAD and result.model.quant == "MXFP4"
    assert 15 <= result.speed.expected_tokens_per_s <= 35
