"""The speed model against its public measurements, as figures and a chart: predicted vs
measured tokens/s for every row (log-log, the ±35% band shaded), per device class, and the
honest figure: each source left out of the fit in turn and its rows predicted by the rest
(per class, partial offload, MoE and several sockets: within ±35%, inside the stated range)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(out: Path | None = None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rules.calibration import (
        held_out_ratios,
        held_out_table,
        load_fit,
        load_host_measurements,
        load_measurements,
        predict_measurement,
    )

    fit = load_fit()
    rows = load_measurements()
    by_class: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        by_class.setdefault(r.device_class, []).append((predict_measurement(r, fit), r.tg))
    within = sum(0.65 <= m / p <= 1.35 for pts in by_class.values() for p, m in pts)
    fig, ax = plt.subplots(figsize=(7, 7), constrained_layout=True)
    for cls, pts in sorted(by_class.items()):
        ax.scatter([p for p, _ in pts], [m for _, m in pts], s=14, label=f"{cls} ({len(pts)})")
    lo, hi = 0.5, 400
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
    ax.fill_between([lo, hi], [lo * 0.65, hi * 0.65], [lo * 1.35, hi * 1.35], color="gray", alpha=0.15)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="predicted tokens/s",
           ylabel="measured tokens/s",
           title=f"Speed model vs {len(rows)} public llama.cpp measurements: {within} within ±35%")
    ax.legend(fontsize=8)
    out = out or ROOT / "data" / "bench" / "calibration.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    held = held_out_ratios(rows, load_host_measurements())
    table = held_out_table(held, fit)
    result = {"rows": len(rows), "sources": len({r.origin for r in rows}), "within_35_percent": within,
              "chart": str(out), "held_out": table}
    print(f"calibration: {within}/{len(rows)} rows within ±35% in sample; chart {out}")
    print(f"leave one source out ({result['sources']} sources, each predicted by a fit of the others):")
    print(f"  {'group':20} {'rows':>5} {'sources':>7} {'within ±35%':>11} {'in stated range':>15}"
          f" {'current-build rows':>18} {'within ±35%':>11}")
    for g in sorted(table, key=lambda g: (g["group"] == "all", -g["rows"])):
        current = "" if g["current_within_35"] is None else f"{g['current_within_35']:.0%}"
        print(f"  {g['group']:20} {g['rows']:5} {g['sources']:7} {g['within_35']:11.0%} {g['in_range']:15.0%}"
              f" {g['current_rows']:18} {current:>11}")
    print("  (current-build rows: those with no `era`, i.e. builds an answer predicts; older builds are fitted"
          " with per-backend era terms)")
    return result


if __name__ == "__main__":
    main()
