"""Generate rules/data/models_generated.json: the open model catalog, one row per Hugging Face
repository whose config a published collection transcribes (scripts/model_configs/*.json,
made by scripts/extract_model_configs.py). Runs offline:

    .venv/bin/python scripts/gen_models_from_configs.py

Every row's `source` names the collection, its file and commit, and the config key (for the
hand-transcribed pages, hf_pages.json and ollama_gguf.json, the page's address). Figures
are the config's; params_b and active_params_b are computed from them with the sizing's own
tensor model (rules.memory.modelled_params), so a row's size is what RigBot would size.
The vision encoder's parameters (vision_params_b) are computed from the config's
vision_config: its transformer blocks and patch embedding (the projector is not counted).

Architectures the sizing does not model (state-space, hybrid linear attention, encoders,
per-layer embeddings) are left out, as are rows whose shape the collection does not give
whole; models in RigBot's own models.toml are left to it (their HF ids become its aliases).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rules.catalog import ModelSpec, load_catalog  # noqa: E402
from rules.memory import modelled_params, tensor_groups  # noqa: E402

INPUTS = Path(__file__).parent / "model_configs"
OUT = ROOT / "rules" / "data" / "models_generated.json"

# Configs in the mlc and maxtext collections, by key: the HF repository each copies (from
# the config's own _name_or_path, or the name the collection gives it). Keys not listed
# are left out (duplicates of litgpt's rows, architectures not modelled, or no repo known).
MLC_REPOS = {
    "aya-23": "CohereForAI/aya-23-8B",
    "deepseek": "deepseek-ai/deepseek-moe-16b-base",
    "deepseek_v2_lite": "deepseek-ai/DeepSeek-V2-Lite",
    "internlm2_5_7b": "internlm/internlm2_5-7b-chat",
    "internlm2": "internlm/internlm2-chat-7b",
    "minicpm_2b_sft_bf16": "openbmb/MiniCPM-2B-sft-bf16",
    "ministral3_3b_2512": "mistralai/Ministral-3-3B-Reasoning-2512",  # the key's name at mlc-llm @01ced331
    "olmo2_32b": "allenai/OLMo-2-0325-32B",
    "phi-3_5-vision": "microsoft/Phi-3.5-vision-instruct",
    "qwen2": "Qwen/Qwen1.5-1.8B-Chat",
    "phi-3_5": "microsoft/Phi-3.5-mini-instruct",
    "phi-4": "microsoft/Phi-4-mini-instruct",
    "qwen2_0_5b": "Qwen/Qwen2-0.5B-Instruct",
    "qwen2_1_5b": "Qwen/Qwen2-1.5B-Instruct",
    "qwen2_7b": "Qwen/Qwen2-7B-Instruct",
    "qwen2moe": "Qwen/Qwen1.5-MoE-A2.7B",
    "smollm_135m": "HuggingFaceTB/SmolLM-135M",
    "smollm_360m": "HuggingFaceTB/SmolLM-360M",
    "smollm_1_7b": "HuggingFaceTB/SmolLM-1.7B",
    "stablelm-2-zephyr-1_6b": "stabilityai/stablelm-2-zephyr-1_6b",
    "starcoder2": "bigcode/starcoder2-7b",  # 32 layers x 4608, 36 heads: the 7B (15B is 40 x 6144)
    "gemma2_2b-jpn": "google/gemma-2-2b-jpn-it",
    "gpt2": "openai-community/gpt2",
    "gpt2_medium": "openai-community/gpt2-medium",
}
MAXTEXT_REPOS = {
    "qwen3_coder_480b_a35b": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "qwen3_vl_2b": "Qwen/Qwen3-VL-2B-Instruct",
    "qwen3_vl_4b": "Qwen/Qwen3-VL-4B-Instruct",
    "qwen3_vl_30b_a3b": "Qwen/Qwen3-VL-30B-A3B-Instruct",
    "deepseek2_16b": "deepseek-ai/DeepSeek-V2-Lite",
}
# maxtext yml configs kept (its own key names): file stem → repo
# (olmo3-7b from its yml, not the HF copy: that copy lacks the layer pattern and has the pre-YaRN 8192 context)
MAXTEXT_YML_REPOS = {"deepseek2-236b": "deepseek-ai/DeepSeek-V2-Chat", "olmo3-32b": "allenai/Olmo-3-1125-32B",
                     "olmo3-7b": "allenai/Olmo-3-1025-7B"}
# torchtune builders kept (the rest are sizes litgpt already gives): builder → the repo it builds
TORCHTUNE_REPOS = {
    "llama3_2_vision_11b": "meta-llama/Llama-3.2-11B-Vision-Instruct",
    "llama3_2_vision_90b": "meta-llama/Llama-3.2-90B-Vision-Instruct",
}
# GenZ rows kept: gated FFNs (num_ffi 2) whose comment names the repo's config.json. Left
# out besides: Qwen1.5-32B and -110B, whose heads / KV heads there (64/8, 64/64) do not fit
# the GQA layout the Qwen1.5 GGUFs show for those two sizes; not checked further, so dropped
GENZ_SKIP = re.compile(r"Hypothetical|GPT-4|GPT3|palm|e5-|mamba|Jamba|grok|Nemotron-4|Llama-33B|DeepSeek-V3"
                       r"|Qwen1\.5-32B|Qwen1\.5-110B", re.I)

# family, by the repo name (first match wins)
FAMILIES = [
    (r"deepseek-r1-distill-qwen", "deepseek-r1-distill"), (r"deepseek-r1-distill-llama", "deepseek-r1-distill"),
    (r"deepseek-v2", "deepseek-v2"), (r"deepseek-moe", "deepseek-moe"), (r"deepseek-coder", "deepseek-coder"),
    (r"deepseek-math|deepseek-llm|numinamath", "deepseek-llm"), (r"llm4decompile|codefuse-deepseek", "deepseek-coder"),
    (r"z1-coder|blenderllm", "qwen2.5-coder"), (r"sky-t1|light-r1", "qwen2.5"), (r"nxcode-cq", "qwen1.5"), (r"rys-", "qwen2"), (r"dolphin.*-yi-", "yi"),
    (r"qwen3-vl", "qwen3-vl"), (r"qwen2\.5-vl", "qwen2.5-vl"), (r"qwen3-coder", "qwen3-coder"),
    (r"qwen3-.*-a\d+b", "qwen3-moe"), (r"qwen3", "qwen3"), (r"qwq", "qwq"),
    (r"qwen2\.5-coder", "qwen2.5-coder"), (r"qwen2\.5-math", "qwen2.5-math"), (r"qwen2\.5", "qwen2.5"),
    (r"qwen1\.5-moe", "qwen1.5-moe"), (r"qwen1\.5", "qwen1.5"), (r"codeqwen", "qwen1.5"), (r"qwen2", "qwen2"),
    (r"devstral", "devstral"), (r"magistral", "magistral"), (r"codestral", "codestral"), (r"llama-guard", "llama-guard"),
    (r"llamaguard", "llama-guard"), (r"wizardlm-2-8x22b|matter-.*8x22b", "mixtral"), (r"shieldgemma", "gemma2"), (r"pixtral", "pixtral"),
    (r"codellama", "codellama"), (r"llama-3\.2-\d+b-vision", "llama3.2-vision"), (r"nemotron", "llama3"), (r"llama-3|llama3", "llama3"), (r"llama-2|llama2", "llama2"), (r"hermes-2-mixtral", "mixtral"),
    (r"tinyllama", "tinyllama"), (r"open_llama", "openllama"),
    (r"codegemma", "codegemma"), (r"gemma-3-", "gemma3"), (r"gemma-2-", "gemma2"), (r"gemma", "gemma"),
    (r"mixtral", "mixtral"), (r"mathstral", "mistral"), (r"ministral", "ministral"),
    (r"mistral-large", "mistral-large"), (r"mistral-small", "mistral-small"), (r"mistral-nemo", "mistral-nemo"),
    (r"mistral", "mistral"), (r"phi-3\.5-moe", "phi3.5-moe"), (r"phi-3\.5", "phi3.5"), (r"phi-3", "phi3"),
    (r"phi-4", "phi4"), (r"phi", "phi"), (r"falcon3", "falcon3"), (r"falcon", "falcon"),
    (r"olmoe", "olmoe"), (r"olmo", "olmo"), (r"dolphin", "mistral-nemo"), (r"smollm", "smollm"), (r"stablelm|stablecode|stable-code|freewilly", "stablelm"),
    (r"pythia", "pythia"), (r"internlm", "internlm"), (r"aya", "command-r"), (r"command-r", "command-r"),
    (r"granite", "granite"), (r"^yi-", "yi"), (r"exaone", "exaone"), (r"glm", "glm"), (r"dbrx", "dbrx"),
    (r"minicpm", "minicpm"), (r"xverse", "xverse"), (r"skywork", "skywork"), (r"baichuan", "baichuan"), (r"orion", "orion"), (r"starcoder|starchat", "starcoder"), (r"phind-codellama", "codellama"), (r"gpt2", "gpt2"), (r"opt-", "opt"),
    (r"salamandra", "salamandra"), (r"solar", "solar"), (r"vicuna", "llama2"), (r"mythomax", "llama2"),
    (r"openhermes|starling", "mistral"), (r"wizardlm", "llama2"), (r"stheno", "llama3"), (r"l3-70b-euryale", "llama3"), (r"euryale", "llama2"), (r"cydonia", "mistral-small"), (r"platypus", "llama2"), (r"zephyr", "mistral"), (r"tulu-2", "llama2"), (r"deepscaler", "deepseek-r1-distill"), (r"micro", "llama"),
    (r"^apollo-\d", "gemma"), (r"neural-chat|openchat", "mistral"), (r"capybara|hermes-2-yi", "yi"), (r"judgelm", "llama"),
]

# Ollama library names (https://ollama.com/library/<name>/tags) for repos whose model the
# library carries under a family:size tag; the tag is `<name>:<size>` as the library spells it.
OLLAMA = [
    (r"^Qwen2\.5-Coder-([\d.]+B)-Instruct$", "qwen2.5-coder:{}"), (r"^Qwen2\.5-([\d.]+B)-Instruct$", "qwen2.5:{}"),
    (r"^Qwen3-Coder-(30B-A3B|480B-A35B)-Instruct$", "qwen3-coder:{}"), (r"^Qwen3-VL-([\dA-]+B)-Instruct$", "qwen3-vl:{}"),
    (r"^Qwen2\.5-VL-([\d.]+B)-Instruct$", "qwen2.5vl:{}"), (r"^Llama-3\.2-(\d+B)-Vision-Instruct$", "llama3.2-vision:{}"), (r"^Qwen3-([\d.]+B|30B-A3B|235B-A22B)$", "qwen3:{}"),
    (r"^Qwen2-([\d.]+B)-Instruct$", "qwen2:{}"), (r"^Qwen1\.5-([\d.]+B)-Chat$", "qwen:{}"), (r"^WizardLM-70B-V1\.0$", "wizardlm:70b"), (r"^CodeQwen1\.5-7B-Chat$", "codeqwen:7b"), (r"^deepseek-coder-1\.3b-instruct$", "deepseek-coder:1.3b"),
    (r"^granite-3\.1-(\d+b)-instruct$", "granite3.1-dense:{}"), (r"^granite-3\.2-(\d+b)-instruct$", "granite3.2:{}"),
    (r"^granite-3\.0-(\d+b)-instruct$", "granite3-dense:{}"), (r"^Yi-1\.5-9B-Chat$", "yi:9b"), (r"^QwQ-32B$", "qwq:32b"), (r"^Llama-3\.1-Tulu-3-8B$", "tulu3:8b"), (r"^DeepScaleR-1\.5B-Preview$", "deepscaler:1.5b"),
    (r"^Qwen2-Math-([\d.]+B)-Instruct$", "qwen2-math:{}"),  # the library's qwen2-math is Qwen2-Math, not Qwen2.5-Math
    (r"^gemma-2-(\d+b)-it$", "gemma2:{}"), (r"^gemma-(\d+b)-it$", "gemma:{}"), (r"^codegemma-(\d+b)-it$", "codegemma:{}"),
    (r"^CodeLlama-(\d+b)-Instruct-hf$", "codellama:{}"), (r"^Phi-3\.5-mini-instruct$", "phi3.5:3.8b"),
    (r"^Phi-3\.5-MoE-instruct$", "phi3.5-moe"), (r"^Phi-4-mini-instruct$", "phi4-mini:3.8b"),
    (r"^Phi-4-reasoning$", "phi4-reasoning:14b"), (r"^Phi-4-mini-reasoning$", "phi4-mini-reasoning:3.8b"),
    (r"^Phi-3-small-128k-instruct$", "phi3:small"), (r"^Mixtral-8x(\d+B)-Instruct-v0\.1$", "mixtral:8x{}"),
    (r"^Mistral-Large-Instruct-2407$", "mistral-large:123b"), (r"^Mistral-Small-Instruct-2409$", "mistral-small:22b"),
    (r"^Falcon3-(\d+B)-Instruct$", "falcon3:{}"), (r"^falcon-(\d+b)-instruct$", "falcon:{}"), (r"^falcon-180B-chat$", "falcon:180b"),
    (r"^OLMo-2-1124-(\d+B)-Instruct$", "olmo2:{}"), (r"^SmolLM2-([\d.]+[MB])-Instruct$", "smollm2:{}"),
    (r"^SmolLM-([\d.]+[MB])$", "smollm:{}"), (r"^tiny-llama|^TinyLlama-1\.1B-Chat", "tinyllama:1.1b"),
    (r"^internlm2_5-7b-chat$", "internlm2:7b"), (r"^internlm2_5-1_8b-chat$", "internlm2:1.8b"), (r"^deepseek-llm-(\d+b)-chat$", "deepseek-llm:{}"),
    (r"^aya-23-8B$", "aya:8b"), (r"^glm-4-9b-chat$", "glm4:9b"),
    (r"^dbrx-instruct$", "dbrx:132b"), (r"^deepseek-moe-16b", None), (r"^DeepSeek-V2-Lite$", "deepseek-v2:16b"), (r"^DeepSeek-V2-Chat$", "deepseek-v2:236b"),
    (r"^starcoder2-(\d+b)$", "starcoder2:{}"), (r"^Ministral-8B-Instruct-2410$", None),
    (r"^stablelm-2-zephyr-1_6b$", "stablelm2:1.6b"), (r"^Mistral-NeMo-Minitron-8B-Base$", None),
    (r"^MiniCPM-2B", "minicpm:2b"), (r"^Llama-3\.1-Nemotron-70B-Instruct-HF$", "nemotron:70b"),
    (r"^stable-code-3b$", "stable-code:3b"), (r"^Mathstral-7B-v0\.1$", "mathstral:7b"),
    (r"^zephyr-7b-beta$", "zephyr:7b"), (r"^Qwen1\.5-MoE-A2\.7B$", None),
    (r"^c4ai-command-r-08-2024$", "command-r:35b"), (r"^c4ai-command-r-plus-08-2024$", "command-r-plus:104b"),
    (r"^c4ai-command-r7b-12-2024$", "command-r7b:7b"), (r"^aya-expanse-32b$", "aya-expanse:32b"),
    (r"^granite-3\.0-3b-a800m-instruct$", "granite3-moe:3b"), (r"^Yi-34B-Chat$", "yi:34b"), (r"^Codestral-22B-v0\.1$", "codestral:22b"), (r"^Magistral-Small-2506$", "magistral:24b"),
    (r"^deepseek-coder-6\.7b-instruct$", "deepseek-coder:6.7b"), (r"^OLMoE-1B-7B-0924-Instruct$", "olmoe:1b-7b"),
    (r"^internlm2_5-20b-chat$", "internlm2:20b"), (r"^SOLAR-10\.7B-Instruct-v1\.0$", "solar:10.7b"), (r"^vicuna-13b-v1\.5$", "vicuna:13b"),
    (r"^OpenHermes-2\.5-Mistral-7B$", "openhermes:7b-mistral-v2.5"), (r"^Starling-LM-7B-alpha$", "starling-lm:7b-alpha"),
    (r"^Hermes-3-Llama-3\.1-(\d+B)$", "hermes3:{}"),
    (r"^Llama-Guard-3-1B$", "llama-guard3:1b"), (r"^Dolphin3\.0-Llama3\.1-8B$", "dolphin3:8b"),
    (r"^WizardLM-2-8x22B$", "wizardlm2:8x22b"), (r"^Mistral-7B-OpenOrca$", "mistral-openorca:7b"),
    (r"^shieldgemma-(\d+b)$", "shieldgemma:{}"), (r"^codegemma-2b$", "codegemma:2b"), (r"^vicuna-33b-v1\.3$", "vicuna:33b"),
    (r"^EXAONE-3\.5-([\d.]+B)-Instruct$", "exaone3.5:{}"), (r"^EXAONE-Deep-([\d.]+B)$", "exaone-deep:{}"),
    (r"^Yi-Coder-([\d.]+B)-Chat$", "yi-coder:{}"), (r"^granite-3\.0-1b-a400m-instruct$", "granite3-moe:1b"),
]


def _source_label(meta: dict) -> str:
    if "package" in meta:
        return f"{meta['package']} {meta['path']}"
    return f"{meta['repo']} {meta['path']} @{meta.get('commit', '?')[:8]}"


def _family(repo_name: str) -> str:
    low = repo_name.lower()
    return next((fam for pattern, fam in FAMILIES if re.search(pattern, low)), "other")


def _ollama(repo_name: str) -> list[str]:
    for pattern, tag in OLLAMA:
        m = re.match(pattern, repo_name, re.I)
        if m:
            if tag is None:
                return []
            return [tag.format(*(g.lower() for g in m.groups())).lower()]
    return []


def _swa(indices: list[int] | None, window: int | None) -> tuple[int | None, int | None]:
    """litgpt's per-layer sliding-window flags (1 = local) as (window, every n-th layer global),
    or (None, None) when the flags do not follow that pattern (then every layer is sized global)."""
    if not window or not indices:
        return None, None
    for p in range(2, 9):
        if all(bool(f) == (i % p < p - 1) for i, f in enumerate(indices)):
            return window, p
    return None, None


def _vision_params(v: dict) -> float:
    """A ViT's parameters from its vision_config: blocks (q, k, v, o and a 2- or 3-matrix MLP)
    and the patch embedding (3 colour channels x patch area x temporal patch x width)."""
    depth = v.get("depth") or v.get("num_hidden_layers")
    width = v.get("hidden_size") or v.get("embed_dim")
    ffn = v.get("intermediate_size")
    gated = v.get("gated_mlp", v.get("hidden_act") == "silu")
    patch, temporal = v.get("patch_size", 14), v.get("temporal_patch_size", 1)
    blocks = depth * (4 * width * width + (3 if gated else 2) * width * ffn)
    return (blocks + 3 * patch * patch * temporal * width) / 1e9


# litgpt rows whose transcription is wrong where the repo's own config is known: left out
LITGPT_WRONG = {"Platypus2-70B": "n_query_groups missing (64 KV heads): a Llama 2 70B fine-tune has 8"}


def from_litgpt(key: str, c: dict, defaults: dict) -> dict | None:
    """litgpt's defaults stand in for what an entry leaves out (MHA when n_query_groups is
    unset, as litgpt builds it), except the context: an entry without block_size gives none."""
    if key in LITGPT_WRONG:
        return None
    get = lambda k: c.get(k, defaults.get(k))  # noqa: E731
    mlp = get("mlp_class_name")
    n_embd, n_head = get("n_embd"), get("n_head")
    head = get("head_size") or n_embd // n_head
    shape = dict(
        repo=f"{c['hf_config']['org']}/{c['hf_config']['name']}",
        layers=get("n_layer"), hidden_size=n_embd, heads=n_head, kv_heads=get("n_query_groups") or n_head,
        head_dim=head if head * n_head != n_embd else None,
        vocab_size=c.get("padded_vocab_size") or c.get("vocab_size"), native_context=c.get("block_size"),
        gated_ffn=mlp != "GptNeoxMLP", tied=True if mlp == "GemmaMLP" else None,
    )
    if mlp == "LLaMAMoE":
        shape.update(experts=c["n_expert"], experts_active=c["n_expert_per_token"],
                     moe_intermediate_size=c.get("moe_intermediate_size") or c["intermediate_size"])
    else:
        shape["intermediate_size"] = c.get("intermediate_size") or 4 * n_embd
    shape["sliding_window"], shape["swa_pattern"] = _swa(c.get("sliding_window_indices"), c.get("sliding_window_size"))
    return shape


# Config keys some model types spell their own way, mapped to the names read below: EXAONE 3.x
# (num_layers), Baichuan (model_max_length, its ALiBi context), the first Granite Code configs
# (GPT-BigCode's n_* names), XVERSE-MoE (moe_top_k, num_shared_experts) and ChatGLM 2/3 and GLM-4-9B's chatglm configs (ffn_hidden_size, the KV groups
# in multi_query_group_num, padded_vocab_size, seq_length, kv_channels as the head width)
KEY_ALIASES = {
    "exaone": {"num_layers": "num_hidden_layers"},
    "baichuan": {"model_max_length": "max_position_embeddings"},
    "granite": {"n_layer": "num_hidden_layers", "n_embd": "hidden_size", "n_head": "num_attention_heads",
                "n_inner": "intermediate_size", "n_positions": "max_position_embeddings"},  # the first Granite Code configs
    "xverse": {"moe_top_k": "num_experts_per_tok", "num_shared_experts": "n_shared_experts"},  # XVERSE-MoE's names
    "chatglm": {"num_layers": "num_hidden_layers", "ffn_hidden_size": "intermediate_size",
                "multi_query_group_num": "num_key_value_heads", "padded_vocab_size": "vocab_size",
                "seq_length": "max_position_embeddings", "kv_channels": "head_dim"},
}


def _swa_string(pattern: str) -> int | None:
    """EXAONE 4's sliding_window_pattern ("LLLG": three local layers, then a global one) as
    the every-n-th-layer-global number, or None for any other spelling."""
    return len(pattern) if re.fullmatch(r"L+G", pattern) else None


def from_hf(key: str, c: dict, repo: str) -> dict | None:
    """A Hugging Face config.json (or its text_config, for vision-language models)."""
    t = dict(c.get("text_config") or {})
    t = {**{k: v for k, v in c.items() if k not in ("text_config", "vision_config")}, **t}
    for theirs, ours in KEY_ALIASES.get(t.get("model_type", ""), {}).items():
        if theirs in t and ours not in t:
            t[ours] = t[theirs]
    if t.get("num_hidden_layers") is None or t.get("hidden_size") is None:
        return None
    heads = t["num_attention_heads"]
    head = t.get("head_dim") or t["hidden_size"] // heads
    shape = dict(
        repo=repo, layers=t["num_hidden_layers"], hidden_size=t["hidden_size"], heads=heads,
        kv_heads=t.get("num_key_value_heads") or heads,
        head_dim=head if head * heads != t["hidden_size"] else None,
        vocab_size=t.get("vocab_size"), native_context=t.get("max_position_embeddings"),
        tied=t.get("tie_word_embeddings", c.get("tie_word_embeddings")),
        gated_ffn=t.get("model_type") not in ("gpt2", "starcoder2") and "GPT2" not in str(t.get("architectures")),
    )
    if t.get("model_type") == "gpt2":
        shape.update(layers=t["n_layer"], hidden_size=t["n_embd"], heads=t["n_head"], kv_heads=t["n_head"],
                     native_context=t["n_positions"], intermediate_size=4 * t["n_embd"], tied=True)
        return shape
    experts = t.get("num_experts") or t.get("n_routed_experts") or t.get("num_local_experts")
    if experts:
        moe_ff = t.get("moe_intermediate_size") or t.get("intermediate_size")
        shared = t.get("n_shared_experts") or 0
        if t.get("shared_expert_intermediate_size"):
            shared = t["shared_expert_intermediate_size"] // moe_ff
        shape.update(experts=experts, experts_active=t["num_experts_per_tok"], moe_intermediate_size=moe_ff,
                     shared_experts=shared, dense_layers=t.get("first_k_dense_replace") or 0)
        if shape["dense_layers"]:
            shape["intermediate_size"] = t["intermediate_size"]
    else:
        shape["intermediate_size"] = t.get("intermediate_size")
    if t.get("kv_lora_rank"):
        shape.update(kv_lora_rank=t["kv_lora_rank"], qk_rope_head_dim=t["qk_rope_head_dim"],
                     qk_nope_head_dim=t["qk_nope_head_dim"], v_head_dim=t["v_head_dim"],
                     q_lora_rank=t.get("q_lora_rank"), head_dim=None)
    if t.get("sliding_window") and isinstance(t.get("layer_types"), list):
        local = [kind == "sliding_attention" for kind in t["layer_types"]]
        shape["sliding_window"], shape["swa_pattern"] = _swa([int(x) for x in local], t["sliding_window"])
    elif t.get("sliding_window") and isinstance(t.get("sliding_window_pattern"), int):
        shape["sliding_window"], shape["swa_pattern"] = t["sliding_window"], t["sliding_window_pattern"]
    elif t.get("sliding_window") and isinstance(t.get("sliding_window_pattern"), str):
        if (every := _swa_string(t["sliding_window_pattern"])) is not None:
            shape["sliding_window"], shape["swa_pattern"] = t["sliding_window"], every
    if c.get("vision_config"):
        shape["vision_params_b"] = round(_vision_params(c["vision_config"]), 3)
    if t.get("model_type", "").startswith("gemma"):
        shape["tied"] = True
    elif t.get("model_type") in ("cohere", "cohere2") and shape["tied"] is None:
        shape["tied"] = True  # transformers' CohereConfig and Cohere2Config default tie_word_embeddings to True
    return shape


def from_gguf(key: str, c: dict) -> dict | None:
    """The GGUF metadata a model page prints (`<arch>.block_count` and so on), for the
    repository the page's model was converted from. In MoE GGUFs (granitemoe) the
    feed_forward_length is the expert's width. The page lists tensors after the metadata and
    the excerpt stops before output.weight, so whether the embeddings are tied is not known."""
    arch = c["general.architecture"]
    get = lambda k: c.get(f"{arch}.{k}")  # noqa: E731
    heads = get("attention.head_count")
    shape = dict(repo=c["_repo"], layers=get("block_count"), hidden_size=get("embedding_length"), heads=heads,
                 kv_heads=get("attention.head_count_kv") or heads, vocab_size=get("vocab_size"),
                 native_context=get("context_length"), tied=None, gated_ffn=True)
    head = get("attention.key_length")
    shape["head_dim"] = head if head and head * heads != shape["hidden_size"] else None
    if get("expert_count"):
        shape.update(experts=get("expert_count"), experts_active=get("expert_used_count"),
                     moe_intermediate_size=get("expert_feed_forward_length") or get("feed_forward_length"),
                     shared_experts=0, dense_layers=0)
    else:
        shape["intermediate_size"] = get("feed_forward_length")
    return shape


def from_maxtext_yml(key: str, c: dict, repo: str) -> dict:
    shape = dict(repo=repo, layers=c["base_num_decoder_layers"], hidden_size=c["base_emb_dim"],
                 heads=c["base_num_query_heads"], kv_heads=c["base_num_kv_heads"], vocab_size=c["vocab_size"],
                 native_context=c.get("max_position_embeddings"), tied=bool(c.get("logits_via_embedding")), gated_ffn=True,
                 head_dim=c.get("head_dim") if c.get("head_dim", 0) * c["base_num_query_heads"] != c["base_emb_dim"] else None,
                 intermediate_size=c["base_mlp_dim"])
    if c.get("num_experts"):
        shape.update(experts=c["num_experts"], experts_active=c["num_experts_per_tok"],
                     moe_intermediate_size=c["base_moe_mlp_dim"], shared_experts=c.get("shared_experts", 0),
                     dense_layers=c.get("first_num_dense_layers", 0))
    if c.get("attention_type") == "mla":
        shape.update(q_lora_rank=c["q_lora_rank"], kv_lora_rank=c["kv_lora_rank"], qk_rope_head_dim=c["qk_rope_head_dim"],
                     qk_nope_head_dim=c["qk_nope_head_dim"], v_head_dim=c["v_head_dim"], head_dim=None)
    if c.get("sliding_window_size") and c.get("inhomogeneous_layer_cycle_interval"):
        shape.update(sliding_window=c["sliding_window_size"], swa_pattern=c["inhomogeneous_layer_cycle_interval"])
    return shape


def from_torchtune(key: str, c: dict, repo: str) -> dict | None:
    """A Llama 3.2 Vision builder: the text decoder gains a cross-attention layer every
    `fusion_interval` layers (HF counts them in num_hidden_layers: 40 for 11B); they are sized
    as full layers, which overstates the KV cache a little (theirs holds image tokens only).
    The CLIP encoder: clip_num_layers + num_layers_projection blocks of clip_embed_dim with
    torchtune's 4 x width GELU MLP."""
    d, e = c["llama3_2_vision_decoder"], c["llama3_2_vision_encoder"]
    layers = d["num_layers"] + d["num_layers"] // d["fusion_interval"]
    width = e["clip_embed_dim"]
    vision = {"depth": e["clip_num_layers"] + e["num_layers_projection"], "hidden_size": width,
              "intermediate_size": 4 * width, "gated_mlp": False, "patch_size": e["patch_size"]}
    return dict(repo=repo, layers=layers, hidden_size=d["embed_dim"], heads=d["num_heads"], kv_heads=d["num_kv_heads"],
                intermediate_size=d["intermediate_dim"], vocab_size=d["vocab_size"], native_context=d["max_seq_len"],
                tied=False, gated_ffn=True, vision_params_b=round(_vision_params(vision), 3))


