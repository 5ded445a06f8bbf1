"""`stats`: the host, measured tokens/s (median, p10, p90) and, beside it, what the
rule engine predicts for this very host and model."""

from __future__ import annotations

import statistics


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def predicted_tokens_per_s(host: dict, model_path) -> dict | None:
    """The rule engine's ceiling for this host: its RAM bandwidth (assumed dual-channel
    DDR4-3200 when unknown) over the model file size, times the CPU efficiency."""
    from rules.catalog import DeviceClass, default_catalog
    from rules.speed import speed_from_bandwidth

    try:
        size_gb = model_path.stat().st_size / 1e9
    except (OSError, AttributeError):
        return None
    catalog = default_catalog()
    bandwidth = catalog.ram_kind("DDR4-3200").bandwidth_gbs(2)
    s = speed_from_bandwidth(bandwidth, size_gb, DeviceClass.CPU, catalog)
    return {"model_file_gb": round(size_gb, 3), "ram_bandwidth_gbs_assumed": bandwidth,
            "theoretical_max_tokens_per_s": round(s.theoretical_max_tokens_per_s, 1),
            "expected_tokens_per_s": round(s.expected_tokens_per_s, 1)}


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
    if measured and prediction:
        ratio = round(measured["median"] / prediction["expected_tokens_per_s"], 3)
        if prediction["model_file_gb"] < 1 and ratio < 0.5:
            note = ("A model this small is limited by compute, not by memory bandwidth, so the "
                    "bandwidth rule (made for multi-GB models) over-predicts it.")
    return {
        "host": host,
        "model": Path(model_path).name,
        "tokens_per_s": measured,
        "predicted": prediction,
        "measured_over_predicted": ratio,
        "note": note,
        "thread_measurements": await store.recall("thread_measurements"),
        "answers_by_route": await store.answer_counts(),
    }


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
    if p := data.get("predicted"):
        lines.append(f"Rule engine predicts: {p['expected_tokens_per_s']} tokens/s expected "
                     f"(ceiling {p['theoretical_max_tokens_per_s']}) for a {p['model_file_gb']} GB file "
                     f"at {p['ram_bandwidth_gbs_assumed']:g} GB/s (dual-channel DDR4-3200 assumed)")
    if data.get("measured_over_predicted") is not None:
        lines.append(f"Measured ÷ predicted: {data['measured_over_predicted']}")
    if data.get("note"):
        lines.append(data["note"])
    lines.append("Answers: " + (", ".join(f"{k} {v}" for k, v in data["answers_by_route"].items()) or "none"))
    return "\n".join(lines)
