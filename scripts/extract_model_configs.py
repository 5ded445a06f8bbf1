"""Turn the published model-config collections RigBot reads into plain JSON inputs under
scripts/model_configs/, so scripts/gen_models_from_configs.py runs offline from data kept
in the repo. Each output file holds {"meta": where it came from, "configs": {key: config}}.

The upstream files are data written as Python (dict literals, keyword calls); they are
read with `ast` (literal values only), never imported, except litgpt's config.py, whose
`configs` list is built in loops and is read by executing that one pinned file.

    python scripts/extract_model_configs.py litgpt  /path/to/litgpt/config.py   (litgpt 0.5.13 wheel)
    python scripts/extract_model_configs.py mlc     /path/to/model_preset.py      --commit SHA
    python scripts/extract_model_configs.py maxtext /path/to/hf_model_configs.py  --commit SHA
    python scripts/extract_model_configs.py genz    /path/to/Model_sets/          --commit SHA
    python scripts/extract_model_configs.py maxtext_yml /path/to/configs/models/   --commit SHA  (the files named below)
    python scripts/extract_model_configs.py torchtune /path/to/torchtune/models/  (torchtune 0.6.1 wheel)
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.util
import json
import operator
from pathlib import Path

OUT = Path(__file__).parent / "model_configs"

SOURCES = {
    "litgpt": {"package": "litgpt==0.5.13 (PyPI)", "path": "litgpt/config.py",
               "what": "litgpt's transcriptions of each model's Hugging Face config.json, each naming its hf_config"},
    "mlc": {"repo": "mlc-ai/mlc-llm", "path": "python/mlc_llm/model/model_preset.py",
            "what": "copies of Hugging Face config.json files (MODEL_PRESETS)"},
    "maxtext": {"repo": "AI-Hypercomputer/maxtext", "path": "src/maxtext/checkpoint_conversion/utils/hf_model_configs.py",
                "what": "copies of Hugging Face config.json files used to convert checkpoints"},
    "maxtext_yml": {"repo": "AI-Hypercomputer/maxtext", "path": "src/maxtext/configs/models/*.yml",
                    "what": "maxtext's model configs (its own key names) for models its HF copies lack"},
    "torchtune": {"package": "torchtune==0.6.1 (PyPI)", "path": "torchtune/models/*/_model_builders.py",
                  "what": "torchtune's model builders: each size's literal arguments (layers, heads, widths, vocab, context)"},
    "genz": {"repo": "abhibambhaniya/GenZ-LLM-Analyzer", "path": "GenZ/Models/Model_sets/*.py",
             "what": "ModelConfig transcriptions, each under a comment naming its Hugging Face config.json URL"},
}

_OPS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub, ast.FloorDiv: operator.floordiv,
        ast.Div: operator.truediv, ast.Pow: operator.pow}


def _value(node: ast.AST):
    """A literal, or simple arithmetic over literals ("128*1024"); ValueError otherwise."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_value(node.left), _value(node.right))
    return ast.literal_eval(node)


def _kwargs(call: ast.Call) -> dict:
    out = {}
    for kw in call.keywords:
        if kw.arg is None:
            continue
        try:
            out[kw.arg] = _value(kw.value)
        except ValueError:
            pass  # a non-literal argument (quality metrics, a function): not a config figure
    return out


def extract_litgpt(path: Path) -> dict:
    spec = importlib.util.spec_from_file_location("litgpt_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    defaults = {f.name: f.default for f in dataclasses.fields(module.Config)
                if f.default is not dataclasses.MISSING and isinstance(f.default, (int, float, str, bool, type(None)))}
    configs = {c["name"]: c for c in module.configs}
    return {"defaults": defaults, "configs": configs}


def extract_mlc(path: Path) -> dict:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id == "MODEL_PRESETS":
            return {"configs": ast.literal_eval(node.value)}
    raise SystemExit(f"{path}: no MODEL_PRESETS")


def extract_maxtext(path: Path) -> dict:
    """`name_dict = {...}` literals and `name_config = transformers.XConfig(key=value, ...)` calls."""
    configs = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Dict):
            try:
                configs[name.removesuffix("_dict")] = ast.literal_eval(value)
            except ValueError:
                continue
        elif isinstance(value, ast.Call) and value.keywords and any(k.arg for k in value.keywords):
            key = name.removesuffix("_config")
            if key not in configs:
                configs[key] = _kwargs(value)
    return {"configs": configs}


def extract_genz(folder: Path) -> dict:
    """ModelConfig(model='org/name', ...) calls, each with the config.json URL its comment names."""
    configs = {}
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ModelConfig"):
                continue
            kwargs = _kwargs(node)
            if "model" not in kwargs:
                continue
            above = [ln.strip() for ln in lines[max(0, node.lineno - 4):node.lineno - 1]]
            url = next((ln.lstrip("# ").strip() for ln in reversed(above) if "huggingface.co" in ln), None)
            configs[kwargs["model"]] = dict(kwargs, _file=path.name, _config_url=url)
    return {"configs": configs}


def extract_torchtune(folder: Path) -> dict:
    """Each public builder (`def llama3_2_vision_11b(...)`) with the literal keyword arguments
    of the component builders it calls ({"llama3_2_vision_decoder": {...}, ...})."""
    configs = {}
    for path in sorted(folder.glob("*/_model_builders.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith(("lora_", "qlora_", "_")):
                continue
            calls = {c.func.id: _kwargs(c) for c in ast.walk(node)
                     if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.keywords}
            if calls:
                configs[node.name] = dict(calls, _file=f"{path.parent.name}/{path.name}")
    return {"configs": configs}


MAXTEXT_YMLS = ("deepseek2-236b", "olmo3-32b", "olmo3-7b")


def extract_maxtext_yml(folder: Path) -> dict:
    import yaml

    return {"configs": {name: yaml.safe_load((folder / f"{name}.yml").read_text(encoding="utf-8"))
                        for name in MAXTEXT_YMLS}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", choices=sorted(SOURCES))
    ap.add_argument("path", type=Path)
    ap.add_argument("--commit", help="the upstream commit the file was read at")
    args = ap.parse_args()
    data = {"litgpt": extract_litgpt, "mlc": extract_mlc, "maxtext": extract_maxtext, "genz": extract_genz,
            "torchtune": extract_torchtune, "maxtext_yml": extract_maxtext_yml}[args.source](args.path)
    meta = dict(SOURCES[args.source])
    if args.commit:
        meta["commit"] = args.commit
    OUT.mkdir(exist_ok=True)
    out = OUT / f"{args.source}.json"
    out.write_text(json.dumps({"meta": meta, **data}, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    print(f"{out}: {len(data['configs'])} configs")


if __name__ == "__main__":
    main()