def from_genz(key: str, c: dict) -> dict | None:
    if GENZ_SKIP.search(key) or c.get("num_ffi") != 2 or not c.get("_config_url"):
        return None
    if "num_key_value_heads" not in c:
        # GenZ's default then is MHA, which is wrong for some (Qwen1.5-32B and 110B use 8 KV heads)
        LEFT_OUT.append(f"GenZ {key}: num_key_value_heads not given")
        return None
    m = re.search(r"huggingface\.co/([^/]+/[^/]+)/blob/main/config\.json", c["_config_url"])
    if not m:
        return None
    heads = c.get("num_attention_heads", 32)
    head = c.get("head_dim") or c["hidden_size"] // heads
    shape = dict(repo=m.group(1), layers=c["num_decoder_layers"], hidden_size=c["hidden_size"], heads=heads,
                 kv_heads=c.get("num_key_value_heads") or heads, head_dim=head if head * heads != c["hidden_size"] else None,
                 vocab_size=c.get("vocab_size"), native_context=c.get("max_model_len"), tied=None, gated_ffn=True)
    if c.get("num_experts", 1) > 1:
        moe_ff = c.get("moe_intermediate_size") or c["intermediate_size"]
        shape.update(experts=c["num_experts"], experts_active=c["expert_top_k"], moe_intermediate_size=moe_ff,
                     shared_experts=c.get("n_shared_experts") or 0, dense_layers=c.get("first_k_dense_replace") or 0)
        if shape["dense_layers"]:
            shape["intermediate_size"] = c["intermediate_size"]
    else:
        shape["intermediate_size"] = c["intermediate_size"]
    return shape


