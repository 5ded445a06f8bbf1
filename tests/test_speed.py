"""The speed model as answers use it: ranges around every figure, the parts of a split
placement adding up, prefill, and the cases issue 10 found far off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.catalog import DeviceClass, default_catalog
from rules.memory import fit
from rules.rig import Rig
from rules.schema import Verdict
from rules.speed import HostCompute, gpu_class, speed, speed_from_bandwidth

CATALOG = default_catalog()
GPUS = [g for g in CATALOG.gpus if not g.unified_memory]
MODELS = [m for m in CATALOG.models if not m.is_moe and m.params_b <= 80]
QUANTS = [CATALOG.quant(q) for q in ("Q2_K", "Q4_0", "Q4_K_M", "Q5_K_M", "Q8_0", "F16", "IQ4_XS")]


@settings(max_examples=150, deadline=None)
@given(gpu=st.sampled_from(GPUS), count=st.integers(1, 4), model=st.sampled_from(MODELS),
       quant=st.sampled_from(QUANTS), ram=st.sampled_from([16, 32, 64, 128]))
def test_expected_within_range_and_below_ceiling(gpu, count, model, quant, ram):
    rig = Rig(gpus=[(gpu, count)], ram_gib=ram, ram_bandwidth_gbs=51.2)
    f = fit(model, quant, 4096, rig)
    s = speed(model, quant, f, rig)
    if f.verdict == Verdict.DOES_NOT_FIT:
        assert s is None
        return
    low, high = s.expected_range
    assert 0 < low <= s.expected_tokens_per_s <= high <= s.theoretical_max_tokens_per_s * 1.0001
    assert s.measurements >= 5


@settings(max_examples=60, deadline=None)
@given(model=st.sampled_from(MODELS), quant=st.sampled_from(QUANTS))
def test_fewer_gpu_layers_never_faster(model, quant):
    """Partial offload: GPU and CPU times per token add, so each layer moved to RAM costs time.
    Among placements that use the GPU only: a split also pays one GPU → CPU → GPU hand-off
    per token (speed_fit.toml partial_offload_ms, fitted on -ngl rows, at most 2 ms), so for a
    sub-1B model a few GPU layers can be slower than none, and -ngl 0 is left out here."""
    rig = Rig(gpus=[(CATALOG.gpu("RTX 3060 12GB"), 1)], ram_gib=512, ram_bandwidth_gbs=51.2)
    base = fit(model, quant, 2048, rig)
    previous = None
    for layers in range(model.layers, 0, -max(1, model.layers // 6)):
        verdict = Verdict.PARTIAL_OFFLOAD if 0 < layers < model.layers else (
            Verdict.FITS_GPU if layers else Verdict.CPU_ONLY)
        placed = base.model_copy(update={"gpu_layers": layers, "verdict": verdict})
        tps = speed(model, quant, placed, rig).expected_tokens_per_s
        if previous is not None:
            assert tps <= previous * 1.0001
        previous = tps


def test_issue_cases():
    """Issue 10: M2 Ultra LLaMA 7B Q4_0 was predicted 168 against 94 measured; F16 and 70B on
    discrete GPUs came out 18-27% low; P40 Q2_K 81 against 34."""
    def on(gpu_name, model_name, quant_name, count=1):
        gpu = CATALOG.gpu(gpu_name)
        rig = Rig(gpus=[(gpu, count)], unified_memory=gpu.unified_memory,
                  ram_gib=gpu.vram_gib if gpu.unified_memory else 64, ram_bandwidth_gbs=51.2)
        model, quant = CATALOG.model(model_name), CATALOG.quant(quant_name)
        return speed(model, quant, fit(model, quant, 512, rig), rig).expected_tokens_per_s

    # These were measured on 2023 builds (era "2023"); answers predict today's builds, which
    # the fit finds somewhat faster (its per-backend era terms): within 35% either way
    for measured, answer in ((92.1, on("Apple M2 Ultra 192GB", "LLaMA 7B", "Q4_0")),
                             (51.8, on("RTX 3090", "LLaMA 7B", "F16")),
                             (33.5, on("Tesla P40", "LLaMA 7B", "Q2_K"))):
        assert 0.65 <= answer / measured <= 1.35
    assert on("RTX 4090", "Llama 3 70B", "Q4_K_M", count=2) == pytest.approx(19.2, rel=0.15)
    assert on("Arc A770 16GB", "Llama 2 7B", "Q4_0") == pytest.approx(55, rel=0.25)


def test_device_classes_of_catalog_gpus():
    assert gpu_class(CATALOG.gpu("RTX 3090")) == "cuda"
    assert gpu_class(CATALOG.gpu("H100 PCIe")) == "cuda_hbm"
    assert gpu_class(CATALOG.gpu("Tesla P40")) == "cuda_pascal"
    assert gpu_class(CATALOG.gpu("Radeon RX 7900 XTX")) == "vulkan_rocm"
    assert gpu_class(CATALOG.gpu("Arc B580")) == "sycl"
    assert gpu_class(CATALOG.gpu("Apple M2 Max 64GB")) == "metal"


def test_prefill_and_time_to_first_token():
    gpu = CATALOG.gpu("RTX 4090")
    rig = Rig(gpus=[(gpu, 1)], ram_gib=64, ram_bandwidth_gbs=51.2)
    model, quant = CATALOG.model("Llama 3 8B"), CATALOG.quant("Q4_K_M")
    s = speed(model, quant, fit(model, quant, 8192, rig), rig, prompt_tokens=4096)
    # XiongjieDai's 4090 Llama 3 8B Q4_K_M pp512: 7139 tokens/s; the prediction's band holds it
    low, high = s.prompt_tokens_per_s_range
    assert low <= 7139 <= high
    assert s.time_to_first_token_s == pytest.approx(4096 / s.prompt_tokens_per_s)
    # a card without a known FLOP/s figure gets no prefill figure rather than a guess
    unknown = CATALOG.gpu("GTX 1660 Super")
    rig = Rig(gpus=[(unknown, 1)], ram_gib=16, ram_bandwidth_gbs=51.2)
    small = CATALOG.model("Llama 3.2 1B")
    s = speed(small, quant, fit(small, quant, 2048, rig), rig, prompt_tokens=1000)
    assert s.prompt_tokens_per_s is None and s.time_to_first_token_s is None


def test_cpu_compute_bound_small_model():
    """A tiny model on a fast-RAM CPU is limited by compute once the host's FLOP/s is known."""
    model, quant = CATALOG.model("Qwen2.5 0.5B"), CATALOG.quant("Q4_0")
    rig = Rig(gpus=[], ram_gib=64, ram_bandwidth_gbs=200)
    f = fit(model, quant, 2048, rig)
    slow_cpu = speed(model, quant, f, rig, host=HostCompute(gflops=5.0))
    assert slow_cpu.bottleneck == "cpu_compute"
    assert slow_cpu.expected_tokens_per_s < speed(model, quant, f, rig).expected_tokens_per_s


