"""Turn llmfit's community benchmark files into calibration rows for rules/data/measurements.toml.

llmfit (github.com/AlexsJones/llmfit) collects `llmfit bench --share` results under
llmfit-core/data/community/<hardware>/<time>-<hash>.json. This script reads them from a git
mirror of that repository at one commit and prints one [[group]] per hardware directory (one
contributor = one source), keeping only:
  - runs through llama.cpp (provider "llamacpp"), with a GGUF file name that names a model in
    RigBot's catalog (FILE_MODEL below, checked by hand) and its quant;
  - hardware in DEVICES below (its catalog GPU, bandwidth and device class), and models small
    enough to sit fully in that device's memory (partial offload rows need the -ngl the
    contributor used, which the files do not record).
Sizes and MoE bytes read per token come from RigBot's own tensor sizing (rules/memory.py), as
for the hand-entered rows. llmfit's average includes the prompt in its time (PR 755: 33.7
against the server's own 36.7 t/s), so these rows read a little low.

Usage: .venv/bin/python scripts/gather_llmfit_rows.py /work/.mirror/AlexsJones+llmfit/repo [commit]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

# GGUF file stem (without the quant suffix) -> RigBot catalog model
FILE_MODEL = {
    "Meta-Llama-3.1-8B-Instruct": "Llama 3.1 8B", "Llama-3.2-1B-Instruct": "Llama 3.2 1B",
    "Llama-3.2-3B-Instruct": "Llama 3.2 3B", "Mistral-7B-Instruct-v0.3": "Mistral 7B",
    "Mistral-Nemo-Instruct-2407": "Mistral Nemo 12B", "Mistral-Small-24B-Instruct-2501": "Mistral Small 3 24B",
    "mistralai_Mistral-Small-3.2-24B-Instruct-2506": "Mistral Small 3.2 24B",
    "Qwen2.5-0.5B-Instruct": "Qwen2.5 0.5B", "Qwen2.5-3B-Instruct": "Qwen2.5 3B", "Qwen2.5-7B-Instruct": "Qwen2.5 7B",
    "Qwen2.5-14B-Instruct": "Qwen2.5 14B", "Qwen2.5-32B-Instruct": "Qwen2.5 32B",
    "Qwen2.5-Coder-1.5B-Instruct": "Qwen2.5-Coder 1.5B", "Qwen2.5-Coder-3B-Instruct": "Qwen2.5-Coder 3B",
    "Qwen2.5-Coder-7B-Instruct": "Qwen2.5-Coder 7B", "Qwen2.5-Coder-14B-Instruct": "Qwen2.5-Coder 14B",
    "Qwen2.5-Coder-32B-Instruct": "Qwen2.5-Coder 32B",
    "Qwen_Qwen3-0.6B": "Qwen3 0.6B", "Qwen3-1.7B": "Qwen3 1.7B", "Qwen3-4B": "Qwen3 4B", "Qwen3-8B": "Qwen3 8B",
    "Qwen3-14B": "Qwen3 14B", "Qwen3-32B": "Qwen3 32B",
    "Qwen3-30B-A3B-Instruct-2507": "Qwen3 30B-A3B", "Qwen_Qwen3-30B-A3B-Thinking-2507": "Qwen3 30B-A3B",
    "Qwen3-Coder-30B-A3B-Instruct": "Qwen3 30B-A3B",
    "gpt-oss-20b": "gpt-oss-20b",
    "gemma-2-2b-it": "Gemma 2 2B", "gemma-2-9b-it": "Gemma 2 9B", "gemma-2-27b-it": "Gemma 2 27B",
    "google_gemma-3-270m-it": "Gemma 3 270M", "google_gemma-3-1b-it": "Gemma 3 1B", "gemma-3-4b-it": "Gemma 3 4B",
    "gemma-3-12b-it": "Gemma 3 12B", "gemma-3-27b-it": "Gemma 3 27B",
    "phi-4": "Phi-4", "Phi-3-medium-4k-instruct": "Phi-3 Medium",
    "DeepSeek-R1-Distill-Qwen-1.5B": "DeepSeek-R1-Distill-Qwen 1.5B", "DeepSeek-R1-Distill-Qwen-7B": "DeepSeek-R1-Distill-Qwen 7B",
    "DeepSeek-R1-Distill-Qwen-14B": "DeepSeek-R1-Distill-Qwen 14B", "DeepSeek-R1-Distill-Llama-8B": "DeepSeek-R1-Distill-Llama 8B",
}
QUANT = re.compile(r"[-.](Q\d_K_[SML]|Q\d_0|Q8_0|MXFP4|IQ\d_\w+)(?:-fp16)?\.gguf$", re.IGNORECASE)

# hardware directory -> (device name, GB/s, class, backend, largest model in GB that fits whole, what the PR says)
DEVICES = {
    "amd-radeon-rx-7900-xt": ("Radeon RX 7900 XT", 800, "vulkan_rocm", "vulkan", 19.9,
                              "https://github.com/AlexsJones/llmfit/pull/808: Radeon RX 7900 XT 20GB, llama.cpp Vulkan on RADV, every model -ngl 99, host Core i9-10900X"),
    "apple-m4-pro": ("Apple M4 Pro 24GB", 273, "metal", "metal", 14.0,
                     "Apple M4 Pro 24 GB (273 GB/s), llama.cpp Metal; models up to 14 GB, inside the GPU's share of 24 GB"),
    "nvidia-geforce-gtx-1050-ti": ("GTX 1050 Ti", 112, "cuda_pascal", "cuda", 3.3,
                                   "GTX 1050 Ti 4GB (Pascal, 112 GB/s) in a Xeon E5-2680 v4 host, llama.cpp CUDA; models up to 3.3 GB, whole on the card"),
    "nvidia-geforce-rtx-5070": ("RTX 5070", 672, "cuda", "cuda", 9.5,
                                "https://github.com/AlexsJones/llmfit/pull/787: RTX 5070 12GB (Blackwell, 672 GB/s), llama.cpp CUDA 13.3, host Core i9-13900HK; models up to 9.5 GB, which its auto-fit keeps whole on the card"),
}


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def rows_for(repo: str, commit: str):
    from rules.catalog import default_catalog
    from rules.memory import read_bytes_per_token, weights_bytes
    from rules.speed import moe_layer_count

    catalog = default_catalog()
    files = git(repo, "ls-tree", "-r", "--name-only", commit, "llmfit-core/data/community").split()
    out: dict[str, list[str]] = {}
    for path in sorted(files):
        parts = path.split("/")
        if len(parts) != 5 or not path.endswith(".json") or parts[3] not in DEVICES:
            continue
        device, gbs, _, _, fits_gb, _ = DEVICES[parts[3]]
        data = json.loads(git(repo, "show", f"{commit}:{path}"))
        for r in data["results"]:
            name = r["model"].rsplit("/", 1)[-1]
            m = QUANT.search(name)
            if r.get("provider") != "llamacpp" or not m:
                continue
            stem, quant = name[:m.start()], m.group(1).upper()
            if stem not in FILE_MODEL:
                continue
            model, q = catalog.model(FILE_MODEL[stem]), catalog.quant(quant)
            size = weights_bytes(model, q) / 1e9
            if size > fits_gb:
                continue
            fields = [f'device = "{device}"', f"bandwidth_gbs = {gbs}", f'model = "{model.name}"',
                      f"params_b = {model.params_b}"]
            if model.is_moe:
                read = read_bytes_per_token(model, q) / 1e9
                fields += [f"active_params_b = {model.active_params_b}", f"moe_layers = {moe_layer_count(model)}"]
            fields += [f'quant = "{quant}"', f"size_gb = {size:.2f}"]
            if model.is_moe:
                fields.append(f"read_gb = {read:.3f}")
            fields.append(f"tg = {r['avgTps']}")
            out.setdefault(parts[3], []).append("  { " + ", ".join(fields) + " },  # " + name)
    return out


def main() -> None:
    repo = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else git(repo, "rev-parse", "HEAD").strip()
    for slug, rows in rows_for(repo, commit).items():
        device, _, cls, backend, _, note = DEVICES[slug]
        print("[[group]]")
        print(f'source = "https://github.com/AlexsJones/llmfit/tree/{commit}/llmfit-core/data/community/{slug} '
              f'(llmfit bench --runs 3 average tok/s through llama.cpp server, ctx 4096; {note}; '
              f'rows generated by scripts/gather_llmfit_rows.py)"')
        print(f'backend = "{backend}"')
        print(f'device_class = "{cls}"')
        print('wrapper = "llmfit bench average"  # its average includes the prompt')
        print("rows = [")
        print("\n".join(rows))
        print("]\n")


if __name__ == "__main__":
    main()
