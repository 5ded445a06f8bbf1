"""The source article's tables, reproduced by the sizing model, and the measured
speeds of real devices, predicted within 35% and never above the ceiling."""

import csv

import pytest
from conftest import reference_file

from rules.catalog import DeviceClass
from rules.memory import CPU_OVERHEAD_GIB, GIB, fit, kv_cache_bytes, weights_bytes
from rules.rig import Rig
from rules.schema import Verdict
from rules.speed import ceiling_tokens_per_s, speed, speed_from_bandwidth

# 4-bit table: model, minimum VRAM (GB), example GPUs (catalog names; "2x" = two cards)
GPU_TABLE = [
    ("LLaMA 7B", 6, ["RTX 3060 12GB", "GTX 1660", "RTX 2060 6GB", "Radeon RX 5700 XT", "RTX 3050 8GB"]),
    ("LLaMA 13B", 10, ["Radeon RX 6900 XT", "RTX 2060 12GB", "RTX 3060 12GB", "RTX 3080 10GB", "RTX A2000 12GB"]),
    ("LLaMA 30B", 20, ["RTX 3080 20GB", "RTX A4500", "RTX A5000", "RTX 3090", "RTX 4090", "Quadro RTX 6000",
                       "Tesla V100 32GB", "Tesla P40"]),
    ("LLaMA 65B", 40, ["A100 40GB", "2x RTX 3090", "2x RTX 4090", "A40", "RTX A6000", "Quadro RTX 8000"]),
]


def _gpu_rig(catalog, spec: str, vram: float | None = None) -> Rig:
    count, name = (int(spec[0]), spec[3:]) if spec[1:3] == "x " else (1, spec)
    gpu = catalog.gpu(name)
    if vram is not None:
        gpu = gpu.model_copy(update={"vram_gib": vram})
    return Rig(gpus=[(gpu, count)], ram_gib=32, ram_bandwidth_gbs=51.2)


@pytest.mark.parametrize(("model_name", "min_vram", "examples"), GPU_TABLE)
def test_4bit_gpu_table_model_fits_its_minimum_vram(catalog, model_name, min_vram, examples):
    model, quant = catalog.model(model_name), catalog.quant("GPTQ_4BIT")  # the article's GPU models are GPTQ
    rig = _gpu_rig(catalog, "RTX 3090", vram=min_vram)
    assert fit(model, quant, model.native_context, rig).verdict == Verdict.FITS_GPU
    for example in examples:
        assert fit(model, quant, model.native_context, _gpu_rig(catalog, example)).verdict == Verdict.FITS_GPU, example


def test_the_next_size_up_does_not_fit_the_minimum(catalog):
    """The table is tight: each minimum is not enough for the next model."""
    quant = catalog.quant("GPTQ_4BIT")
    for (_, vram, _), (bigger, _, _) in zip(GPU_TABLE, GPU_TABLE[1:], strict=False):
        model = catalog.model(bigger)
        assert fit(model, quant, model.native_context, _gpu_rig(catalog, "RTX 3090", vram)).verdict != Verdict.FITS_GPU


# RAM on CPU by quantization: model → {bits: (low, high) GB}
RAM_TABLE = {
    "LLaMA 7B": {4: (3.9, 7.5), 5: (7.5, 8.5), 8: (8.5, 10.0)},
    "LLaMA 13B": {4: (7.8, 11.0), 5: (11.5, 13.5), 8: (13.5, 17.5)},
    "LLaMA 30B": {4: (19.5, 23.0), 5: (23.5, 27.5), 8: (28.5, 38.5)},
    "LLaMA 65B": {4: (38.5, 47.0), 5: (47.0, 52.0), 8: (71.0, 80.0)},
}
QUANT_FOR_BITS = {4: "Q4_K_M", 5: "Q5_K_M", 8: "Q8_0"}
# The article's 7B 5-bit range starts where its 4-bit range ends, though 5 bits need
# only ~17% more than 4; every other cell agrees with weights + KV + overhead, so
# this one is allowed to fall up to 10% under the range.
LOOSE_CELLS = {("LLaMA 7B", 5): 0.10}