def test_pure_bandwidth_question_has_a_range():
    s = speed_from_bandwidth(115, 13, DeviceClass.CPU)
    assert s.theoretical_max_tokens_per_s == pytest.approx(8.85, abs=0.01)
    low, high = s.expected_range
    assert low <= s.expected_tokens_per_s <= high <= s.theoretical_max_tokens_per_s


def test_a_full_context_slows_decoding():
    """Each token also reads the KV cache. llama.cpp PR 17505: RTX 4090, Llama 3 8B Q4_0,
    decoding at depth 32768 with flash attention, 98 tokens/s."""
    gpu = CATALOG.gpu("RTX 4090")
    rig = Rig(gpus=[(gpu, 1)], ram_gib=64, ram_bandwidth_gbs=51.2)
    model, quant = CATALOG.model("Llama 3 8B"), CATALOG.quant("Q4_0")
    long = model.model_copy(update={"native_context": 65536})
    s = speed(long, quant, fit(long, quant, 33024, rig), rig)
    assert s.full_context_tokens_per_s == pytest.approx(98.14, rel=0.2)
    short = speed(long, quant, fit(long, quant, 512, rig), rig)
    assert short.full_context_tokens_per_s > s.full_context_tokens_per_s
    assert s.full_context_tokens_per_s < s.expected_tokens_per_s == pytest.approx(short.expected_tokens_per_s)


def test_expert_offload_against_a_measurement():
    """llmfit PR 755: RTX 2080 + i9-10900X (about 102 GB/s), Qwen3-30B-A3B Q4_K_M,
    `--n-cpu-moe 36`: 36.7 tokens/s. The per-layer hand-off cost is fitted on this row, so
    this checks that the answer path and the fit agree, and that the range is wide."""
    model, quant = CATALOG.model("Qwen3 30B-A3B"), CATALOG.quant("Q4_K_M")
    rig = Rig(gpus=[(CATALOG.gpu("RTX 2080"), 1)], ram_gib=62, ram_bandwidth_gbs=102)
    placed = fit(model, quant, 4096, rig).model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD,
                                                            "gpu_layers": model.layers})
    s = speed(model, quant, placed, rig, cpu_expert_fraction=36 / model.layers)
    # 0.79x since issue 21: the CPU class's fixed cost is now fitted with the partial-offload
    # (-ngl) and dual-socket rows too (about 10 ms a token), which leaves no per-layer
    # hand-off for this row to fix (expert_offload_layer_ms 0); the range still holds it
    assert s.expected_tokens_per_s == pytest.approx(36.7, rel=0.25)
    low, high = s.expected_range
    assert low <= 36.7 <= high and s.device_class == "expert_offload"
    # all experts on the GPU's side would be faster; all in RAM slower
    assert speed(model, quant, placed, rig, cpu_expert_fraction=1.0).expected_tokens_per_s < s.expected_tokens_per_s


