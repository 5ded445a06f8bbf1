"""llama-bench results pasted or attached by a user, in any of its output formats:
markdown (`-o md`, the default; old builds wrote "tg 128" and "llama 7B mostly Q4_0",
new ones "tg128 @ d4096"), CSV (`-o csv`), JSON (`-o json`) and JSON lines (`-o jsonl`).

`cut_llama_bench(text)` returns the text without the table and the rows it held, each a
`BenchRow` (rules/schema.py) with what llama-bench measured and how it was run. The model column is kept as
written; `split_model_type` (rules/parse/ftype.py) reads the quant from it. Never raises on
malformed input: a row that cannot be read is left in the text for the rest of the parser."""

from __future__ import annotations

import csv
import io
import json
import re

from rules.parse.ftype import split_model_type
from rules.schema import GIB, BenchRow


def cut_llama_bench(text: str) -> tuple[str, list[BenchRow]]:
    """(the text without the llama-bench output, its rows); ([], text) when there is none."""
    if "t/s" not in text and "avg_ts" not in text:
        return text, []
    for reader in (_markdown, _csv, _json, _jsonl):
        rest, rows = reader(text)
        if rows:
            return rest, rows
    return text, []


def read_llama_bench(text: str) -> list[BenchRow]:
    return cut_llama_bench(text)[1]


def looks_like_llama_bench(text: str) -> bool:
    return bool(read_llama_bench(text))


# markdown --------------------------------------------------------------------------------
_MD_HEADER = re.compile(r"^\s*\|\s*model\s*\|.*\|\s*t/s\s*\|\s*$", re.MULTILINE | re.IGNORECASE)
_MD_RULE = re.compile(r"^\s*\|[\s:|-]+\|\s*$")
_TS = re.compile(r"^([\d.]+)(?:\s*±\s*([\d.]+))?$")
_TEST = re.compile(r"^(?:pp\s*(\d+))?\+?(?:tg\s*(\d+))?(?:\s*@\s*d(\d+))?$", re.IGNORECASE)
_BUILD = re.compile(r"^\s*build:\s*(\S+)(?:\s*\((\d+)\))?\s*$", re.MULTILINE)
_MD_NAMES = {"ngl": "n_gpu_layers", "threads": "n_threads", "fa": "flash_attn", "nkvo": "no_kv_offload",
             "n_cpu_moe": "n_cpu_moe", "type_k": "type_k", "type_v": "type_v", "backend": "backends"}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _markdown(text: str) -> tuple[str, list[BenchRow]]:
    rows: list[BenchRow] = []
    lines = text.splitlines()
    used: set[int] = set()
    i = 0
    while i < len(lines):
        if not _MD_HEADER.match(lines[i]):
            i += 1
            continue
        header = [h.lower() for h in _cells(lines[i])]
        used.add(i)
        i += 1
        while i < len(lines) and lines[i].strip().startswith("|"):
            if _MD_RULE.match(lines[i]):
                used.add(i)
            elif (row := _markdown_row(header, _cells(lines[i].rstrip().rstrip("|") + "|"))) is not None:
                rows.append(row)
                used.add(i)
            i += 1
    if not rows:
        return text, []
    build = _BUILD.search(text)
    if build:
        rows = [r.model_copy(update={"build": build.group(1)}) for r in rows]
        used |= {n for n, line in enumerate(lines) if _BUILD.match(line)}
    return "\n".join(line for n, line in enumerate(lines) if n not in used), rows


def _markdown_row(header: list[str], cells: list[str]) -> BenchRow | None:
    if len(cells) != len(header):
        return None
    values = dict(zip(header, cells, strict=True))
    ts = _TS.match(values.get("t/s", "").replace(",", ""))
    test = _TEST.match(values.get("test", "").strip())
    if not ts or not test or not (test.group(1) or test.group(2)):
        return None
    fields = {_MD_NAMES.get(k, k): v for k, v in values.items() if k in _MD_NAMES}
    return _row("markdown", values.get("model", ""), {
        **fields,
        "size_gib": _size_gib(values.get("size")),
        "params_b": _params_b(values.get("params")),
        "n_prompt": int(test.group(1) or 0), "n_gen": int(test.group(2) or 0), "n_depth": int(test.group(3) or 0),
        "avg_ts": float(ts.group(1)), "stddev_ts": float(ts.group(2)) if ts.group(2) else None,
    })


