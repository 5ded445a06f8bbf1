"""The speed model against every public measurement it was calibrated on: the table is
printed (source, predicted, measured, ratio), at least 90% of rows fall within ±35%, no
bandwidth ceiling is below a measurement, and the fitted file is what the data gives."""

from __future__ import annotations

import pytest

from rules.calibration import (
    FIT_FILE,
    fit_measurements,
    fit_offload,
    held_out_ratios,
    held_out_table,
    load_fit,
    load_host_measurements,
    load_measurements,
    load_offload_measurements,
    predict_measurement,
    predict_prefill,
)

ROWS = load_measurements()


def _vendor(row) -> str:
    if row.device_class.startswith("cpu"):
        return "cpu"
    name = row.device.lower()
    if name.startswith("apple"):
        return "apple"
    if name.startswith("radeon"):
        return "amd"
    if "arc" in name or "data center gpu" in name:
        return "intel"
    return "nvidia"


def test_calibration_table_within_35_percent(capsys):
    fit = load_fit()
    lines = [f"{'device':30} {'class':11} {'model':24} {'quant':7} {'pred':>7} {'meas':>7} {'ratio':>5}  source"]
    within = 0
    for r in ROWS:
        predicted = predict_measurement(r, fit)
        ratio = r.tg / predicted
        within += 0.65 <= ratio <= 1.35
        gpus = f"{r.gpus}× " if r.gpus > 1 else ""
        lines.append(f"{gpus + r.device:30.30} {r.device_class:11} {r.model:24.24} {r.quant:7} "
                     f"{predicted:7.2f} {r.tg:7.2f} {ratio:5.2f}  {r.source[:90]}")
    share = within / len(ROWS)
    lines.append(f"{within}/{len(ROWS)} rows within ±35% ({share:.0%})")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert share >= 0.90


def test_at_least_80_rows_across_every_vendor_and_the_cpu():
    assert len(ROWS) >= 80
    vendors = {_vendor(r) for r in ROWS}
    assert vendors == {"nvidia", "amd", "apple", "intel", "cpu"}
    assert all(r.source.startswith(("http", "llama.cpp discussion", "Source article")) for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.device}-{r.model}-{r.quant}-{r.gpus}")
def test_no_bandwidth_ceiling_below_a_measurement(row):
    assert row.tg <= row.ceiling_tokens_per_s, row


def test_prefill_prediction_within_the_fitted_band():
    fit = load_fit()
    checked = 0
    for r in ROWS:
        predicted = predict_prefill(r, fit)
        if predicted is None or r.pp is None or r.gpus > 1:
            continue
        checked += 1
        assert 0.4 <= r.pp / predicted <= 2.5, (r, predicted)
    assert checked >= 80


def test_fitted_file_matches_a_fresh_fit():
    """speed_fit.toml is generated, never edited: refitting the data gives the same figures."""
    fresh = fit_offload(fit_measurements(ROWS, load_host_measurements(), held_out=False), load_offload_measurements())
    stored = load_fit()
    assert stored.measurements == len(ROWS), f"regenerate {FIT_FILE} with: python -m rules.calibration"
    for name, cf in fresh.classes.items():
        kept = stored.classes[name]
        assert kept.efficiency == pytest.approx(cf.efficiency, rel=0.01), name
        assert kept.fixed_ms == pytest.approx(cf.fixed_ms, rel=0.02, abs=0.05), name
    assert stored.cpu_compute_efficiency == pytest.approx(fresh.cpu_compute_efficiency, rel=0.02)
    assert stored.expert_offload_layer_ms == pytest.approx(fresh.expert_offload_layer_ms, rel=0.02)
    for family, factor in fresh.quant_factor.items():
        assert stored.quant_factor[family] == pytest.approx(factor, rel=0.01)


def test_issue_cases_now_fit():
    """The cases issue 10 names: Apple Ultra small models, big reads on discrete GPUs, P40 Q2_K."""
    fit = load_fit()
    by = {(r.device, r.model, r.quant, r.gpus): r for r in ROWS}
    for key in [("Apple M2 Ultra 76-core GPU", "LLaMA 7B", "Q4_0", 1),
                ("RTX 3090", "LLaMA 7B", "F16", 1),
                ("RTX 4090", "Llama 3 70B", "Q4_K_M", 2),
                ("Tesla P40", "LLaMA 7B", "Q2_K", 1)]:
        r = by[key]
        assert r.tg / predict_measurement(r, fit) == pytest.approx(1, abs=0.25), key


def test_held_out_sources_still_fit(capsys):
    """Leave one source out, fit on the rest, predict its rows: how the model does on
    measurements it has not seen (the in-sample table above cannot show that). Every row
    counts, classes no other source measures included (predicted the way an answer is, with
    the class they borrow from). The table per class is printed; overall at least 80% of
    held-out rows land within ±35% (82% on 295 rows from 36 sources, 2026-12-07, a source
    being a document or one machine's results; it was 88% on 162 rows when each of a
    document's tables counted as a source and before issue 21 added sources the others
    disagree with: a GTX 1050 Ti measured through llmfit's average, dual-socket CPUs) and at least 85% inside
    the range an answer states."""
    fit = load_fit()
    held = held_out_ratios(ROWS, load_host_measurements())
    table = held_out_table(held, fit)
    with capsys.disabled():
        print("\nleave one source out:")
        for g in table:
            print(f"  {g['group']:20} rows {g['rows']:4} sources {g['sources']:3} "
                  f"within ±35% {g['within_35']:4.0%}  inside the stated range {g['in_range']:4.0%}")
    overall = next(g for g in table if g["group"] == "all")
    assert overall["rows"] == len(ROWS)
    assert overall["within_35"] >= 0.80
    assert overall["in_range"] >= 0.85