@pytest.mark.parametrize(("gpu", "model", "quant", "measured"), [
    ("RTX 3090 Ti", "Qwen3 30B-A3B", "Q4_K_M", 166.9),  # smeltcore.com recipe, llama.cpp CUDA
    ("RTX 3090", "gpt-oss-20b", "MXFP4", 186.29),  # llama.cpp PR 15631, microbatch 1
])
def test_moe_on_one_gpu_against_public_measurements(gpu, model, quant, measured):
    """MoE models fully on a GPU pay a cost per MoE layer (routing, many small expert
    matmuls) that the bytes read do not explain: before it, a 3090 was said to run
    Qwen3-30B-A3B at ~270 tokens/s. The range says how thin the MoE data is."""
    m, q = CATALOG.model(model), CATALOG.quant(quant)
    rig = Rig(gpus=[(CATALOG.gpu(gpu), 1)], ram_gib=32, ram_bandwidth_gbs=51.2)
    s = speed(m, q, fit(m, q, 4096, rig), rig)
    low, high = s.expected_range
    assert low <= measured <= high
    assert s.expected_tokens_per_s == pytest.approx(measured, rel=0.3)
    assert s.device_class == "moe_cuda" and s.measurements >= 1
    # wider than the dense CUDA band: few MoE rows, each checked with its source held out
    dense = speed(CATALOG.model("Llama 3.1 8B"), q, fit(CATALOG.model("Llama 3.1 8B"), q, 4096, rig), rig)
    assert high / low > dense.expected_range[1] / dense.expected_range[0]


def test_moe_layers_cost_time_on_every_backend():
    """A MoE's time per token is its read time plus the class's fixed cost plus, per expert
    matmul (MoE layers × routed experts per token), the fitted cost of its backend (CUDA,
    Metal, Vulkan/ROCm): each is positive."""
    from rules.calibration import decode_seconds, load_fit
    from rules.memory import read_bytes_per_token
    from rules.speed import moe_layer_count

    params = load_fit()
    m, q = CATALOG.model("Qwen3 30B-A3B"), CATALOG.quant("Q4_K_M")
    assert moe_layer_count(m) == 48
    for name in ("RTX 3090", "Apple M3 Ultra 96GB", "Radeon RX 7900 XTX"):
        gpu = CATALOG.gpu(name)
        rig = Rig(gpus=[(gpu, 1)], ram_gib=64, ram_bandwidth_gbs=51.2)
        s = speed(m, q, fit(m, q, 4096, rig), rig)
        cls = gpu_class(gpu)
        base = decode_seconds(read_bytes_per_token(m, q), gpu.bandwidth_gbs, params.for_class(cls),
                              params.quant("Q4_K_M", cls))
        assert params.moe_ms(cls) > 0, name
        units = 48 * m.experts_active  # 48 MoE layers × 8 routed experts
        assert 1 / s.expected_tokens_per_s == pytest.approx(base + units * params.moe_ms(cls) / 1000, rel=0.01), name
        assert s.device_class.startswith("moe_"), name


def test_range_sentence_counts_in_english_and_chinese():
    """One measurement is "1 measurement", not "1 measurements"; MoE answers name their band."""
    from rules.engine import answer_question

    one = answer_question("how fast is gpt-oss-120b on a 3090 with 64GB DDR5").answer
    assert "(1 measurement on MoE expert offload" in one and "1 measurements" not in one
    many = answer_question("how fast is Qwen3 30B-A3B on a 3090").answer
    assert "measurements on MoE models on NVIDIA GPUs" in many
    zh = answer_question("gpt-oss-120b 在 3090 加 64GB DDR5 上多快？").answer
    assert "仅 1 条实测数据" in zh


@settings(max_examples=80, deadline=None)
@given(gpu=st.sampled_from(GPUS), count=st.integers(1, 4),
       model=st.sampled_from([m for m in CATALOG.models if m.is_moe]),
       quant=st.sampled_from(QUANTS[:5]), ram=st.sampled_from([32, 64, 128, 256]))
def test_moe_expected_within_its_range_and_below_ceiling(gpu, count, model, quant, ram):
    """MoE figures, on one card, several, or spilling to RAM: within their (wider) range,
    never above the ceiling, and the range names its MoE band or the offload band."""
    rig = Rig(gpus=[(gpu, count)], ram_gib=ram, ram_bandwidth_gbs=51.2)
    f = fit(model, quant, 4096, rig)
    s = speed(model, quant, f, rig)
    if s is None:
        assert f.verdict == Verdict.DOES_NOT_FIT
        return
    low, high = s.expected_range
    assert 0 < low <= s.expected_tokens_per_s <= high <= s.theoretical_max_tokens_per_s * 1.0001
    assert s.device_class.startswith("moe_") and s.measurements >= 1