# Spellings people use for a repo that its name does not give (release names, sizes).
SPELLINGS = {
    "Mistral-Large-Instruct-2407": ["mistral large 2", "mistral-large-2407", "mistral large 123b"],
    "Mistral-Large-Instruct-2411": ["mistral large 2.1", "mistral-large-2411"],
    "Mistral-Small-Instruct-2409": ["mistral small 22b", "mistral-small-2409", "mistral small 2409"],
    "Ministral-8B-Instruct-2410": ["ministral 8b", "ministral-8b"],
    "Ministral-3-3B-Reasoning-2512": ["ministral 3 3b", "ministral-3-3b"],
    "OLMo-2-1124-7B": ["olmo 2 7b", "olmo2 7b"], "OLMo-2-1124-13B": ["olmo 2 13b", "olmo2 13b"],
    "OLMo-2-0325-32B": ["olmo 2 32b", "olmo2 32b"], "Olmo-3-1025-7B": ["olmo 3 7b", "olmo3 7b"],
    "Qwen3-Coder-480B-A35B-Instruct": ["qwen3 coder 480b", "qwen3-coder-480b"],
    "Phi-3.5-MoE-instruct": ["phi 3.5 moe", "phi-3.5-moe"], "Phi-3-small-128k-instruct": ["phi 3 small", "phi-3-small"],
    "internlm2_5-7b-chat": ["internlm 2.5 7b", "internlm2.5 7b"], "internlm2-chat-7b": ["internlm2 7b", "internlm 2 7b"],
    "DeepSeek-V2-Lite": ["deepseek v2 lite", "deepseek-v2-lite 16b"],
    "DeepSeek-V2-Chat": ["deepseek v2 236b", "deepseek-v2 236b", "deepseek v2 chat"],
    "Olmo-3-1125-32B": ["olmo 3 32b", "olmo3 32b"],
    "Llama-3.2-11B-Vision-Instruct": ["llama 3.2 vision 11b", "llama 3.2 11b vision", "llama3.2 vision 11b"],
    "Llama-3.2-90B-Vision-Instruct": ["llama 3.2 vision 90b", "llama 3.2 90b vision", "llama3.2 vision 90b"],
    "c4ai-command-r-v01": ["command r v01", "command-r v01"],
    "c4ai-command-r-08-2024": ["command-r-08-2024"],
    "c4ai-command-r-plus": ["command r plus v01", "command-r-plus v01"],
    "c4ai-command-r-plus-08-2024": ["command r plus 104b", "command-r-plus 104b", "command r+ 104b",
                                    "command r plus 08-2024"],
    "c4ai-command-r7b-12-2024": ["command r7b", "command-r7b"],
    "aya-expanse-32b": ["aya expanse 32b"],
    "granite-3.0-3b-a800m-instruct": ["granite 3.0 3b a800m", "granite 3 moe 3b", "granite3 moe 3b"],
    "Yi-1.5-6B-Chat": ["yi 1.5 6b", "yi-1.5 6b", "yi 1.5 6b chat"],
    "gemma-7b": ["gemma 7b", "gemma 1 7b"], "gemma-2b": ["gemma 2b", "gemma 1 2b"],
    "Hermes-3-Llama-3.1-8B": ["hermes 3 8b", "hermes 3 llama 3.1 8b"], "Meta-Llama-Guard-2-8B": ["llama guard 2 8b", "llama guard 2"],
    "Codestral-22B-v0.1": ["codestral 22b", "codestral 22b v0.1"], "Qwen2-72B": ["qwen2 72b base"],
    "OLMoE-1B-7B-0924-Instruct": ["olmoe-1b-7b instruct"],
    "deepseek-coder-6.7b-base": ["deepseek coder 6.7b base"], "deepseek-coder-6.7b-instruct": ["deepseek coder 6.7b"],
    "dolphin-2.9.3-mistral-nemo-12b": ["dolphin 2.9.3 mistral nemo", "dolphin mistral nemo 12b"],
    "internlm2_5-20b": ["internlm 2.5 20b base", "internlm2.5 20b base"], "internlm2_5-20b-chat": ["internlm 2.5 20b", "internlm2.5 20b"],
    "internlm-20b": ["internlm 20b"], "SOLAR-10.7B-Instruct-v1.0": ["solar 10.7b", "solar 10.7b instruct"],
    "vicuna-13b-v1.5": ["vicuna 13b v1.5", "vicuna 13b"], "vicuna-13b-v1.3": ["vicuna 13b v1.3"],
    "MythoMax-L2-13b": ["mythomax 13b", "mythomax l2 13b", "mythomax"], "OpenHermes-2.5-Mistral-7B": ["openhermes 2.5", "openhermes 2.5 mistral 7b"],
    "Starling-LM-7B-alpha": ["starling lm 7b alpha", "starling 7b alpha"],
    "Nous-Hermes-2-Mixtral-8x7B-DPO": ["nous hermes 2 mixtral", "nous hermes 2 mixtral 8x7b"],
    "Nous-Hermes-llama-2-7b": ["nous hermes llama 2 7b", "nous hermes 7b"], "dolphin-2.9-llama3-8b": ["dolphin 2.9 llama3 8b", "dolphin llama3 8b"],
    "Qwen2-7B": ["qwen2 7b base"], "WizardLM-70B-V1.0": ["wizardlm 70b"], "WizardLM-7B-V1.0": ["wizardlm 7b"],
    "CodeQwen1.5-7B-Chat": ["codeqwen 1.5 7b", "codeqwen1.5 7b", "codeqwen 7b"], "L3-8B-Stheno-v3.2": ["stheno v3.2", "stheno 3.2 8b"],
    "L3-8B-Stheno-v3.3-32K": ["stheno v3.3", "stheno 3.3 8b"],
    "Llama-3.1-Tulu-3-8B": ["tulu 3 8b", "tulu3 8b", "llama 3.1 tulu 3 8b"], "tulu-2-7b": ["tulu 2 7b", "tulu2 7b"], "tulu-2-70b": ["tulu 2 70b", "tulu2 70b"],
    "DeepScaleR-1.5B-Preview": ["deepscaler 1.5b", "deepscaler"],
    "starcoder2-15b": ["starcoder2 15b", "starcoder 2 15b"], "starchat2-15b-sft-v0.1": ["starchat2 15b"],
    "deepseek-coder-1.3b-instruct": ["deepseek coder 1.3b"], "Phind-CodeLlama-34B-v2": ["phind codellama 34b", "phind codellama 34b v2"],
    "Yi-1.5-9B-Chat": ["yi 1.5 9b", "yi-1.5 9b"], "Starling-LM-7B-beta": ["starling 7b beta"],
    "granite-3.1-8b-instruct": ["granite 3.1 8b"], "granite-3.0-2b-instruct": ["granite 3.0 2b"], "granite-3.1-2b-instruct": ["granite 3.1 2b"],
    "granite-3.2-2b-instruct": ["granite 3.2 2b"], "granite-3.2-8b-instruct": ["granite 3.2 8b"],
    "Hermes-3-Llama-3.1-70B": ["hermes 3 70b", "hermes 3 llama 3.1 70b"], "Hermes-2-Pro-Llama-3-70B": ["hermes 2 pro 70b", "hermes 2 pro llama 3 70b"],
    "L3-70B-Euryale-v2.1": ["euryale 2.1 70b", "euryale v2.1"], "Euryale-1.3-L2-70B": ["euryale 1.3 70b"],
    "Cydonia-22B-v1.2": ["cydonia 22b v1.2", "cydonia v1.2"], "Cydonia-22B-v1.1": ["cydonia 22b v1.1", "cydonia v1.1"],
    "Yi-34B": ["yi 34b"], "Yi-34B-200K": ["yi 34b 200k"], "Yi-34B-Chat": ["yi 34b chat"],
    "internlm3-8b-instruct": ["internlm3 8b", "internlm 3 8b", "internlm3 8b instruct"],
    "EXAONE-3.5-32B-Instruct": ["exaone 3.5 32b", "exaone3.5 32b"], "EXAONE-Deep-32B": ["exaone deep 32b"],
    "deepseek-coder-33b-base": ["deepseek coder 33b base", "deepseek coder 33b"],
    "Yi-Coder-9B-Chat": ["yi coder 9b", "yi-coder 9b chat"],
    "granite-3.0-1b-a400m-instruct": ["granite 3.0 1b a400m", "granite 3 moe 1b", "granite3 moe 1b"],
    "SmolLM-360M-Instruct": ["smollm 360m instruct"],
    "internlm2-7b": ["internlm2 7b base"], "internlm2-base-7b": ["internlm2 base 7b"], "internlm2-20b": ["internlm2 20b base"],
    "internlm2-wqx-20b": ["internlm2 wqx 20b"], "Baichuan-13B-Chat": ["baichuan 13b", "baichuan 13b chat"],
    "Baichuan2-13B-Chat": ["baichuan2 13b", "baichuan 2 13b", "baichuan2 13b chat"],
    "Orion-14B-Chat": ["orion 14b", "orion 14b chat"], "Yi-1.5-34B-Chat": ["yi 1.5 34b", "yi-1.5 34b"],
    "Yi-1.5-34B": ["yi 1.5 34b base"], "glm-edge-1.5b-chat": ["glm edge 1.5b", "glm-edge 1.5b"],
    "glm-edge-v-5b": ["glm edge v 5b", "glm-edge-v 5b"], "granite-7b-base": ["granite 7b base", "granite 7b"],
    "chatglm3-6b": ["chatglm3", "chatglm 3 6b", "chatglm3 6b chat"], "chatglm3-6b-base": ["chatglm 3 6b base"],
    "glm-4-9b-chat-1m": ["glm 4 9b chat 1m", "glm4 9b 1m", "glm-4 9b 1m"],
    "Qwen2-57B-A14B": ["qwen2 57b", "qwen2 57b a14b", "qwen2 moe 57b"], "Sky-T1-32B-Preview": ["sky-t1", "sky t1 32b"],
    "internlm2-chat-1_8b": ["internlm2 1.8b", "internlm2 chat 1.8b"], "internlm2_5-1_8b-chat": ["internlm2.5 1.8b", "internlm 2.5 1.8b"],
    "internlm2-math-base-7b": ["internlm2 math 7b"], "internlm2-math-plus-1_8b": ["internlm2 math plus 1.8b"],
    "internlm2-chat-7b-sft": ["internlm2 chat 7b sft"],
    "deepseek-llm-7b-chat": ["deepseek llm 7b", "deepseek llm 7b chat"], "deepseek-llm-7b-base": ["deepseek llm 7b base"],
    "deepseek-math-7b-instruct": ["deepseek math 7b instruct"], "deepseek-math-7b-rl": ["deepseek math 7b rl"],
    "NuminaMath-7B-TIR": ["numinamath 7b", "numinamath 7b tir"], "NuminaMath-7B-CoT": ["numinamath 7b cot"],
    "Baichuan2-7B-Chat": ["baichuan2 7b", "baichuan 2 7b", "baichuan2 7b chat"], "Baichuan2-7B-Base": ["baichuan2 7b base"],
    "MiniCPM-2B-dpo-bf16": ["minicpm 2b dpo"], "BlenderLLM": ["blenderllm", "blender llm"],
    "dolphin-2.9.1-yi-1.5-9b": ["dolphin 2.9.1 yi 1.5 9b", "dolphin yi 1.5 9b"], "Yi-1.5-9B": ["yi 1.5 9b base"],
    "Skywork-13B-base": ["skywork 13b", "skywork 13b base"],
    "Light-R1-32B": ["light r1 32b", "light-r1"], "Nxcode-CQ-7B-orpo": ["nxcode cq 7b", "nxcode-cq-7b"], "RYS-XLarge": ["rys xlarge", "rys-xlarge"],
    "XVERSE-MoE-A36B": ["xverse moe", "xverse moe a36b"], "XVERSE-65B-Chat": ["xverse 65b chat"], "XVERSE-13B-Chat": ["xverse 13b chat"],
    "Qwen2-Math-7B-Instruct": ["qwen2 math 7b", "qwen2-math 7b"], "Qwen1.5-110B-Chat": ["qwen1.5 110b", "qwen 1.5 110b"],
    "Qwen2-1.5B": ["qwen2 1.5b base"], "Qwen2.5-Math-7B-CFT": ["qwen2.5 math 7b cft"],
    "granite-3b-code-base-2k": ["granite 3b code base"], "aya-23-35B": ["aya 23 35b", "aya 35b"],
    "Llama-Guard-3-1B": ["llama guard 3 1b"], "LlamaGuard-7b": ["llama guard 7b", "llama guard 1 7b"],
    "Hermes-2-Pro-Llama-3-8B": ["hermes 2 pro 8b", "hermes 2 pro llama 3 8b"], "Hermes-2-Pro-Mistral-7B": ["hermes 2 pro mistral 7b"],
    "Dolphin3.0-Llama3.1-8B": ["dolphin 3 8b", "dolphin 3.0 8b", "dolphin3 8b", "dolphin 3.0 llama 3.1 8b"],
    "Dolphin3.0-Llama3.2-1B": ["dolphin 3 1b", "dolphin 3.0 1b", "dolphin3 1b"], "Dolphin3.0-R1-Mistral-24B": ["dolphin 3 r1 24b", "dolphin 3.0 r1 mistral 24b"],
    "dolphin-2.9.1-llama-3-8b": ["dolphin 2.9.1 llama3 8b", "dolphin 2.9.1 8b"], "dolphin-2.6-mistral-7b": ["dolphin 2.6 mistral 7b", "dolphin 2.6 7b"],
    "dolphin-2.0-mistral-7b": ["dolphin 2.0 mistral 7b"], "tulu-2-13b": ["tulu 2 13b", "tulu2 13b"], "tulu-v1-llama2-70b": ["tulu 1 70b", "tulu v1 70b"],
    "llama-3-tulu-2-8b": ["tulu 2 llama 3 8b"], "Mistral-Small-24B-Base-2501": ["mistral small 3 base", "mistral small 24b base"],
    "pixtral-12b": ["pixtral 12b"], "granite-7b-lab": ["granite 7b lab"], "codegemma-2b": ["codegemma 2b"], "shieldgemma-9b": ["shieldgemma 9b"],
    "Apollo-2B": ["apollo 2b"], "neural-chat-7b-v3-1": ["neural chat 7b v3.1", "neuralchat 7b v3-1"], "neural-chat-7b-v3-2": ["neural chat 7b v3.2", "neuralchat 7b v3-2"],
    "Nous-Capybara-limarpv3-34B": ["capybara limarp 34b"], "Nous-Hermes-Llama2-13b": ["nous hermes llama 2 13b", "nous hermes 13b"],
    "starcoder2-3b": ["starcoder2 3b", "starcoder 2 3b"], "stablelm-2-1_6b": ["stablelm 2 1.6b", "stablelm2 1.6b base"],
    "Mistral-NeMo-Minitron-8B-Instruct": ["minitron 8b instruct", "mistral nemo minitron 8b instruct"], "vicuna-7b-v1.5": ["vicuna 7b v1.5", "vicuna 7b"],
    "vicuna-33b-v1.3": ["vicuna 33b", "vicuna 33b v1.3"], "zephyr-7b-alpha": ["zephyr 7b alpha", "zephyr alpha"],
    "WizardLM-2-8x22B": ["wizardlm 2 8x22b", "wizardlm2 8x22b"], "Matter-0.2-8x22B": ["matter 0.2 8x22b"], "SmolLM-1.7B-Instruct": ["smollm 1.7b instruct"],
    "gemma-7b-it": ["gemma 7b it", "gemma 7b instruct"], "gemma-1.1-7b-it": ["gemma 1.1 7b", "gemma 1.1 7b it"], "Mistral-7B-OpenOrca": ["mistral 7b openorca", "mistral openorca 7b"],
    "WizardLM-13B-V1.0": ["wizardlm 13b v1.0"], "WizardLM-13B-V1.2": ["wizardlm 13b v1.2", "wizardlm 13b"], "openchat_3.5": ["openchat 3.5", "openchat 3.5 7b"],
    "openchat-3.5-0106": ["openchat 3.5 0106"], "JudgeLM-33B-v1.0": ["judgelm 33b"], "Llama3-ChatQA-1.5-8B": ["chatqa 1.5 8b", "llama3 chatqa 1.5 8b"],
    "AMD-OLMo-1B-SFT": ["amd olmo 1b sft", "amd olmo 1b"], "BioMistral-7B": ["biomistral 7b"], "WizardMath-7B-V1.1": ["wizardmath 7b", "wizardmath 7b v1.1"],
    "Nous-Hermes-2-SOLAR-10.7B": ["nous hermes 2 solar", "nous hermes 2 solar 10.7b"], "Nous-Hermes-2-Yi-34B": ["nous hermes 2 yi 34b", "nous hermes 2 yi"],
}


