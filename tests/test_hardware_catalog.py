"""The hardware catalog (rules/data/gpus.toml, ram.toml, cpus.toml): the kinds issue 8
asks for are there, with figures that agree with their sources, and every variant the
parser chooses between can be told apart."""

import pytest

from rules.parse import parse
from rules.rig import rig_from_query


def test_ram_kinds_ddr5_3600_to_8800_and_lpddr5(catalog):
    names = {r.name for r in catalog.ram_kinds}
    for mts in range(3600, 8801, 400):
        assert f"DDR5-{mts}" in names
    for name in ["LPDDR5-6400", "LPDDR5X-7500", "LPDDR5X-8000", "LPDDR5X-8533"]:
        assert name in names
        kind = catalog.ram_kind(name)
        assert kind.bus_bits == 16 and kind.default_channels * kind.bus_bits == 128  # a laptop's bus
    assert catalog.ram_kind("LPDDR5X-8000").bandwidth_gbs(16) == pytest.approx(256)  # Strix Halo, 256-bit
    assert catalog.ram_kind("DDR5-4800").bandwidth_gbs(12) == pytest.approx(460.8)  # EPYC Genoa


def test_unified_memory_x86_and_arm(catalog):
    strix = catalog.gpu("Ryzen AI Max+ 395 128GB")
    assert strix.unified_memory and strix.bandwidth_gbs == 256 and strix.vram_gib == 128
    spark = catalog.gpu("DGX Spark (GB10)")
    assert spark.unified_memory and spark.bandwidth_gbs == 273 and spark.vram_gib == 128
    rig = rig_from_query(parse("strix halo 128gb llama 3.3 70b", catalog), catalog)
    assert rig.unified_memory and rig.ram_gib == 128 and rig.ram_bandwidth_gbs == 256


def test_apple_variants_carry_gpu_cores_machines_and_bandwidth(catalog):
    apple = [g for g in catalog.gpus if g.vendor == "apple"]
    assert all(g.machines for g in apple)
    m3_max = {g.vram_gib: g for g in apple if g.chip == "Apple M3 Max"}
    assert {m3_max[36].bandwidth_gbs, m3_max[96].bandwidth_gbs} == {300}
    assert m3_max[36].gpu_cores == m3_max[96].gpu_cores == [30]
    assert all(m3_max[m].bandwidth_gbs == 400 and m3_max[m].gpu_cores == [40] for m in (48, 64, 128))
    m4_max = {g.vram_gib: g for g in apple if g.chip == "Apple M4 Max"}
    assert m4_max[36].bandwidth_gbs == 410 and m4_max[48].bandwidth_gbs == 546
    chips = {g.chip for g in apple}
    for chip in ["Apple M1 Ultra", "Apple M2 Ultra", "Apple M3 Ultra", "Apple M4 Pro", "Apple M4 Max", "Apple M5",
                 "Apple M5 Pro", "Apple M5 Max"]:
        assert chip in chips


def test_every_apple_variant_can_be_asked_for_by_chip_cores_and_memory(catalog):
    for gpu in (g for g in catalog.gpus if g.vendor == "apple"):
        for cores in gpu.gpu_cores or [None]:
            words = f"{gpu.chip} {cores}-core GPU {gpu.vram_gib:g}GB" if cores else f"{gpu.chip} {gpu.vram_gib:g}GB"
            query = parse(f"can a {words} run llama 3.1 8b?", catalog)
            assert query.gpu_names == [gpu.name], (words, query.error_message)


def test_new_gpus(catalog):
    names = {g.name for g in catalog.gpus}
    assert {"RTX 5050", "RTX 5060", "RTX 5060 Ti 16GB", "RTX 5070", "RTX 5070 Ti", "RTX 5080", "RTX 5090",
            "Arc B570", "Arc B580", "Arc Pro B60"} <= names


def test_server_cpus_with_8_and_12_channels(catalog):
    by_name = {c.name: c for c in catalog.cpus}
    twelve = ["EPYC 9654", "EPYC 9554", "EPYC 9755", "EPYC 9965", "Xeon 6980P"]
    eight = ["Xeon Platinum 8480+", "Xeon Platinum 8592+", "Xeon 6787P", "Threadripper PRO 7995WX", "EPYC 7763"]
    assert all(by_name[n].memory_channels == 12 for n in twelve)
    assert all(by_name[n].memory_channels == 8 for n in eight)
    assert by_name["EPYC 9755"].ram_kind == "DDR5-6000" and by_name["Xeon Platinum 8592+"].ram_kind == "DDR5-5600"
    rig = rig_from_query(parse("epyc 9654 cpu only llama 3.1 70b", catalog), catalog)
    assert rig.ram_bandwidth_gbs == pytest.approx(460.8)


def test_an_unlisted_but_real_ram_speed_is_computed_and_said(catalog):
    query = parse("ddr5-3900 dual channel, no gpu, llama 3.1 8b", catalog)
    rig = rig_from_query(query, catalog)
    assert rig.ram_bandwidth_gbs == pytest.approx(3900 * 8 * 2 / 1000)
    assert any("DDR5-3900" in a for a in query.assumptions)


def test_lpddr_dual_channel_means_two_64_bit_channels(catalog):
    query = parse("dual channel LPDDR5X-8533 no gpu llama 3.1 8b", catalog)
    assert rig_from_query(query, catalog).ram_bandwidth_gbs == pytest.approx(8533 * 16 / 1000)