def _size_gib(cell: str | None) -> float | None:
    m = re.match(r"^([\d.]+)\s*(GiB|MiB)$", (cell or "").strip())
    if not m:
        return None
    return float(m.group(1)) / (1024 if m.group(2) == "MiB" else 1)


def _params_b(cell: str | None) -> float | None:
    m = re.match(r"^([\d.]+)\s*([BMK])$", (cell or "").strip())
    if not m:
        return None
    return float(m.group(1)) * {"B": 1, "M": 1e-3, "K": 1e-6}[m.group(2)]


# CSV, JSON, JSONL: llama-bench's own field names ---------------------------------------
_CSV_HEADER = re.compile(r"^\s*\"?build_commit\"?,.*avg_ts.*$", re.MULTILINE)


def _csv(text: str) -> tuple[str, list[BenchRow]]:
    header = _CSV_HEADER.search(text)
    if not header:
        return text, []
    start = header.start()
    lines = text[start:].splitlines()
    block = [lines[0]]
    for line in lines[1:]:
        if not line.strip().startswith('"') and not re.match(r"^[\w.-]+,", line.strip()):
            break
        block.append(line)
    try:
        records = list(csv.DictReader(io.StringIO("\n".join(block))))
    except csv.Error:
        return text, []
    rows = [r for r in (_record_row("csv", rec) for rec in records) if r is not None]
    if not rows:
        return text, []
    end = start + len("\n".join(block))
    return text[:start] + text[end:], rows


def _json(text: str) -> tuple[str, list[BenchRow]]:
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        return text, []
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        return text, []
    if not isinstance(data, list):
        return text, []
    rows = [r for r in (_record_row("json", rec) for rec in data if isinstance(rec, dict)) if r is not None]
    return (text[:start] + text[end + 1:], rows) if rows else (text, [])


def _jsonl(text: str) -> tuple[str, list[BenchRow]]:
    rows, kept = [], []
    for line in text.splitlines():
        record = None
        if line.strip().startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
        row = _record_row("jsonl", record) if isinstance(record, dict) else None
        if row is None:
            kept.append(line)
        else:
            rows.append(row)
    return ("\n".join(kept), rows) if rows else (text, [])


def _record_row(fmt: str, rec: dict) -> BenchRow | None:
    if "avg_ts" not in rec or "model_type" not in rec:
        return None
    size = _number(rec.get("model_size"))
    params = _number(rec.get("model_n_params"))
    return _row(fmt, str(rec["model_type"]), {
        **rec,
        "size_gib": size / GIB if size else None,
        "params_b": params / 1e9 if params else None,
        "build": str(rec["build_commit"]) if rec.get("build_commit") else None,
    })


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _flag(value) -> bool | None:
    """llama-bench's booleans: true/false in JSON, 0/1 in CSV and markdown; flash_attn is
    -1 ("auto") in new builds: unknown."""
    if isinstance(value, bool):
        return value
    number = _int(value)
    if number is None or number < 0:
        return None
    return bool(number)


def _text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _row(fmt: str, model_type: str, v: dict) -> BenchRow | None:
    try:
        ts = float(v["avg_ts"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (ts > 0):
        return None
    words, _, quant = split_model_type(model_type)
    return BenchRow(
        format=fmt, model_type=model_type.strip(), model_words=words, quant=quant,
        size_gib=v.get("size_gib"), params_b=v.get("params_b"),
        backend=_text(v.get("backends")), gpu_layers=_int(v.get("n_gpu_layers")),
        n_cpu_moe=_int(v.get("n_cpu_moe")), threads=_int(v.get("n_threads")),
        flash_attn=_flag(v.get("flash_attn")), type_k=_text(v.get("type_k")), type_v=_text(v.get("type_v")),
        no_kv_offload=_flag(v.get("no_kv_offload")),
        n_prompt=_int(v.get("n_prompt")) or 0, n_gen=_int(v.get("n_gen")) or 0, n_depth=_int(v.get("n_depth")) or 0,
        tokens_per_s=ts, stddev=_number(v.get("stddev_ts")),
        model_filename=_text(v.get("model_filename")), cpu_info=_text(v.get("cpu_info")),
        gpu_info=_text(v.get("gpu_info")), build=_text(v.get("build")),
    )
