"""PNG charts of a `rules.compare.Comparison`: expected tokens/s (with the calibrated range)
and memory per quantization across GPUs. matplotlib is imported here only, on first use,
with the non-interactive Agg backend; callers render off the event loop."""

from __future__ import annotations

import io

from rules.compare import Comparison

VERDICT_HATCH = {"fits_gpu": "", "partial_offload": "//", "cpu_only": "xx"}


def compare_png(comparison: Comparison) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    gpus = list(dict.fromkeys(p.gpu for p in comparison.points))
    quants = list(dict.fromkeys(p.quant for p in comparison.points))
    width = 0.8 / len(quants)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), constrained_layout=True)
    for i, quant in enumerate(quants):
        xs, heights, errors, hatches = [], [], [[], []], []
        for j, gpu in enumerate(gpus):
            p = next(p for p in comparison.points if p.gpu == gpu and p.quant == quant)
            if p.expected_tokens_per_s is None:
                continue
            xs.append(j + (i - (len(quants) - 1) / 2) * width)
            heights.append(p.expected_tokens_per_s)
            errors[0].append(p.expected_tokens_per_s - p.expected_range[0])
            errors[1].append(p.expected_range[1] - p.expected_tokens_per_s)
            hatches.append(VERDICT_HATCH.get(p.verdict.value, ""))
        bars = top.bar(xs, heights, width, yerr=errors, capsize=2, color=colours[i % len(colours)])
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
    top.set_xticks(range(len(gpus)), gpus, rotation=20, ha="right")
    top.set_ylabel("expected tokens/s (bar: likely range)")
    top.set_title(f"{comparison.model}, {comparison.context:,} context: generation speed "
                  f"(hatched: partial offload, {comparison.ram_gib:g} GiB RAM assumed)")
    handles = [Patch(color=colours[i % len(colours)], label=q) for i, q in enumerate(quants)]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="partial offload"))
    top.legend(handles=handles, title="quant")
    top.grid(axis="y", alpha=0.3)

    needs = [next(p.total_gib for p in comparison.points if p.quant == q) for q in quants]
    bottom.bar(quants, needs, color="tab:gray")
    by_memory: dict[float, list[str]] = {}
    for gpu in gpus:
        by_memory.setdefault(next(p.vram_gib for p in comparison.points if p.gpu == gpu), []).append(gpu)
    for vram, names in by_memory.items():  # one line per memory size, every card of that size named
        bottom.axhline(vram, linestyle="--", linewidth=0.8, alpha=0.6)
        bottom.text(len(quants) - 0.5, vram, f"{', '.join(names)} ({vram:.0f} GiB)", va="bottom", ha="right",
                    fontsize=7)
    bottom.set_ylabel("memory needed, GiB (one GPU)")
    bottom.set_title("memory: weights + KV cache + overhead; dashed: each GPU's usable memory")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