@pytest.mark.parametrize("model_name", RAM_TABLE)
def test_ram_table_figures_fall_in_the_article_ranges(catalog, model_name):
    model = catalog.model(model_name)
    for bits, (low, high) in RAM_TABLE[model_name].items():
        quant = catalog.quant(QUANT_FOR_BITS[bits])
        cpu_rig = Rig(gpus=[], ram_gib=512, ram_bandwidth_gbs=51.2)
        f = fit(model, quant, model.native_context, cpu_rig)
        assert f.verdict == Verdict.CPU_ONLY
        expected = (weights_bytes(model, quant) + kv_cache_bytes(model, model.native_context)) / GIB
        assert f.ram_needed_gib == pytest.approx(expected + CPU_OVERHEAD_GIB)
        slack = LOOSE_CELLS.get((model_name, bits), 0.0)
        assert low * (1 - slack) <= f.ram_needed_gib <= high, (model_name, bits, f.ram_needed_gib)


def test_ram_table_original_size_is_16_bit(catalog):
    for name, original_gb in [("LLaMA 7B", 13), ("LLaMA 13B", 24), ("LLaMA 30B", 60), ("LLaMA 65B", 120)]:
        size = weights_bytes(catalog.model(name), catalog.quant("F16")) / GIB
        assert size == pytest.approx(original_gb, rel=0.06)


# Theoretical speed for an 8 GB model by RAM: kind, channels, article GB/s, article tokens/s
BANDWIDTH_TABLE = [
    ("DDR4-3600", 2, 56, 7.0),
    ("DDR4-3200", 2, 51, 6.3),
    ("DDR5-5600", 2, 89.6, 11.2),
    ("DDR4-2666", 2, 41.6, 5.1),
]


@pytest.mark.parametrize(("kind", "channels", "article_gbs", "article_tps"), BANDWIDTH_TABLE)
def test_bandwidth_table_theoretical_speed_within_5_percent(catalog, kind, channels, article_gbs, article_tps):
    bandwidth = catalog.ram_kind(kind).bandwidth_gbs(channels)
    assert bandwidth == pytest.approx(article_gbs, rel=0.05)
    info = speed_from_bandwidth(bandwidth, 8.0, DeviceClass.CPU, catalog)
    assert info.theoretical_max_tokens_per_s == pytest.approx(article_tps, rel=0.05)
    assert info.expected_tokens_per_s < info.theoretical_max_tokens_per_s


def test_the_articles_worked_example_115_gbs_and_13_gb():
    assert ceiling_tokens_per_s(115, 13e9) == pytest.approx(8.8, abs=0.05)


DEVICES = {
    "Ryzen 7 3700X (dual-channel DDR4; 3200 assumed)": None,  # CPU only
    "NVIDIA RTX 6000 Ada": "RTX 6000 Ada",
    "NVIDIA RTX 5090": "RTX 5090",
    "NVIDIA H100 80GB (PCIe)": "H100 PCIe",
    "NVIDIA A100 80GB": "A100 80GB",
    "Apple M1 (8-core GPU)": "Apple M1 16GB",
}
MODELS = {"LLaMA-7B": "LLaMA 7B", "LLaMA-13B": "LLaMA 13B", "LLaMA-30B": "LLaMA 30B", "LLaMA-65B": "LLaMA 65B",
          "Llama-2-7B": "Llama 2 7B"}
QUANTS = {"GGML q4_0": "Q4_0", "Q4_0": "Q4_0", "Q8_0": "Q8_0"}


def speed_rows():
    with reference_file("speed-measurements.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("row", speed_rows(), ids=lambda r: f"{r['device'][:20]}-{r['model']}-{r['quant']}")
def test_expected_speed_within_35_percent_of_measured_and_below_the_ceiling(catalog, row):
    model, quant = catalog.model(MODELS[row["model"]]), catalog.quant(QUANTS[row["quant"]])
    bandwidth = float(row["memory_bandwidth_gbs"])
    gpu_name = DEVICES[row["device"]]
    if gpu_name is None:
        rig = Rig(gpus=[], ram_gib=128, ram_bandwidth_gbs=bandwidth)
    else:
        gpu = catalog.gpu(gpu_name)
        assert gpu.bandwidth_gbs == pytest.approx(bandwidth, rel=0.02)
        rig = Rig(gpus=[(gpu, 1)], unified_memory=gpu.unified_memory,
                  ram_gib=gpu.vram_gib if gpu.unified_memory else 64, ram_bandwidth_gbs=51.2)
    f = fit(model, quant, 512, rig)  # the benchmarks generate 128 tokens after a short prompt
    assert f.verdict in (Verdict.FITS_GPU, Verdict.CPU_ONLY)
    info = speed(model, quant, f, rig, catalog)
    measured = float(row["measured_tokens_per_s"])
    assert measured <= info.theoretical_max_tokens_per_s * 1.02
    assert info.expected_tokens_per_s <= info.theoretical_max_tokens_per_s
    assert info.expected_tokens_per_s == pytest.approx(measured, rel=0.35), (info, measured)
