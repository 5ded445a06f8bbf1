"""Words the per-runtime speed (rules/runtime_speed.py) into an answer: for a question
naming vLLM, SGLang, TensorRT-LLM, ExLlama, MLX, transformers or ktransformers, the
llama.cpp speed sentence is replaced by the runtime's calibrated one, or, where that
runtime has no calibration on the device class, by the ceiling and a sentence saying so.
llama.cpp, Ollama and LM Studio answers are left as they are."""

from __future__ import annotations

import re
import string

from rules.catalog import Catalog
from rules.phrases import say, template, tps
from rules.runtime_speed import MIN_ROWS, MIN_SOURCES, RUNTIMES, RuntimeSpeed, estimate_for
from rules.schema import Query, SizingResult, SpeedInfo


def _starts_with(lang: str, key: str) -> re.Pattern:
    """A line that begins with this phrase, whatever filled its fields."""
    parts = string.Formatter().parse(template(lang, key))
    return re.compile("".join(re.escape(text) + (".*?" if field is not None else "") for text, field, _, _ in parts))


def speed_lines(est: RuntimeSpeed, fmt: str, lang: str) -> list[str]:
    runtime = say(lang, f"runtime_{est.runtime}")
    cal = est.calibration
    device_class = say(lang, f"class_{est.device_class}")
    common = dict(runtime=runtime, device_class=device_class, ceiling=tps(est.ceiling_tps),
                  per_token=est.bytes_per_token / 1e9, fmt=fmt, rows=cal.rows, sources=cal.sources)
    if est.calibrated:
        low, high = est.range_tps
        lines = [say(lang, "rt_speed", expected=tps(est.expected_tps), low=tps(low), high=tps(high), **common)]
        if est.tensor_parallel_uncalibrated:
            lines.append(say(lang, "rt_speed_tp", gpus=est.gpus, runtime=runtime))
    else:
        if cal.held_out_coverage is not None:
            why = say(lang, "rt_why_held_out", rows=cal.rows, coverage=f"{cal.held_out_coverage:.0%}")
        else:
            why = say(lang, "rt_why_few", rows=cal.rows, sources=cal.sources, min_rows=MIN_ROWS,
                      min_sources=MIN_SOURCES)
        lines = [say(lang, "rt_speed_uncalibrated", why=why, **common)]
    if est.users > 1:
        if est.aggregate_tps is not None:
            low, high = est.aggregate_range
            lines.append(say(lang, "rt_users", users=est.users, aggregate=tps(est.aggregate_tps), low=tps(low),
                             high=tps(high), per_user=tps(est.aggregate_tps / est.users),
                             alpha=f"{est.alpha:.2f}", sweeps=est.concurrency.sweeps, runtime=runtime))
        elif est.aggregate_range is not None:
            low, high = est.aggregate_range
            lines.append(say(lang, "rt_users_bounds", users=est.users, low=tps(low), high=tps(high),
                             runtime=runtime))
        else:
            lines.append(say(lang, "rt_users_uncalibrated", users=est.users, high=tps(est.users * est.ceiling_tps)))
    return lines


def speed_info(est: RuntimeSpeed) -> SpeedInfo:
    """The JSON speed: the runtime's estimate, or (uncalibrated) the ceiling with no range
    and `device_class` "uncalibrated:<runtime>/<class>"."""
    cls = f"{est.runtime}/{est.device_class}"
    return SpeedInfo(
        theoretical_max_tokens_per_s=round(est.ceiling_tps, 1),
        expected_tokens_per_s=round(est.expected_tps if est.calibrated else est.ceiling_tps, 1),
        expected_range=[round(x, 1) for x in est.range_tps] if est.calibrated else None,
        measurements=est.calibration.rows,
        device_class=cls if est.calibrated else f"uncalibrated:{cls}",
        bottleneck="gpu_memory_bandwidth",
    )


def with_runtime_speed(result: SizingResult, query: Query, catalog: Catalog) -> SizingResult:
    """`result` with its speed for the runtime it is for; unchanged where there is no speed
    to replace (no GPU, does not fit, a model or file the catalog does not know) and for
    ktransformers, whose sizing bounds the speed by the experts it reads from RAM."""
    runtime = result.runtime
    if (runtime not in RUNTIMES or runtime == "ktransformers" or result.error or result.speed is None or result.model is None
            or result.hardware is None or not result.hardware.gpus):
        return result
    try:
        model = catalog.model(result.model.name)
        gpus = [(catalog.gpu(g.name), g.count) for g in result.hardware.gpus]
    except KeyError:
        return result
    try:
        quant, runtime_bits = catalog.quant(result.model.quant), None
    except KeyError:  # a format the runtime's own sizing chose (MLX_4BIT): its bits per weight
        if not result.model.bits_per_weight:
            return result
        quant, runtime_bits = None, (result.model.quant.replace("_", " ").replace("BIT", "-bit"), result.model.bits_per_weight)
    apple = any(g.vendor == "apple" for g, _ in gpus)
    if (runtime == "mlx") != apple:
        return result  # the answer already says this runtime does not run on this hardware
    users = query.users if query.users and query.users > 1 else 1
    est, fmt = estimate_for(runtime, model, quant, gpus, users=users, runtime_bits=runtime_bits)
    lang = query.lang
    new_lines = speed_lines(est, fmt, lang)
    # llama.cpp's speed sentence, or the runtime sizing's own ceiling-only one (rules/runtime_answers.py)
    replaced = (_starts_with(lang, "speed"), _starts_with(lang, "serve_speed"), _starts_with(lang, "rt_speed_ceiling"))
    lines, placed = [], False
    for line in result.answer.splitlines():
        if any(p.match(line) for p in replaced):
            if not placed:
                lines += new_lines
                placed = True
            continue
        lines.append(line)
    if not placed:
        lines += new_lines
    update: dict = {"speed": speed_info(est), "answer": "\n".join(lines)}
    if result.serving is not None and result.serving.users == users:
        # the runtime's total, or none where its batching is not calibrated (llama.cpp's would mislead)
        total = round(est.aggregate_tps, 1) if est.aggregate_tps is not None else None
        update["serving"] = result.serving.model_copy(update={
            "aggregate_tokens_per_s": total, "per_user_tokens_per_s": round(total / users, 1) if total else None})
    return result.model_copy(update=update)