def _aliases(repo: str, name: str) -> list[list[str]]:
    """A repo's aliases in three claims, each given out over all rows before the next
    (main()): its own spellings (repo id, repo name, release names), its Ollama tag, and its
    name without the release suffix ("qwen2.5-vl-7b" for Qwen2.5-VL-7B-Instruct), which
    goes to the row whose name is shortest (the base model where there is one)."""
    repo_name = repo.split("/")[1]
    low = repo_name.lower()
    own = [repo.lower(), low, low.replace("-", " ").replace("_", " ")]
    stripped = [re.sub(r"(-hf|-instruct|-chat|-it|-base)+$", "", low)]
    # generated spellings need a digit (a size or version), so no family word alone names one
    # model; the curated SPELLINGS may be names without one ("devstral small")
    keep = lambda aliases: [a for a in dict.fromkeys(aliases) if re.search(r"\d", a) and len(a) >= 5]  # noqa: E731
    spellings = [a.lower() for a in SPELLINGS.get(repo_name, [])]
    return [keep(own) + spellings, keep(_ollama(repo_name)), keep(stripped)]


def _row(shape: dict, key: str, label: str, note: str) -> dict:
    repo = shape["repo"]
    name = repo.split("/")[1]
    row = {k: v for k, v in shape.items() if v is not None and k not in ("repo", "tied", "gated_ffn")}
    tied = shape.get("tied")
    row.update(name=name, family=_family(name), tied_embeddings=bool(tied), hf_repo=repo, origin="generated")
    if not shape.get("gated_ffn", True):
        row["gated_ffn"] = False
    tie_note = "" if tied is not None else "; tie_word_embeddings not given there: sized untied (the larger size)"
    spec = ModelSpec(**{k: v for k, v in row.items() if k not in ("hf_repo",)}, params_b=1, aliases=["x"],
                     source="computing", **({"active_params_b": 1} if row.get("experts") else {}))
    total = modelled_params(spec)
    row["params_b"] = round(total / 1e9, 3)
    if spec.is_moe:
        expert = sum(g.params for g in tensor_groups(spec) if g.expert)
        row["active_params_b"] = round((total - expert + expert * spec.experts_active / spec.experts) / 1e9, 3)
    row["aliases"] = _aliases(repo, name)  # claims, resolved to one list in main()
    of = "shape for" if label.startswith("RigBot") else "converted config of" if label.startswith("GGUF") else "config of"
    row["source"] = (f"{label} [{key}] ({of} {repo}{note}): layers, hidden, heads, KV heads, FFN, vocab, context"
                     f"{', experts' if spec.is_moe else ''}{', vision_config' if row.get('vision_params_b') else ''}"
                     f"; params computed from that shape{tie_note}")
    return row


