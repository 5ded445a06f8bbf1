"""Property tests for the math and the parser."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.catalog import default_catalog
from rules.memory import VERDICT_RANK, fit, kv_cache_bytes, weights_bytes
from rules.parser import parse
from rules.rig import Rig

CATALOG = default_catalog()
MODELS = st.sampled_from(CATALOG.models)
QUANTS = st.sampled_from(CATALOG.quants)
GPUS = st.sampled_from([g for g in CATALOG.gpus if not g.unified_memory])


def _rig(gpu, vram, count=1, ram=32.0):
    card = gpu.model_copy(update={"vram_gib": vram})
    return Rig(gpus=[(card, count)], ram_gib=ram, ram_bandwidth_gbs=51.2)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(MODELS, QUANTS, GPUS, st.floats(1, 200), st.floats(0.5, 200), st.integers(512, 131072),
       st.floats(4, 512))
def test_more_vram_never_turns_a_yes_into_a_no(model, quant, gpu, vram, extra, context, ram):
    small = fit(model, quant, context, _rig(gpu, vram, ram=ram))
    large = fit(model, quant, context, _rig(gpu, vram + extra, ram=ram))
    assert VERDICT_RANK[large.verdict] >= VERDICT_RANK[small.verdict]


@settings(max_examples=200)
@given(MODELS, GPUS, st.floats(4, 100), st.floats(1, 200), st.floats(4, 512))
def test_more_ram_never_turns_a_yes_into_a_no(model, gpu, vram, extra, ram):
    quant = CATALOG.quant("Q4_K_M")
    small = fit(model, quant, 4096, _rig(gpu, vram, ram=ram))
    large = fit(model, quant, 4096, _rig(gpu, vram, ram=ram + extra))
    assert VERDICT_RANK[large.verdict] >= VERDICT_RANK[small.verdict]


# Mixes in order of size, as llama-quantize builds them (rules/data/quants.toml).
LADDERS = [
    ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "F16", "F32"],
    ["IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_XS",
     "IQ4_NL", "Q8_0"],
    ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"],
]
# Where rows do not divide a 256-weight block, llama-quantize falls back to other types
# (Q2_K -> Q4_0, IQ* -> IQ4_NL ...) and the ladder genuinely bends (Qwen2.5 0.5B Q2_K is
# larger than its Q3_K_S); gpt-oss keeps MXFP4 experts whatever the mix.
BLOCK_ALIGNED = [m for m in CATALOG.models if not m.expert_type and m.hidden_size % 256 == 0
                 and all(x % 256 == 0 for x in (m.intermediate_size, m.moe_intermediate_size) if x)]


@given(st.sampled_from(BLOCK_ALIGNED), st.sampled_from(LADDERS), st.data())
def test_more_bits_never_shrink_a_model(model, ladder, data):
    i = data.draw(st.integers(0, len(ladder) - 2))
    smaller, larger = CATALOG.quant(ladder[i]), CATALOG.quant(ladder[i + 1])
    assert weights_bytes(model, smaller) <= weights_bytes(model, larger)


@given(MODELS, st.integers(1, 10**6), st.integers(0, 10**6), st.sampled_from(["f16", "q8_0", "q4_0"]))
def test_longer_context_never_shrinks_the_kv_cache(model, context, extra, kv_type):
    assert kv_cache_bytes(model, context + extra, kv_type) >= kv_cache_bytes(model, context, kv_type)


def test_kv_cache_quantization_only_shrinks():
    model = CATALOG.models[0]
    assert kv_cache_bytes(model, 4096, "q4_0") < kv_cache_bytes(model, 4096, "q8_0") < kv_cache_bytes(model, 4096, "f16")


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_parser_never_raises_on_arbitrary_text(text):
    query = parse(text)
    assert query.error != "parse_failed", query.error_message


@settings(max_examples=200)
@given(st.lists(st.sampled_from(
    ["can", "a", "3090", "4090", "2x", "13b", "70b", "q4_k_m", "8k", "context", "32gb", "ram", "ddr5",
     "no gpu", "how fast", "两张", "显卡", "内存", "4位", "llama", "mixtral", "8x7b", "m2", "max", "96gb",
     "gb/s", "100", "model", "?", "tokens/s", "上下文"]), max_size=12).map(" ".join))
def test_parser_never_raises_on_sizing_word_salad(text):
    query = parse(text)
    assert query.error != "parse_failed", query.error_message
