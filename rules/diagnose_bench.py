"""A pasted llama-bench table against RigBot's prediction, row by row: for every
generation (tg) row, the speed RigBot predicts for that model, quant, GPU and -ngl, with
its range, and whether the measured speed is normal, slower or faster.

The model is the catalog model the question or the table's file name names; llama-bench's
own model column ("llama 7B") names an architecture and is never read as a model. Without
a catalog model, a row wholly on a catalog GPU is predicted from the size the table prints.
CPU rows are predicted only when the question names the CPU or the RAM: a guessed RAM speed
would make "normal" meaningless. Pure."""

from __future__ import annotations

from rules.catalog import Catalog
from rules.memory import fit
from rules.phrases import say, tps
from rules.schema import GB, GIB, BenchRow, DiagnosisRow, Query, SpeedInfo, Verdict
from rules.speed import gpu_class, speed, speed_from_bandwidth

ALL_LAYERS = 99  # llama-bench's default -ngl



def bench_rows(query: Query, setup, catalog: Catalog) -> tuple[list[DiagnosisRow], list[str]]:
    """(the rows judged, the answer lines); `setup` is rules.diagnose's _Setup."""
    lang = query.lang
    quants = {q.name: q for q in catalog.quants}
    rows: list[DiagnosisRow] = []
    lines: list[str] = []
    # a table of several models: the catalog model the question names is none of them in particular
    kinds = {(m.model_words or m.model_type, m.params_b, m.size_gib) for m in query.run_log.bench}
    several = len({k[0] for k in kinds}) > 1 or len({k[1] for k in kinds}) > 1
    other = {m.params_b for m in query.run_log.bench if setup.model is not None and m.params_b
             and not _same_params(m, setup.model)}
    if other and not several:
        lines.append(say(lang, "diag_bench_params_differ", params=f"{other.pop():.2f}", model=setup.model.name,
                         model_params=f"{setup.model.params_b:g}"))
    if several and setup.model is not None:
        lines.append(say(lang, "diag_bench_several", model=setup.model.name,
                         params=f"{setup.model.params_b:g}"))
    for m in query.run_log.bench:
        if not (m.n_gen > 0 and m.n_prompt == 0):
            continue  # prompt processing: compute-bound, not what the tokens/s figures predict
        info = None
        if not (several and setup.model is not None) or _same_params(m, setup.model):
            info = _predict(m, query, setup, quants.get(m.quant) if m.quant else setup.quant, catalog)
        verdict = "no_prediction"
        if info is not None:
            low, high = info.expected_range
            verdict = "slow" if m.tokens_per_s < low else "fast" if m.tokens_per_s > high else "normal"
        rows.append(DiagnosisRow(
            model=m.model_type, test=m.test, gpu_layers=m.gpu_layers, measured_tokens_per_s=m.tokens_per_s,
            predicted_tokens_per_s=round(info.expected_tokens_per_s, 1) if info else None,
            predicted_range=[round(v, 1) for v in info.expected_range] if info else None, verdict=verdict))
        name = m.model_type + (f", ngl {m.gpu_layers}" if m.gpu_layers is not None else "")
        if info is None:
            lines.append(f"{name} {m.test}: {tps(m.tokens_per_s)} tokens/s")
        else:
            lines.append(say(lang, "diag_bench_row", model=name, test=m.test, tps=tps(m.tokens_per_s),
                             pred=tps(info.expected_tokens_per_s), low=tps(info.expected_range[0]),
                             high=tps(info.expected_range[1]),
                             verdict=say(lang, "diag_bench_far_fast" if m.tokens_per_s > 2 * info.expected_range[1]
                                         else f"diag_bench_{verdict}")))
    return rows, lines


def _same_params(m: BenchRow, model) -> bool:
    """The row's parameter count is the catalog model's (llama-bench prints it to 0.01B)."""
    return bool(m.params_b) and abs(m.params_b / model.params_b - 1) <= 0.03


def _predict(m: BenchRow, query: Query, setup, quant, catalog: Catalog) -> SpeedInfo | None:
    rig = setup.rig
    if rig is None:
        return None
    if m.on_cpu or not rig.gpus:
        if not (query.cpu_name or query.ram_gib or query.ram_kind or query.cpu_only or rig.unified_memory):
            return None
    if setup.model is not None and m.params_b and not _same_params(m, setup.model):
        return None  # the row's model is not the catalog model named
    if setup.model is not None and quant is not None:
        context = max(512, m.n_depth + m.n_gen)
        kv = m.type_k if m.type_k in ("f16", "q8_0", "q4_0") else "f16"
        f = fit(setup.model, quant, context, rig, kv)
        if f.verdict == Verdict.DOES_NOT_FIT:
            return None
        # llama.cpp counts the output layer; builds before 2024 ("mostly Q4_0") also counted the
        # K and V caches as two more offloadable "layers" (35 for a 32-layer model)
        total = setup.model.layers + (3 if "mostly" in m.model_type.lower() else 1)
        ngl = ALL_LAYERS if m.gpu_layers is None else m.gpu_layers
        cpu_moe = m.n_cpu_moe or 0
        if cpu_moe and not setup.model.is_moe:
            cpu_moe = 0  # --n-cpu-moe does nothing to a dense model
        if ngl < 0:  # -1: every layer, or as many as fit (newer builds): RigBot's own placement
            pass
        elif m.on_cpu or not rig.gpus or ngl == 0:
            f = f.model_copy(update={"verdict": Verdict.CPU_ONLY, "gpu_layers": 0})
        elif ngl >= total:
            if f.verdict != Verdict.FITS_GPU:
                return None  # the table ran it all on the GPU; RigBot's sums say it does not fit: no basis
            f = f.model_copy(update={"gpu_layers": f.total_layers})
        else:
            layers = max(1, min(f.total_layers - 1, round(ngl / total * f.total_layers)))
            f = f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD, "gpu_layers": layers})
        if cpu_moe and f.verdict != Verdict.CPU_ONLY:
            f = f.model_copy(update={"verdict": Verdict.PARTIAL_OFFLOAD})
        return speed(setup.model, quant, f, rig, catalog,
                     cpu_expert_fraction=min(1.0, cpu_moe / setup.model.layers) if f.verdict != Verdict.CPU_ONLY else 0.0)
    # no catalog model: the row's own size, wholly on a catalog GPU
    if m.size_gib and rig.gpus and not m.on_cpu and not m.n_cpu_moe and (
            m.gpu_layers is None or m.gpu_layers >= ALL_LAYERS or m.gpu_layers < 0):
        gpu = rig.gpus[0][0]
        return speed_from_bandwidth(gpu.bandwidth_gbs, m.size_gib * GIB / GB, gpu.device_class, catalog,
                                    fit_class=gpu_class(gpu))
    return None