LEFT_OUT: list[str] = []  # inputs not made rows, and why (written to the file's meta)


def collect() -> list[tuple[dict, str, str, str]]:
    """(shape, config key, source label, note) from every input, in priority order: verbatim
    config.json copies (maxtext, mlc-llm) first, then maxtext's ymls, torchtune, the hand
    printout, the variants and the Hugging Face config pages, then litgpt's transcriptions (its block_size is the context
    litgpt runs with, a few below the config's: Phi-3.5-mini 4096 for 131072), GenZ last."""
    out = []
    for file, repos in (("maxtext", MAXTEXT_REPOS), ("mlc", MLC_REPOS)):
        data = json.loads((INPUTS / f"{file}.json").read_text())
        for key, repo in repos.items():
            config, note = data["configs"].get(key), ""
            clip = ((config or {}).get("img_processor") or {}).get("model_name")
            if clip == "openai/clip-vit-large-patch14-336" and "llava" in data["configs"]:
                # Phi-3.5-vision names its image encoder; the llava preset's vision_config is that CLIP
                config = dict(config, vision_config=data["configs"]["llava"]["vision_config"])
                note = f"; vision encoder {clip}, its shape from the same file's llava vision_config"
            if config is not None and (shape := from_hf(key, config, repo)) is not None:
                out.append((shape, key, _source_label(data["meta"]), note))
    yml = json.loads((INPUTS / "maxtext_yml.json").read_text())
    for key, repo in MAXTEXT_YML_REPOS.items():
        out.append((from_maxtext_yml(key, yml["configs"][key], repo), key, _source_label(yml["meta"]), ""))
    tt = json.loads((INPUTS / "torchtune.json").read_text())
    for key, repo in TORCHTUNE_REPOS.items():
        out.append((from_torchtune(key, tt["configs"][key], repo), key,
                    _source_label(tt["meta"]) + f" {tt['configs'][key]['_file']}",
                    "; the cross-attention layers counted as layers, the CLIP encoder's MLP 4 x width"))
    variants = json.loads((INPUTS / "variants.json").read_text())
    own = {m.name: m for m in load_catalog().models}
    for repo, v in variants["configs"].items():
        base = own[v["shape_of"]]
        # the whole text network: attention (MLA, sliding window) and experts too, so a fine-tune
        # of an MoE base (DeepSeek V3, GLM-4.5) is sized like it; vision is the base's, not copied
        fields = ("layers", "hidden_size", "heads", "kv_heads", "head_dim", "intermediate_size", "vocab_size",
                  "sliding_window", "swa_pattern", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim",
                  "qk_nope_head_dim", "v_head_dim", "experts", "experts_active", "shared_experts",
                  "moe_intermediate_size", "dense_layers", "moe_layer_step", "expert_type", "default_quant")
        shape = dict({f: getattr(base, f) for f in fields}, repo=repo, native_context=v["native_context"],
                     tied=base.tied_embeddings, gated_ffn=base.gated_ffn)
        SPELLINGS.setdefault(repo.split("/")[1], v.get("aliases", []))
        out.append((shape, v["shape_of"], "RigBot models.toml (hand-checked)",
                    f"; the text network of {v['shape_of']}, per {v['evidence']}"))
    hand = json.loads((INPUTS / "hand.json").read_text())
    for key, c in hand["configs"].items():
        if (shape := from_hf(key, c, key)) is not None:
            out.append((shape, key, _source_label(hand["meta"]), f"; {c['_note']}"))
    # hf_pages.json and further hf_pages_*.json / ollama_gguf_*.json transcriptions (one file
    # per gathering, so separate gatherings never edit one file)
    for path in sorted(INPUTS.glob("hf_pages*.json")):
        pages = json.loads(path.read_text())
        for repo, c in pages["configs"].items():
            if (shape := from_hf(repo, c, repo)) is not None:
                out.append((shape, repo, f"config.json at {c['_url']}", f"; {c['_note']}"))
    for path in sorted(INPUTS.glob("ollama_gguf*.json")):
        gguf = json.loads(path.read_text())
        for tag, c in gguf["configs"].items():
            if (shape := from_gguf(tag, c)) is not None:
                out.append((shape, tag, f"GGUF metadata at {c['_url']}", f"; {c['_note']}"))
    lit = json.loads((INPUTS / "litgpt.json").read_text())
    for key, c in lit["configs"].items():
        if (shape := from_litgpt(key, c, lit["defaults"])) is not None:
            out.append((shape, key, _source_label(lit["meta"]), ""))
        else:
            LEFT_OUT.append(f"litgpt {key}: {LITGPT_WRONG[key]}")
    genz = json.loads((INPUTS / "genz.json").read_text())
    for key, c in genz["configs"].items():
        if (shape := from_genz(key, c)) is not None:
            out.append((shape, key, _source_label(genz["meta"]) + f" {c['_file']}", f", per {c['_config_url']}"))
    return out


