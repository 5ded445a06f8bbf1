"""`python -m bench runtimes`: the per-runtime speed model (rules/runtime_speed.py) against
its public measurements. Per runtime × device class: the decode rows and their sources,
whether it is calibrated, its efficiency and band, and the held-out check (each source left
out in turn): the share of rows inside the range so fitted and the median estimate ÷ measured.
Then the concurrency exponent per serving runtime, checked the same way."""

from __future__ import annotations

from statistics import median


def table() -> list[dict]:
    from rules.runtime_speed import calibrated_classes, calibration, decode_rows, held_out_check

    out = []
    for runtime, device_class in calibrated_classes():
        rows = decode_rows(runtime, device_class)
        cal = calibration(runtime, device_class)
        checks = held_out_check(rows)
        out.append({
            "runtime": runtime, "device_class": device_class, "rows": len(rows), "sources": cal.sources,
            "calibrated": cal.calibrated,
            "efficiency": round(cal.fit.efficiency, 3) if cal.fit else None,
            "fixed_ms": round(cal.fit.fixed_s * 1000, 2) if cal.fit else None,
            "band": [round(x, 2) for x in cal.band] if cal.band else None,
            "held_out_rows": len(checks),
            "held_out_coverage": round(sum(c.inside for c in checks) / len(checks), 3) if checks else None,
            "median_estimate_over_measured": round(median(c.estimate / c.row.m.tps for c in checks), 3)
            if checks else None,
        })
    return out


def concurrency_table() -> list[dict]:
    from rules.runtime_speed import (
        SERVING_RUNTIMES,
        _sweep_points,
        concurrency_fit,
        concurrency_held_out,
        load_measurements,
    )

    rows = load_measurements()[0]
    out = []
    for runtime in sorted(SERVING_RUNTIMES):
        conc = concurrency_fit(runtime)
        points = _sweep_points([r for r in rows if r.m.kind == "throughput" and r.m.runtime == runtime])
        checks = concurrency_held_out(points) if conc.alpha is not None else []
        out.append({"runtime": runtime, "sweeps": conc.sweeps, "sources": conc.sources, "points": len(points),
                    "alpha": round(conc.alpha, 3) if conc.alpha is not None else None,
                    "band": [round(x, 2) for x in conc.band] if conc.band else None,
                    "held_out_coverage": round(sum(lo <= 1 / e <= hi for e, lo, hi in checks) / len(checks), 3)
                    if checks else None,
                    "median_estimate_over_measured": round(median(e for e, _, _ in checks), 3) if checks else None})
    return out


def main() -> dict:
    from rules.runtime_speed import load_measurements

    rows = load_measurements()[0]
    decode = table()
    conc = concurrency_table()
    print(f"runtimes: {len(rows)} public rows ({sum(r.m.kind == 'decode' for r in rows)} single-request decode, "
          f"{sum(r.m.kind == 'throughput' for r in rows)} concurrency-sweep points), "
          f"{len({r.m.source for r in rows})} sources")
    print(f"{'runtime':<13}{'class':<10}{'rows':>5}{'src':>4}  {'calibrated':<11}{'eff':>6}{'fixed ms':>9}"
          f"{'band':>13}{'held-out in range':>19}{'est÷meas':>10}")
    for d in decode:
        band = f"{d['band'][0]}–{d['band'][1]}" if d["band"] else "-"
        cov = f"{d['held_out_coverage']:.0%} of {d['held_out_rows']}" if d["held_out_coverage"] is not None else "-"
        print(f"{d['runtime']:<13}{d['device_class']:<10}{d['rows']:>5}{d['sources']:>4}  "
              f"{'yes' if d['calibrated'] else 'no':<11}{d['efficiency'] or '-':>6}{d['fixed_ms'] if d['fixed_ms'] is not None else '-':>9}"
              f"{band:>13}{cov:>19}{d['median_estimate_over_measured'] or '-':>10}")
    print("concurrency (aggregate = single × N^alpha):")
    for c in conc:
        band = f"{c['band'][0]}–{c['band'][1]}" if c["band"] else "-"
        cov = f"{c['held_out_coverage']:.0%} of {c['points']}" if c["held_out_coverage"] is not None else "-"
        print(f"  {c['runtime']:<13} sweeps {c['sweeps']} from {c['sources']} sources, alpha "
              f"{c['alpha'] if c['alpha'] is not None else 'not fitted'}, band {band}, held-out in band {cov}, "
              f"est÷meas {c['median_estimate_over_measured'] or '-'}")
    return {"decode": decode, "concurrency": conc}


if __name__ == "__main__":
    main()
