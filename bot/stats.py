"""`stats`: the host, measured tokens/s (median, p10, p90) and, beside it, what the
rule engine predicts for this very host and model, from the RAM bandwidth and FLOP/s
measured at start (bot/host.py) and the speed model every answer uses (rules/speed.py)."""

from __future__ import annotations

import statistics


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def model_from_gguf(model_path) -> tuple:
    """(ModelSpec, QuantType) for a GGUF file, from its header (rules/gguf_file.py): the
    architecture the speed model needs, and the file's real bits per weight."""
    from rules.catalog import QuantType
    from rules.gguf_file import read_gguf

    info = read_gguf(model_path)
    bits = info.weights_bytes * 8 / info.params
    quant = QuantType(name=info.quant, bits_per_weight=bits, bits=max(1, round(bits)), kind="file",
                      source=f"tensor infos of {info.path}")
    return info.model_spec(), quant


def cpu_class(flags: list[str]) -> str:
    if "neon" in flags:
        return "cpu_neon"
    return "cpu_avx512" if "avx512f" in flags else "cpu_avx2"


def predicted_tokens_per_s(host: dict, model_path, n_threads: int | None = None) -> dict | None:
    """What the rules engine predicts for this host and model, through the same speed
    model every answer uses, fed with the bandwidth and FLOP/s measured at start."""
    from rules.memory import fit
    from rules.rig import Rig
    from rules.speed import HostCompute, speed

    measured = (host or {}).get("measured")
    try:
        model, quant = model_from_gguf(model_path)
    except (OSError, ValueError, KeyError, AttributeError):  # GgufError is a ValueError
        return None
    if not measured:
        return {"model_file_gb": round(model_path.stat().st_size / 1e9, 3), "expected_tokens_per_s": None,
                "why_not": "host bandwidth and compute were not measured"}
    threads = n_threads or host.get("n_threads") or 1
    # one decode thread reads at the measured single-thread rate; more threads, up to the cores
    bandwidth = measured["ram_read_gbs"] * threads
    rig = Rig(gpus=[], ram_gib=host.get("ram_gib") or 4, ram_bandwidth_gbs=bandwidth)
    compute = HostCompute(cpu_class=cpu_class(host.get("cpu", {}).get("flags", [])),
                          gflops=measured["matmul_gflops_1thread"] * threads)
    placed = fit(model, quant, 512, rig)
    s = speed(model, quant, placed, rig, host=compute)
    if s is None:
        return None
    return {"model_file_gb": round(model_path.stat().st_size / 1e9, 3), "threads": threads,
            "ram_bandwidth_gbs_measured": round(bandwidth, 2),
            "matmul_gflops_measured": round(compute.gflops, 1),
            "theoretical_max_tokens_per_s": round(s.theoretical_max_tokens_per_s, 1),
            "expected_tokens_per_s": round(s.expected_tokens_per_s, 1),
            "expected_range": [round(v, 1) for v in s.expected_range], "bottleneck": s.bottleneck}


async def build_stats(service) -> dict:
    from pathlib import Path

    store = service.store
    host = await store.latest_host()
    speeds = await store.recent_tokens_per_s()
    measured = None
    if speeds:
        measured = {"generations": len(speeds), "median": round(statistics.median(speeds), 2),
                    "p10": round(_percentile(speeds, 0.1), 2), "p90": round(_percentile(speeds, 0.9), 2)}
    model_path = service.settings.model_path
    if model_path is None:
        from knowledge.llm import default_model_path  # light: importlib only

        model_path = default_model_path()
    prediction = predicted_tokens_per_s(host or {}, Path(model_path))
    ratio = note = None
    if measured and prediction and prediction.get("expected_tokens_per_s"):
        ratio = round(measured["median"] / prediction["expected_tokens_per_s"], 3)
    elif prediction and prediction.get("why_not"):
        note = prediction["why_not"]
    return {
        "host": host,
        "model": Path(model_path).name,
        "tokens_per_s": measured,
        "predicted": prediction,
        "measured_over_predicted": ratio,
        "note": note,
        "thread_measurements": await store.recall("thread_measurements"),
        "answers_by_route": await store.answer_counts(),
        # sentences the faithfulness gate kept from users, by reason (knowledge answers)
        "gate_cuts": await store.gate_cut_counts(),
    }


def speed_reports_line(reports: dict) -> str:
    """Users' speed reports: how many, what became of them, and the classes they moved."""
    status = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(reports["by_status"].items()))
    moved = "; ".join(f"{c} ×{s['factor']} from {s['users']} users ({s['rejected']} set aside)"
                      for c, s in sorted(reports["classes"].items()))
    return (f"User speed reports: {reports['reports']} from {reports['users']} users"
            + (f" ({status})" if status else "") + (f"; classes moved: {moved}" if moved else ""))


def render_stats(data: dict) -> str:
    host = data.get("host") or {}
    cpu = host.get("cpu", {})
    lines = [
        f"Host: {cpu.get('model', '?')} ({cpu.get('cores')} cores / {cpu.get('threads')} threads), "
        f"{host.get('ram_gib', '?')} GiB RAM, {host.get('os', '?')}, Python {host.get('python', '?')}",
        "GPUs: " + (", ".join(f"{g['name']} {g['vram_gib']} GiB (driver {g['driver']})" for g in host.get("gpus", []))
                    or "none"),
        f"Model: {data['model']}",
    ]
    t = data.get("tokens_per_s")
    lines.append(
        f"Measured: median {t['median']} tokens/s (p10 {t['p10']}, p90 {t['p90']}) over {t['generations']} generations"
        if t else "Measured: no generations yet (ask a knowledge question first)")
    if (p := data.get("predicted")) and p.get("expected_tokens_per_s"):
        low, high = p["expected_range"]
        lines.append(f"Rule engine predicts: {p['expected_tokens_per_s']} tokens/s expected (likely {low}–{high}, "
                     f"ceiling {p['theoretical_max_tokens_per_s']}, limited by {p['bottleneck']}) for a "
                     f"{p['model_file_gb']} GB file with {p['threads']} thread(s), from this host's measured "
                     f"{p['ram_bandwidth_gbs_measured']:g} GB/s and {p['matmul_gflops_measured']:g} GFLOP/s")
    if data.get("measured_over_predicted") is not None:
        lines.append(f"Measured ÷ predicted: {data['measured_over_predicted']}")
    if data.get("note"):
        lines.append(data["note"])
    lines.append("Answers: " + (", ".join(f"{k} {v}" for k, v in data["answers_by_route"].items()) or "none"))
    if reports := data.get("speed_reports"):
        lines.append(speed_reports_line(reports))
    cuts = data.get("gate_cuts") or {}
    lines.append("Faithfulness gate cut: " + (", ".join(f"{k} {v}" for k, v in sorted(cuts.items())) or "nothing yet"))
    return "\n".join(lines)