def _spelled(alias: str) -> str:
    """An alias as the parser reads it: spaces, hyphens, underscores and colons alike (flex)."""
    return re.sub(r"[\s\-_:]+", " ", alias)


def _same_as_own(name: str, own_aliases: dict[str, str]) -> str | None:
    """The own model a repo name is (its name, or the name without -hf/-instruct/-chat/-it)."""
    spelled = {_spelled(a): m for a, m in own_aliases.items()}
    low = name.lower()
    bare = re.sub(r"-(?:instruct|chat|it|hf)(?=-|$)", "", low)  # "mistral-7b-instruct-v0.1" → "mistral-7b-v0.1"
    for cand in (low, re.sub(r"(-hf|-instruct|-chat|-it)+$", "", low), bare, re.sub(r"^meta-", "", low)):
        if _spelled(cand) in spelled:
            return spelled[_spelled(cand)]
    return None


def main() -> None:
    catalog = load_catalog()
    own_aliases = {a: m.name for m in catalog.models for a in m.aliases}
    own_aliases.update({m.name.lower(): m.name for m in catalog.models})
    rows, seen, extra_aliases, skipped = [], set(), {}, []
    for shape, key, label, note in collect():
        repo = shape["repo"]
        if repo.lower() in seen:
            continue
        name = repo.split("/")[1]
        if own := _same_as_own(name, own_aliases):  # the own entry sizes it: only its names are taken
            seen.add(repo.lower())
            extra_aliases.setdefault(own, []).extend(a for claim in _aliases(repo, name) for a in claim)
            continue
        if not shape.get("native_context") or not shape.get("vocab_size"):
            skipped.append(f"{repo} ({label} [{key}]): no context or vocabulary size there")
            continue
        seen.add(repo.lower())
        rows.append(_row(shape, key, label, note))
    # each alias names one model; aliases that differ only in spaces, hyphens, underscores
    # or colons read alike (flex), so they count as one. Own models' aliases come first.
    spelled = _spelled
    taken = {spelled(a) for a in own_aliases}
    for own, aliases in extra_aliases.items():
        kept = [a for a in dict.fromkeys(aliases) if spelled(a) not in taken]
        extra_aliases[own] = [a for i, a in enumerate(kept) if spelled(a) not in {spelled(b) for b in kept[:i]}]
        taken.update(spelled(a) for a in aliases)
    claims = [row.pop("aliases") for row in rows]
    for row in rows:
        row["aliases"] = []
    for level in range(3):
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["name"])) if level == 2 else range(len(rows))
        for i in order:
            for a in claims[i][level]:
                if spelled(a) not in taken:
                    rows[i]["aliases"].append(a)
                    taken.add(spelled(a))
    rows = [r for r in rows if r["aliases"]]
    meta = {"generator": "scripts/gen_models_from_configs.py", "inputs": "scripts/model_configs/*.json",
            "rows": len(rows), "own_models_with_extra_aliases": len(extra_aliases), "skipped": skipped + LEFT_OUT}
    OUT.write_text(json.dumps({"meta": meta, "model": rows, "own_aliases": extra_aliases}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"{OUT}: {len(rows)} models, extra aliases for {len(extra_aliases)} own models, {len(skipped)} skipped")


if __name__ == "__main__":
    main()
