"""Questions whose reading is known by construction (issue 17, the test side).

`generate()` composes questions from parts whose meaning is fixed before the parser
ever sees them: a catalog GPU written with or without its brand, with its memory before
or after the name ("16gb 4060 ti", "4060ti 16G"), a count before or after ("2x", "x2",
"two", "dual", "两张", "双卡", "P40 24G 四张"), an Apple chip with its memory ("MBP M3
Max 128"), system RAM ("64GB DDR5", "64g内存"), a catalog model by one of its aliases or
an Ollama tag, a quant, a context ("8k context", "ctx 32768", "上下文32k", "-c 8192"), a
runtime, a number of users, fine-tuning numbers, a prompt length, MoE expert placement,
comparisons, names the catalog does not have and follow-ups to a previous question, in
English, Chinese and a mix of both, in varied orders, case and spacing.

Each item is (question, expected `Query` fields, entity kinds). The expected fields are
complete over what the grammar controls: a field no part set is expected empty, so "16gb
4060 ti" read as 16 GB of system RAM fails. Plain `random.Random(seed)`: the same seed
gives the same questions. Only catalog entries that exist are used; every GPU whose
memory decides its variant is written with that memory.
"""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

from reading_check import NONE, Item

SEED = 17
COUNT = 6000
ROOT = Path(__file__).resolve().parent.parent

# fields the grammar controls: expected empty unless a part sets them
CONTROLLED = ("gpu_names", "gpu_counts", "vram_only", "cpu_only", "ram_gib", "ram_kind", "model_name", "params_b",
              "quant", "context", "full_context", "runtime", "users", "experts_in_ram", "train_method", "batch_size",
              "sequence_length", "prompt_tokens", "wants_first_token", "options", "error")

ZH_NUM = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 8: "八"}
EN_NUM = {1: "one", 2: "two", 3: "three", 4: "four", 6: "six", 8: "eight"}

# names the catalog does not have (checked against its aliases below): never a neighbour
# names the catalog does not have (checked against its aliases below): never a neighbour.
# (Mistral Large 2, Phi-3.5 MoE/mini, Phi-4 mini, Falcon 180B, OLMo 2 13B, Yi-1.5 34B and InternLM3 8B
# are in the open catalog now.)
# (name, what the error must say at least: the words that tell it from a catalog model)
UNKNOWN_MODELS = [("mistral large 3", "mistral large"), ("mistral medium 3", "mistral medium"),
                  ("phi 3.6 moe", "phi 3.6"), ("phi 4 nano", "phi 4 nano"), ("grok 3", "grok"),
                  ("deepseek v4", "deepseek v4"), ("gemma 3n", "gemma 3n"), ("llama 5 70b", "llama 5"),
                  ("qwen4 14b", "qwen4"), ("command r plus", "command r"), ("yi 2 34b", "yi 2"),
                  ("falcon 190b", "falcon"), ("gemma 4 27b", "gemma 4"), ("kimi k3", "kimi k3"), ("glm 5", "glm 5"),
                  ("granite 3.3 8b", "granite"), ("olmo 2 15b", "olmo"), ("internlm4 8b", "internlm4"),
                  ("mistral large 124b", "mistral large"), ("codestral 22b", "codestral"), ("phi 3.6 mini", "phi 3.6"),
                  ("qwen2 vl 7b", "qwen2 vl"), ("llama 3.2 90b vision", "llama 3.2 90b"), ("nemotron 70b", "nemotron"),
                  ("deepseek coder v2 16b", "deepseek coder"), ("minimax m1", "minimax"), ("hunyuan a13b", "hunyuan"),
                  ("ernie 4.5 21b", "ernie")]
UNKNOWN_GPUS = ["RTX 5090 Ti", "RTX 4090 Ti", "RTX 3070 Super", "RX 7950 XTX", "RTX 6090", "RTX 4050 Ti",
                "RX 8900 XT", "Arc A790", "RTX 5080 Ti", "GTX 2080", "RTX 3095", "RX 9090 XT"]
# family words alone name several models: not used as the model of a question
AMBIGUOUS_ALIASES = {"mistral", "mixtral", "phi3", "phi-3", "llama 8b", "llama 70b", "llama 1b", "llama 3b",
                     "llama 405b", "qwen 7b", "qwen 3b", "qwen 72b", "qwen 0.5b", "qwen 1.5b", "rtx 6000"}

QUANTS_EN = [("q4_k_m", "Q4_K_M"), ("Q4_K_M", "Q4_K_M"), ("Q4_K_S", "Q4_K_S"), ("q5_k_m", "Q5_K_M"),
             ("Q5_K_M", "Q5_K_M"), ("Q6_K", "Q6_K"), ("q6_k", "Q6_K"), ("q8_0", "Q8_0"), ("Q8_0", "Q8_0"),
             ("Q8", "Q8_0"), ("q8", "Q8_0"), ("Q3_K_M", "Q3_K_M"), ("q2_k", "Q2_K"), ("IQ4_XS", "IQ4_XS"),
             ("iq3_xxs", "IQ3_XXS"), ("4-bit", "Q4_K_M"), ("4bit", "Q4_K_M"), ("4 bit", "Q4_K_M"),
             ("8-bit", "Q8_0"), ("8bit", "Q8_0"), ("5-bit", "Q5_K_M"), ("fp16", "F16"), ("FP16", "F16"),
             ("f16", "F16"), ("bf16", "BF16"), ("int8", "Q8_0"), ("Q4_0", "Q4_0"), ("IQ2_XXS", "IQ2_XXS"),
             ("q3_k_s", "Q3_K_S"), ("Q5_K_S", "Q5_K_S")]
QUANTS_ZH = [("4位量化", "Q4_K_M"), ("8位", "Q8_0"), ("4bit量化", "Q4_K_M"), ("半精度", "F16"), ("q4量化", "Q4_K_M"),
             ("8比特", "Q8_0"), ("量化到q5_k_m", "Q5_K_M")]
QUANT_FRAMES_EN = ["{q}", "{q}", "{q}", "at {q}", "in {q}", "({q})", "{q} quant", "gguf {q}"]
QUANT_FRAMES_ZH = ["{q}", "{q}", "{q}量化"]
# quants the catalog may lack: read as that quant when it has one, else said unread
UNLISTED_QUANTS = [("fp8", ["FP8", "F8_E4M3"]), ("FP8", ["FP8", "F8_E4M3"]), ("1.58bit", ["IQ1_S", "TQ1_0"]),
                   ("1.58-bit", ["IQ1_S", "TQ1_0"]), ("w4a16", ["GPTQ_4BIT"])]

CONTEXTS = [2048, 4096, 8192, 16384, 32768, 65536, 131072]
CTX_EN = ["{k}k context", "{K}K context", "{k}k ctx", "ctx {n}", "ctx={n}", "context {k}k", "context length {n}",
          "-c {n}", "--ctx-size {n}", "num_ctx {n}", "at {k}k", "at {k}k context", "with a {k}k context window",
          "{n} tokens of context", "n_ctx={n}", "with {k}K ctx"]
CTX_ZH = ["上下文{k}k", "{k}k上下文", "上下文长度{n}", "上下文 {K}K", "{k}k的上下文", "上下文开到{k}k", "{K}K上下文"]

RUNTIMES_EN = [("ollama", "ollama"), ("Ollama", "ollama"), ("LM Studio", "lm_studio"), ("lmstudio", "lm_studio"),
               ("vLLM", "vllm"), ("vllm", "vllm"), ("SGLang", "sglang"), ("sglang", "sglang"),
               ("TensorRT-LLM", "tensorrt_llm"), ("trt-llm", "tensorrt_llm"), ("exllamav2", "exllama"),
               ("ExLlamaV2", "exllama"), ("exllama", "exllama"), ("HF transformers", "transformers"),
               ("huggingface transformers", "transformers"), ("ktransformers", "ktransformers"),
               ("KTransformers", "ktransformers"), ("llama.cpp", "llama.cpp"), ("llama-server", "llama.cpp"),
               ("llamacpp", "llama.cpp")]
RUNTIMES_APPLE = [("MLX", "mlx"), ("mlx", "mlx"), ("mlx-lm", "mlx"), ("ollama", "ollama"), ("LM Studio", "lm_studio"),
                  ("llama.cpp", "llama.cpp")]
RT_FRAMES_EN = ["in {r}", "with {r}", "using {r}", "on {r}", "via {r}"]
RT_FRAMES_ZH = ["用{r}", "用 {r}", "在{r}里", "{r}部署"]

USERS = [2, 4, 5, 8, 10, 16, 20, 32, 50]
USERS_EN = ["for {n} users", "for {n} concurrent users", "serving {n} users", "with {n} people using it at once",
            "for {n} simultaneous users"]
USERS_ZH = ["{n}个并发", "{n}个用户同时用", "给{n}个人同时用", "{n}路并发"]

RAM_SIZES = [16, 32, 48, 64, 96, 128, 192, 256]
RAM_KINDS = [("DDR4", "DDR4-3200"), ("DDR5", "DDR5-5600"), ("DDR5-6000", "DDR5-6000"), ("DDR4-3600", "DDR4-3600"),
             ("DDR5-5600", "DDR5-5600"), ("DDR4-3200", "DDR4-3200"), ("DDR5-6400", "DDR5-6400")]

MOE_EN = ["with the MoE experts on the CPU", "with experts offloaded to system RAM", "--n-cpu-moe {k}", "using --cpu-moe",
          "with -ot exps=CPU", "keeping the experts in RAM", "experts on cpu, attention on gpu"]
MOE_ZH = ["专家放内存", "MoE专家卸载到CPU", "把专家层放到内存里", "--n-cpu-moe {k}", "专家放CPU，其余放显卡"]

METHODS = [("LoRA", "lora"), ("lora", "lora"), ("QLoRA", "qlora"), ("qlora", "qlora"), ("full", "full")]
BATCH_EN = ["batch size {b}", "batch {b}", "bs={b}", "bs {b}", "batch_size={b}"]
BATCH_ZH = ["批大小{b}", "batch size {b}", "batch {b}"]
SEQ_EN = ["seq_len {s}", "sequence length {s}", "seq len {s}", "max_seq_length={s}", "cutoff_len {s}", "seqlen {s}"]
SEQ_ZH = ["序列长度{s}", "seq_len {s}", "序列长度 {s}"]


def _counted(hw: str) -> bool:
    """The hardware phrase starts with its count ("2x 3090", "two 3090s"): no article."""
    return bool(re.match(r"\d+\s*x|one |a single |two |three |four |six |eight |dual |twin |quad ", hw))


def _apple_sizes(catalog, gpu) -> list:
    """The memory variants of an Apple chip."""
    return [g for g in catalog.gpus if g.vendor == "apple" and g.chip == gpu.chip]


def _same_family_sizes(catalog, model) -> list[tuple[str, object]]:
    """Other models of the family named by a size only they have ("the 32b version")."""
    by_label: dict[str, list] = {}
    for m in catalog.models:
        if m.family == model.family and (size := re.search(r"(\d+x)?(\d+(?:\.\d+)?)B\b", m.name)):
            by_label.setdefault(size.group(0)[:-1], []).append(m)  # "32", "8x22"
    return [(label, ms[0]) for label, ms in by_label.items() if len(ms) == 1 and ms[0].name != model.name]


def _catalog():
    from rules.catalog import default_catalog

    return default_catalog()


class Grammar:
    def __init__(self, catalog, seed: int) -> None:
        self.c = catalog
        self.r = random.Random(seed)
        aliases = {a for m in catalog.models for a in m.aliases}
        squash = {re.sub(r"[\s\-_:]", "", a) for a in aliases}
        for name, _ in UNKNOWN_MODELS:
            assert re.sub(r"[\s\-_:]", "", name) not in squash, f"{name} is in the catalog now"
        gpu_keys = {k for g in catalog.gpus for k in g.keys}
        for name in UNKNOWN_GPUS:
            assert name.lower() not in gpu_keys, f"{name} is in the catalog now"
        self.cards = [g for g in catalog.gpus if g.vendor != "apple" and not g.unified_memory]
        self.apple = [g for g in catalog.gpus if g.vendor == "apple"]
        self.models = [m for m in catalog.models if any(self._usable(a) for a in m.aliases)]
        self.moe = [m for m in self.models if m.is_moe]
        self.quant_names = {q.name for q in catalog.quants}
        assert all(q in self.quant_names for _, q in QUANTS_EN + QUANTS_ZH)
        self.ram_names = {k.name for k in catalog.ram_kinds}
        self.tags = tomllib.loads((ROOT / "rules" / "data" / "ollama.toml").read_text("utf-8"))["tag"]

    # --- helpers ------------------------------------------------------------------------
    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    @staticmethod
    def _usable(alias: str) -> bool:
        return alias not in AMBIGUOUS_ALIASES and "/" not in alias

    def _variants(self, gpu) -> list:
        return [g for g in self.c.gpus if set(g.keys) & set(gpu.keys)]

    # --- GPUs ---------------------------------------------------------------------------
    def card_surface(self, gpu) -> str:
        keys = [k for k in gpu.keys if k not in AMBIGUOUS_ALIASES]
        key = self.pick(keys)
        tokens = key.split()
        if tokens and tokens[0][0].isdigit() and self.chance(0.35):
            brand = {"nvidia": ["rtx", "nvidia", "geforce rtx"] if gpu.name.startswith("RTX") else
                     ["gtx", "nvidia"] if gpu.name.startswith("GTX") else ["nvidia"],
                     "amd": ["rx", "radeon rx", "amd"], "intel": ["intel"]}.get(gpu.vendor, [])
            if brand:
                tokens = self.pick(brand).split() + tokens
        style = self.pick(["space", "space", "tight", "hyphen", "space"])
        out = tokens[0]
        for before, tok in zip(tokens, tokens[1:], strict=False):
            short = before in {"rtx", "gtx", "rx", "arc"} or before[-1].isdigit()
            joinable = short and (tok[0].isdigit() or tok in {"ti", "xt", "xtx", "gre", "super"})
            if style == "tight" and joinable and not (before[-1].isdigit() and tok[0].isdigit()):
                sep = ""
            elif style == "hyphen" and len(tokens) <= 3:
                sep = "-"
            else:
                sep = " "
            out += sep + tok
        case = self.pick(["lower", "lower", "upper", "smart", "smart"])
        if case == "upper":
            return out.upper()
        if case == "smart":
            words = {"ti": "Ti", "super": "Super", "tesla": "Tesla", "quadro": "Quadro", "radeon": "Radeon",
                     "instinct": "Instinct", "nvidia": "NVIDIA", "geforce": "GeForce", "titan": "Titan", "arc": "Arc",
                     "pro": "Pro", "ada": "Ada", "blackwell": "Blackwell", "intel": "Intel", "amd": "AMD",
                     "pcie": "PCIe", "nvl": "NVL", "sxm": "SXM"}
            return re.sub(r"[a-z]+", lambda m: words.get(m.group(0), m.group(0).upper()), out)
        return out

    def memory_text(self, size: float, zh: bool, name_end: str = "") -> tuple[str, str]:
        """(text, where) with where = after | before."""
        s = f"{size:g}"
        after = [f" {s}gb", f" {s}GB", f" {s}G", f" {s} gb", f" {s}g", f" ({s}GB)", f" {s}GB VRAM", f" with {s}GB"]
        if zh:
            after += [f" {s}G显存", f" {s}G", f"{s}G"]
        before = [f"{s}gb ", f"{s}GB ", f"{s}G ", f"{s} GB "]
        if zh:
            before += [f"{s}G显存的"]
        if self.chance(0.35):
            return self.pick(before), "before"
        text = self.pick(after)
        if text[0].isdigit() and not (name_end or "").isalpha():  # "3090" + "24G": the digits would run together
            text = " " + text
        return text, "after"

    def gpu_phrase(self, zh: bool, allow_count: bool = True, gpu=None) -> tuple[str, dict, list[str]]:
        gpu = gpu or self.pick(self.cards)
        kinds = ["gpu"]
        name = self.card_surface(gpu)
        mem_before = mem_after = ""
        if len(self._variants(gpu)) > 1 or self.chance(0.3):
            text, where = self.memory_text(gpu.vram_gib, zh, name[-1])
            if where == "before":
                mem_before = text
            else:
                mem_after = text
            kinds.append(f"gpu_memory_{where}")
        count = 1
        if allow_count and self.chance(0.4):
            count = self.pick([2, 2, 2, 3, 4, 4, 6, 8])
        before = after = ""
        plural = False
        if count == 1:
            before = self.pick(["", "", "one ", "a single ", "1x "] + (["一张", "单卡", "一块"] if zh else []))
            if before:
                kinds.append("count")
        else:
            kinds.append("count")
            forms = [("b", f"{count}x "), ("b", f"{count}x"), ("b", f"{count} x "), ("a", f" x{count}"),
                     ("a", f" x {count}"), ("a", f" ×{count}"), ("a", f"*{count}")]
            if not zh:
                forms += [("b", f"{EN_NUM[count]} ", "plural")]
                if count == 2:
                    forms += [("b", "dual "), ("b", "twin ", "plural")]
                if count == 4:
                    forms += [("b", "quad ")]
            else:
                zhn = ZH_NUM[count]
                forms += [("b", f"{zhn}张"), ("b", f"{zhn}块"), ("b", f"{count}张"), ("a", f" {zhn}张"),
                          ("a", f"{zhn}张")]
                if count == 2:
                    forms += [("b", "双卡"), ("b", "双卡 ")]
                if count == 4:
                    forms += [("b", "四卡")]
            form = self.pick(forms)
            if form[0] == "b":
                before = form[1]
            else:
                after = form[1]
            plural = len(form) > 2
        if plural and not mem_after:
            name += "s"
        text = f"{before}{mem_before}{name}{mem_after}{after}"
        expect = {"gpu_names": [gpu.name], "gpu_counts": [count]}
        return text, expect, kinds

    def apple_phrase(self, zh: bool, gpu=None) -> tuple[str, dict, list[str], bool]:
        """(text, expect, kinds, bare): bare when the memory is a bare number ("M3 Max 128")."""
        gpu = gpu or self.pick(self.apple)
        chip = gpu.chip.replace("Apple ", "")
        chip_text = self.pick([chip, chip, chip.lower(), chip.lower(), chip.replace(" ", ""), f"Apple {chip}",
                               chip.upper(), chip.lower().replace(" ", "-")])
        machine = ""
        if gpu.machines and self.chance(0.45):
            m = self.pick(gpu.machines)
            machine = self.pick({"macbook pro": ["MacBook Pro", "MBP", "macbook pro", "Macbook Pro"],
                                 "macbook air": ["MacBook Air", "macbook air"], "mac studio": ["Mac Studio", "mac studio"],
                                 "mac mini": ["Mac mini", "mac mini"], "imac": ["iMac"], "mac pro": ["Mac Pro"]}[m])
        s = f"{gpu.vram_gib:g}"
        bare = False
        forms = [f" {s}GB", f" {s}gb", f" {s}G", f" ({s}GB)", f" with {s}GB", f" {s}GB unified memory",
                 f" with {s}GB of unified memory", f" {s}GB RAM", f" {s} GB"]
        if zh:
            forms += [f" 统一内存{s}G", f" {s}G内存", f" {s}G统一内存", f"{s}G"]
        if self.chance(0.12):
            mem, bare = f" {s}", True
        else:
            mem = self.pick(forms)
        order = self.pick(["mc", "cm", "c", "c", "before"])
        if order == "before" and not bare:
            text = f"{s}GB {(machine + ' ') if machine else ''}{chip_text}"
        elif order == "cm" and machine:
            text = f"{chip_text} {machine}{mem}"
        else:
            text = f"{(machine + ' ') if machine else ''}{chip_text}{mem}"
        return text, {"gpu_names": [gpu.name], "gpu_counts": [1], "ram_gib": NONE}, ["apple"], bare

    def ram_phrase(self, zh: bool) -> tuple[str, dict]:
        size = self.pick(RAM_SIZES)
        if self.chance(0.55):
            written, kind = self.pick(RAM_KINDS)
            w = self.pick([written, written.lower()])
            forms = [f"{size}GB {w}", f"{size}gb {w}", f"{w} {size}GB", f"{size} GB of {w}", f"{size}GB of {w} RAM"]
            sticks = [n for n in (2, 4) if size % n == 0 and size // n in (8, 16, 24, 32, 48, 64)]
            if sticks:  # "2x32GB DDR5-6000": modules add up
                n = self.pick(sticks)
                forms += [f"{n}x{size // n}GB {w}", f"{n}x{size // n}gb {w}", f"{n} x {size // n}GB {w}"]
            if "-" in written:  # "DDR5 6000MHz 64GB"
                gen, mts = written.split("-")
                forms += [f"{gen} {mts}MHz {size}GB", f"{size}GB {gen.lower()} {mts}mhz", f"{size}GB {gen} @ {mts}"]
            if zh:
                forms += [f"{size}G {w}内存", f"{w} {size}G内存", f"{size}G {w}"]
            expected_kind = {"one_of": [kind, NONE]} if written in ("DDR4", "DDR5") else kind
            return self.pick(forms), {"ram_gib": size, "ram_kind": expected_kind}
        forms = [f"{size}GB RAM", f"{size}gb ram", f"{size} GB of RAM", f"{size} gigs of ram", f"{size}GB system RAM",
                 f"{size}GB of system memory"]
        if zh:
            forms += [f"{size}g内存", f"内存{size}G", f"{size}G内存", f"{size}GB 内存", f"内存 {size}g"]
        return self.pick(forms), {"ram_gib": size, "ram_kind": NONE}

    def hardware(self, zh: bool, want_ram: bool | None = None, allow_apple: bool = True,
                 allow_cpu: bool = True) -> tuple[str, dict, list[str], bool]:
        """(text, expect, kinds, bare_apple)."""
        roll = self.r.random()
        if allow_apple and roll < 0.2:
            return self.apple_phrase(zh)
        if allow_cpu and roll < 0.28:
            ram, expect = self.ram_phrase(zh)
            words = self.pick(["纯CPU", "没有显卡", "无显卡", "cpu only", "纯cpu", "不用显卡", "只有cpu"] if zh else
                              ["no GPU", "cpu only", "CPU-only", "without a GPU", "no gpu", "no dedicated gpu",
                               "cpu inference only"])
            text = self.pick([f"{words}, {ram}", f"{ram}, {words}"] if not zh else
                             [f"{words}，{ram}", f"{ram}，{words}", f"{words} {ram}"])
            return text, {**expect, "cpu_only": True, "gpu_names": [], "gpu_counts": []}, ["cpu_only", "ram"], False
        text, expect, kinds = self.gpu_phrase(zh)
        if want_ram or (want_ram is None and self.chance(0.3)):
            ram, ram_expect = self.ram_phrase(zh)
            joiners = ["加", "，", " + ", "+", " 配 ", " and "] if zh else [" and ", " + ", ", ", " with ", " & "]
            j = self.pick(joiners)
            text = f"{ram}{j}{text}" if self.chance(0.2) and j.strip() in {"+", "and", "&", ","} else f"{text}{j}{ram}"
            expect.update(ram_expect)
            kinds.append("ram")
        return text, expect, kinds, False

    # --- models and settings --------------------------------------------------------------
    def model_phrase(self, models=None) -> tuple[str, dict, list[str]]:
        if models is None and self.chance(0.08):
            tag = self.pick(self.tags)
            quant = self.pick(tag["quants"])
            qtag = quant.lower().replace("_k", "_K")
            if self.chance(0.6):
                return f"{tag['tag']}-{qtag}", {"model_name": tag["model"], "quant": quant}, ["ollama_tag", "model",
                                                                                             "quant"]
            return tag["tag"], {"model_name": tag["model"]}, ["ollama_tag", "model"]
        model = self.pick(models or self.models)
        alias = self.pick([a for a in model.aliases if self._usable(a)])
        text = alias
        if " " in text and self.chance(0.25):
            text = text.replace(" ", "-")
        case = self.pick(["lower", "lower", "title", "upper_b", "upper"])
        if case == "title":
            text = re.sub(r"(?<![a-z0-9])([a-z])", lambda m: m.group(1).upper(), text)
            text = re.sub(r"(\d)b\b", r"\1B", text)
        elif case == "upper_b":
            text = re.sub(r"(\d)b\b", r"\1B", text)
        elif case == "upper":
            text = text.upper()
        if self.chance(0.05) and re.search(r"[a-z]\s\d+(?:\.\d+)?[bB]$", text):
            text = text[:-1] + " " + text[-1]  # "qwen3 14 b"
        return text, {"model_name": model.name, "params_b": NONE}, ["model"]

    def quant_part(self, zh: bool) -> tuple[str, dict]:
        if zh and self.chance(0.3):
            word, name = self.pick(QUANTS_ZH)
            return self.pick(QUANT_FRAMES_ZH).format(q=word).replace("量化量化", "量化"), {"quant": name}
        word, name = self.pick(QUANTS_EN)
        return self.pick(QUANT_FRAMES_EN).format(q=word), {"quant": name}

    def unlisted_quant_part(self) -> tuple[str, dict]:
        word, names = self.pick(UNLISTED_QUANTS)
        in_catalog = [n for n in names if n in self.quant_names]
        return word, {"quant": {"one_of": in_catalog or names, "or_unread": word}}

    def context_part(self, zh: bool) -> tuple[str, dict]:
        n = self.pick(CONTEXTS)
        k = n // 1024
        frames = CTX_EN + (CTX_ZH * 2 if zh else [])
        return self.pick(frames).format(n=n, k=k, K=k), {"context": n}

    def runtime_part(self, zh: bool, apple: bool) -> tuple[str, dict]:
        word, name = self.pick(RUNTIMES_APPLE if apple else RUNTIMES_EN)
        frames = RT_FRAMES_ZH if zh and self.chance(0.7) else RT_FRAMES_EN
        return self.pick(frames).format(r=word), {"runtime": name}

    def users_part(self, zh: bool) -> tuple[str, dict]:
        n = self.pick(USERS)
        return self.pick(USERS_ZH if zh else USERS_EN).format(n=n), {"users": n}

    # --- questions -------------------------------------------------------------------------
    def tail(self, parts: list[str], zh: bool) -> str:
        self.r.shuffle(parts)
        out = ""
        for p in parts:
            sep = self.pick(["，", " ", "，"] if zh else [" ", " ", ", "])
            out += sep + p
        return out

    def sizing(self, intent: str, zh: bool) -> Item:
        hw, expect, kinds, bare = self.hardware(zh)
        apple = "apple" in kinds
        model, m_expect, m_kinds = self.model_phrase()
        expect.update(m_expect)
        kinds += m_kinds
        parts: list[str] = []
        front = ""
        if "quant" not in expect and self.chance(0.5):
            if self.chance(0.04):
                q, q_expect = self.unlisted_quant_part()
            else:
                q, q_expect = self.quant_part(zh)
            expect.update(q_expect)
            kinds.append("quant")
            if self.chance(0.1) and not q.startswith(("at ", "in ", "(", "gguf")) and not zh:
                model = f"{q} {model}"
            else:
                parts.append(q)
        if self.chance(0.4):
            c, c_expect = self.context_part(zh)
            expect.update(c_expect)
            kinds.append("context")
            if self.chance(0.15):
                front = c + ("，" if zh else ", ")
            else:
                parts.append(c)
        elif self.chance(0.06):
            c = self.pick(["满上下文", "全上下文", "上下文拉满"] if zh else ["at full context", "at the full context",
                                                                          "with the full context window"])
            expect["full_context"] = True
            expect["context"] = None  # not judged: the model's native context
            kinds.append("full_context")
            parts.append(c)
        if self.chance(0.15):
            rt, rt_expect = self.runtime_part(zh, apple)
            expect.update(rt_expect)
            kinds.append("runtime")
            parts.append(rt)
        if intent == "serve":
            u, u_expect = self.users_part(zh)
            expect.update(u_expect)
            kinds.append("users")
            parts.append(u)
        tail = self.tail(parts, zh)
        article = "" if bare or zh else self.pick(["a ", "my ", "the ", "a "])
        if _counted(hw) or "cpu_only" in kinds:
            article = ""
        if zh:
            templates = {
                "can_run": ["{hw}能跑{model}{tail}吗", "{hw} 能跑 {model}{tail} 吗？", "{hw}跑{model}{tail}行吗",
                            "用{hw}跑{model}{tail}可以吗", "{model}{tail}，{hw}能跑吗", "请问{hw}可以跑{model}{tail}吗",
                            "{hw}，{model}{tail}能跑不"],
                "speed": ["{hw}跑{model}{tail}多快", "{hw} 跑 {model}{tail} 速度多少", "{hw}跑{model}{tail}每秒多少token",
                          "{model}{tail}，{hw}速度怎么样"],
                "serve": ["{hw}跑{model}{tail}可以吗", "{hw}部署{model}{tail}行不行", "用{hw}跑{model}{tail}，够吗"],
            }[intent]
        else:
            templates = {
                "can_run": ["can {a}{hw} run {model}{tail}?", "will {model}{tail} fit on {a}{hw}?",
                            "is {a}{hw} enough for {model}{tail}?", "{hw}, {model}{tail}?", "{model}{tail} on {a}{hw}?",
                            "can I run {model}{tail} on {a}{hw}?", "would {model}{tail} run on {a}{hw}",
                            "{hw} here. is {model}{tail} doable?", "{hw} - can it handle {model}{tail}?"],
                "speed": ["how fast is {model}{tail} on {a}{hw}?", "tokens/s for {model}{tail} on {a}{hw}?",
                          "what speed would {a}{hw} get with {model}{tail}?", "{hw}: {model}{tail}, how many t/s?",
                          "how many tokens per second does {model}{tail} do on {a}{hw}"],
                "serve": ["can {a}{hw} serve {model}{tail}?", "{model} on {a}{hw}{tail}: will it keep up?",
                          "is {a}{hw} enough to host {model}{tail}?"],
            }[intent]
        if "cpu_only" in kinds and not zh:
            templates = {"can_run": ["{hw}: can I run {model}{tail}?", "{hw} - will {model}{tail} work?",
                                     "with {hw}, can I run {model}{tail}?"],
                         "speed": ["{hw}: how fast is {model}{tail}?", "with {hw}, how many tokens/s for {model}{tail}?"],
                         "serve": ["{hw}: can I serve {model}{tail}?"]}[intent]
        template = self.pick(templates)
        if bare:  # "M3 Max 128" only where the size cannot run into the next number
            template = self.pick([t for t in templates if re.search(r"\{hw\}(?:,|，|:| -| here|能| 能|跑| 跑|部署)", t)]
                                 or templates)
        q = front + template.format(hw=hw, a=article, model=model, tail=tail)
        expect["intent"] = intent
        kinds.append("intent")
        return self.finish(q, expect, kinds, f"sizing/{intent}")

    def finish(self, q: str, expect: dict, kinds: list[str], source: str, skip: tuple[str, ...] = ()) -> Item:
        q = re.sub(r" {2,}", " ", q)
        if not expect.get("error"):
            for name in CONTROLLED:
                if name not in expect and name not in skip:
                    expect[name] = NONE
        expect = {k: v for k, v in expect.items() if v is not None}
        return Item(q=q, expect=expect, kinds=list(dict.fromkeys(kinds)), source=source)

    def finetune(self, zh: bool) -> Item:
        hw, expect, kinds, _ = self.hardware(zh, want_ram=False, allow_apple=False, allow_cpu=False)
        model, m_expect, m_kinds = self.model_phrase(models=[m for m in self.models if m.params_b <= 72])
        expect.update(m_expect)
        kinds += m_kinds + ["finetune", "intent"]
        word, method = self.pick(METHODS)
        b = self.pick([1, 2, 4, 8, 16])
        s = self.pick([512, 1024, 2048, 4096, 8192])
        batch = self.pick(BATCH_ZH if zh else BATCH_EN).format(b=b)
        seq = self.pick(SEQ_ZH if zh else SEQ_EN).format(s=s)
        nums = [batch, seq]
        self.r.shuffle(nums)
        if zh:
            mword = {"lora": self.pick(["LoRA", "lora"]), "qlora": self.pick(["QLoRA", "qlora"]),
                     "full": self.pick(["全参数", "全量", "全参"])}[method]
            q = self.pick(["{hw}能{m}微调{model}吗，{n0}，{n1}", "用{hw} {m}微调{model}，{n0}，{n1}，显存够吗",
                           "{model} {m}微调，{n0} {n1}，{hw}行不行"])
        else:
            mword = {"lora": word, "qlora": word, "full": self.pick(["full", "full-parameter", "full parameter"])}[method]
            q = self.pick(["can I {m} fine-tune {model} on {a}{hw} with {n0} and {n1}?",
                           "{m} finetune of {model} on {a}{hw}, {n0}, {n1}: will it fit?",
                           "{hw}: {m} fine-tuning {model}, {n0}, {n1}?"])
        article = "" if zh or _counted(hw) else self.pick(["a ", "my "])
        q = q.format(hw=hw, a=article, m=mword, model=model, n0=nums[0], n1=nums[1])
        expect.update({"train_method": method, "batch_size": b, "sequence_length": s, "intent": "fine_tune"})
        return self.finish(q, expect, kinds, "finetune")

    def prompt(self, zh: bool) -> Item:
        hw, expect, kinds, _ = self.hardware(zh, want_ram=False, allow_cpu=False)
        model, m_expect, m_kinds = self.model_phrase()
        expect.update(m_expect)
        kinds += m_kinds + ["prompt", "intent"]
        p = self.pick([500, 1000, 2000, 3000, 6000, 8000, 12000, 20000])
        first = self.chance(0.6)
        if zh:
            q = self.pick(["{hw}跑{model}，输入{p}个token，" + ("首字延迟多少" if first else "预填充要多久"),
                           "{hw}上{model}处理{p} token的prompt" + ("，首token要等多久" if first else "要多久")])
        else:
            q = self.pick([("how long until the first token with a {p}-token prompt, {model} on {a}{hw}?" if first else
                            "how long does {a}{hw} take to read a {p}-token prompt with {model}?"),
                           ("time to first token for {model} on {a}{hw} with a prompt of {p} tokens" if first else
                            "prompt processing for {model} on {a}{hw}: prompt of {p} tokens, how long?"),
                           ("{model} on {a}{hw}, {p} token prompt, TTFT?" if first else
                            "{model} on {a}{hw}, {p} token prompt, how long to process it?")])
        article = "" if zh or _counted(hw) else self.pick(["a ", "my "])
        q = q.format(hw=hw, a=article, model=model, p=p)
        expect.update({"prompt_tokens": p, "wants_first_token": True if first else NONE, "intent": "speed"})
        return self.finish(q, expect, kinds, "prompt", skip=("context",))

    def moe_offload(self, zh: bool) -> Item:
        gpu_text, expect, kinds = self.gpu_phrase(zh, allow_count=False)
        ram, ram_expect = self.ram_phrase(zh)
        expect.update(ram_expect)
        model, m_expect, m_kinds = self.model_phrase(models=self.moe)
        expect.update(m_expect)
        kinds += ["ram"] + m_kinds + ["moe_offload", "intent"]
        moe = self.pick(MOE_ZH if zh else MOE_EN).format(k=self.pick([8, 16, 24, 30, 40, 48]))
        if zh:
            q = self.pick(["{gpu}加{ram}跑{model}，{moe}，能跑吗", "{gpu} + {ram}，{model} {moe} 速度多少",
                           "{model}，{moe}，{gpu}配{ram}行吗"])
        else:
            q = self.pick(["{gpu} and {ram}: can I run {model} {moe}?", "{model} on a {gpu} with {ram}, {moe}?",
                           "how fast is {model} on {gpu} + {ram} {moe}?"])
        q = q.format(gpu=gpu_text, ram=ram, model=model, moe=moe)
        expect.update({"experts_in_ram": True, "cpu_only": False,
                       "intent": "speed" if ("how fast" in q or "速度" in q) else "can_run"})
        return self.finish(q, expect, kinds, "moe")

    def comparison(self, zh: bool) -> Item:
        model, m_expect, m_kinds = self.model_phrase(models=self.models)
        if self.chance(0.7):
            a, b = self.r.sample(self.cards, 2)
            while set(a.keys) & set(b.keys):
                a, b = self.r.sample(self.cards, 2)
            ta, _, ka = self.gpu_phrase(zh, allow_count=False, gpu=a)
            tb, _, kb = self.gpu_phrase(zh, allow_count=False, gpu=b)
            if zh:
                q = self.pick(["{a}和{b}跑{model}哪个快", "{model}用{a}还是{b}", "{a} vs {b} 跑 {model}",
                               "{a}能跑{model}吗？{b}呢？"])
            else:
                q = self.pick(["{a} vs {b} for {model}?", "{a} or {b} for {model}?", "{model}: {a} vs {b}",
                               "can a {a} run {model}? what about a {b}?", "{a} vs. {b}, which runs {model} faster?"])
            q = q.format(a=ta, b=tb, model=model)
            expect = {**m_expect, "options": [{"gpu_names": [a.name]}, {"gpu_names": [b.name]}]}
            kinds = ["comparison"] + m_kinds
            return self.finish(q, expect, kinds, "compare/gpu", skip=("gpu_names", "gpu_counts", "intent"))
        hw, expect, kinds, bare = self.hardware(zh, want_ram=False)
        while True:
            (qa, na), (qb, nb) = self.r.sample(QUANTS_EN, 2)
            if na != nb:
                break
        if zh:
            q = self.pick(["{hw}跑{model}，{qa}和{qb}差多少", "{model} {qa} 还是 {qb}，{hw}"])
        else:
            q = self.pick(["{model} {qa} vs {qb} on {hw}?", "{hw}: {model}, {qa} or {qb}?"])
        q = q.format(hw=hw, model=model, qa=qa, qb=qb)
        expect.update(m_expect)
        expect["options"] = [{"quant": na}, {"quant": nb}]
        return self.finish(q, expect, kinds + m_kinds + ["comparison"], "compare/quant", skip=("quant", "intent"))

    def unknown(self, zh: bool) -> Item:
        if self.chance(0.55):
            name, must_say = self.pick(UNKNOWN_MODELS)
            written = self.pick([name, name.title(), name.replace(" ", "-")])
            hw, _, _, _ = self.hardware(zh, want_ram=False)
            if zh:
                q = self.pick(["{hw}能跑{m}吗", "{m}在{hw}上多快", "跑{m}需要什么显卡"])
            else:
                q = self.pick(["can {hw} run {m}?", "how fast is {m} on {hw}?", "what gpu do I need for {m}?",
                               "{m} on {hw} q4_k_m?"])
            q = q.format(hw=hw, m=written)
            expect = {"error": "unknown_model", "model_name": NONE, "error_names": must_say}
            return self.finish(q, expect, ["unknown_name"], "unknown/model")
        name = self.pick(UNKNOWN_GPUS)
        written = self.pick([name, name.lower()])
        model, _, m_kinds = self.model_phrase(models=self.models)
        if zh:
            q = self.pick(["{g}能跑{m}吗", "{g}跑{m}多快", "{g}能跑什么模型"])
        else:
            q = self.pick(["can an {g} run {m}?", "how fast is {m} on an {g}?", "what's the best model for an {g}?",
                           "{g} with 64GB DDR5, {m}?"])
        q = q.format(g=written, m=model)
        expect = {"error": "unknown_gpu", "gpu_names": NONE, "error_names": name}
        return self.finish(q, expect, ["unknown_name"], "unknown/gpu")

    def vram_only(self, zh: bool) -> Item:
        size = self.pick([8, 12, 16, 24, 32, 48])
        words = (["{s}G显卡", "显卡{s}G", "显存{s}G", "{s}GB显存", "{s}G显存的卡"] if zh else
                 ["a {s}GB card", "a {s}GB GPU", "a {s}gb graphics card", "{s}GB of VRAM", "{s} GB VRAM", "a {s}G gpu"])
        hw = self.pick(words).format(s=size)
        model, m_expect, m_kinds = self.model_phrase()
        q = self.pick(["{hw}能跑{m}吗", "{hw}跑{m}行吗"] if zh else ["can {hw} run {m}?", "{m} on {hw}?",
                                                                    "is {hw} enough for {m}?"])
        q = q.format(hw=hw, m=model)
        expect = {**m_expect, "vram_only": True, "ram_gib": NONE, "intent": "can_run"}
        return self.finish(q, expect, ["vram_only", "intent"] + m_kinds, "vram_only", skip=("gpu_names", "gpu_counts"))

    def recommend(self, zh: bool) -> Item:
        hw, expect, kinds, bare = self.hardware(zh)
        if zh:
            q = self.pick(["{hw}能跑什么模型", "{hw}，推荐什么模型", "{hw}最大能跑多大的模型"])
        else:
            q = self.pick(["what's the best model I can run on {hw}?", "{hw}, what models can I run?",
                           "biggest model for {hw}?"])
        if bare:
            q = self.pick(["{hw}, what models can I run?"] if not zh else ["{hw}能跑什么模型", "{hw}，推荐什么模型"])
        expect["intent"] = "recommend"
        return self.finish(q.format(hw=hw), expect, kinds + ["intent"], "recommend")

    def requirements(self, zh: bool) -> Item:
        model, expect, kinds = self.model_phrase()
        parts = []
        if "quant" not in expect and self.chance(0.5):
            qt, q_expect = self.quant_part(zh)
            expect.update(q_expect)
            kinds.append("quant")
            parts.append(qt)
        if self.chance(0.4):
            c, c_expect = self.context_part(zh)
            expect.update(c_expect)
            kinds.append("context")
            parts.append(c)
        tail = self.tail(parts, zh)
        q = self.pick(["跑{m}{t}需要什么显卡", "{m}{t}需要多少显存", "跑{m}{t}最低要什么配置"] if zh else
                      ["what gpu do I need for {m}{t}?", "how much vram does {m}{t} need?",
                       "minimum hardware for {m}{t}?"]).format(m=model, t=tail)
        expect["intent"] = "requirements"
        return self.finish(q, expect, kinds + ["intent"], "requirements")

    def max_context(self, zh: bool) -> Item:
        hw, expect, kinds, bare = self.hardware(zh, want_ram=False, allow_cpu=False)
        model, m_expect, m_kinds = self.model_phrase()
        expect.update(m_expect)
        q = self.pick(["{hw}跑{m}最长能开多少上下文", "{m}在{hw}上最大上下文是多少"] if zh else
                      ["what's the max context for {m} on {hw}?", "{hw}: longest context I can use with {m}?"])
        if bare:
            q = "{hw}: longest context I can use with {m}?" if not zh else "{hw}跑{m}最长能开多少上下文"
        expect["intent"] = "max_context"
        return self.finish(q.format(hw=hw, m=model), expect, kinds + m_kinds + ["intent"], "max_context")

    def followup(self, zh: bool) -> Item:
        """A plain sizing question, then a follow-up that changes one thing; the pair is
        merged by bot.conversation.merge and the merged reading judged."""
        if self.chance(0.25):
            gpu = self.pick([g for g in self.apple if len(_apple_sizes(self.c, g)) > 1])
            hw = f"{gpu.chip.replace('Apple ', '')} {gpu.vram_gib:g}GB"
        else:
            gpu = self.pick(self.cards)
            hw = gpu.keys[0] + (f" {gpu.vram_gib:g}gb" if len(self._variants(gpu)) > 1 else "")
        model = self.pick(self.models)
        alias = next(a for a in model.aliases if self._usable(a))
        before = f"{hw}能跑{alias}吗" if zh else f"can a {hw} run {alias}?"
        expect = {"gpu_names": [gpu.name], "gpu_counts": [1], "model_name": model.name, "params_b": NONE,
                  "intent": "can_run"}
        kinds = ["followup"]
        change = self.pick(["count", "ram", "context", "quant", "model", "size", "users", "apple"]
                           if gpu.vendor != "apple" else ["context", "quant", "model", "size", "users", "apple", "apple"])
        if change == "size":
            others = _same_family_sizes(self.c, model)
            if not others:
                change = "model"
            else:
                label, other = self.pick(others)
                q = self.pick(["那{l}b的呢", "换成{l}b的呢", "{l}b的呢？"] if zh else
                              ["what about the {l}b version?", "and the {l}b one?", "what about {l}b?"]).format(l=label)
                expect["model_name"] = other.name
        if change == "model":
            other = self.pick([m for m in self.models if m.name != model.name])
            alias2 = self.pick([a for a in other.aliases if self._usable(a)])
            q = self.pick(["那换成{m}呢", "那{m}呢？"] if zh else ["what about {m}?", "and {m}?", "how about {m} instead?"]
                          ).format(m=alias2)
            expect["model_name"] = other.name
        elif change == "count":
            n = self.pick([1, 2, 2, 3, 4])
            if n == 1:  # from two cards down to one
                before = f"两张{hw}能跑{alias}吗" if zh else f"can 2x {hw} run {alias}?"
                q = self.pick(["那只用一张呢", "一张呢？"] if zh else ["what about with just one?", "and with only one?"])
            else:
                q = self.pick([f"那用{ZH_NUM[n]}张呢", f"{ZH_NUM[n]}张呢？"] if zh else
                              [f"what about {EN_NUM[n]} of them?", f"and with {n} of them?", f"what if I had {EN_NUM[n]} of them?"])
            expect["gpu_counts"] = [n]
        elif change == "ram":
            ram, ram_expect = self.ram_phrase(zh)
            q = self.pick([f"那加上{ram}呢", f"再加{ram}呢？"] if zh else [f"and with {ram}?", f"what if I add {ram}?"])
            expect.update(ram_expect)
            expect["cpu_only"] = False
        elif change == "context":
            c, c_expect = self.context_part(zh)
            q = self.pick([f"那{c}呢", f"{c}呢？"] if zh else [f"and at {c}?", f"what about {c}?"])
            q = q.replace("at at ", "at ").replace("about at ", "about ")
            expect.update(c_expect)
        elif change == "quant":
            word, name = self.pick(QUANTS_EN)
            q = self.pick([f"那{word}呢", f"换成{word}呢"] if zh else [f"what about {word}?", f"and in {word}?"])
            expect["quant"] = name
        elif change == "users":
            n = self.pick(USERS)
            q = self.pick([f"那{n}个人同时用呢", f"{n}个并发呢？"] if zh else [f"what about {n} users?",
                                                                             f"and for {n} concurrent users?"])
            expect["users"] = n
            expect["intent"] = "serve"
        elif change == "apple":
            if gpu.vendor != "apple":
                gpu = self.pick([g for g in self.apple if len(_apple_sizes(self.c, g)) > 1])
                hw = f"{gpu.chip.replace('Apple ', '')} {gpu.vram_gib:g}GB"
                before = f"{hw}能跑{alias}吗" if zh else f"can a {hw} run {alias}?"
                expect["gpu_names"] = [gpu.name]
            other = self.pick([g for g in _apple_sizes(self.c, gpu) if g.name != gpu.name])
            q = self.pick([f"那{other.vram_gib:g}G的呢", f"{other.vram_gib:g}G版本呢？"] if zh else
                          [f"and the {other.vram_gib:g}GB one?", f"what about the {other.vram_gib:g}gb version?"])
            expect["gpu_names"] = [other.name]
            expect["ram_gib"] = NONE
        item = self.finish(q, expect, kinds, f"followup/{change}")
        item.before = before
        return item

    def one(self) -> Item:
        zh = self.chance(0.4)
        roll = self.r.random()
        if roll < 0.38:
            return self.sizing("can_run", zh)
        if roll < 0.53:
            return self.sizing("speed", zh)
        if roll < 0.58:
            return self.sizing("serve", zh)
        if roll < 0.63:
            return self.finetune(zh)
        if roll < 0.67:
            return self.prompt(zh)
        if roll < 0.72:
            return self.moe_offload(zh)
        if roll < 0.79:
            return self.comparison(zh)
        if roll < 0.85:
            return self.unknown(zh)
        if roll < 0.88:
            return self.vram_only(zh)
        if roll < 0.91:
            return self.recommend(zh)
        if roll < 0.94:
            return self.requirements(zh)
        if roll < 0.955:
            return self.max_context(zh)
        return self.followup(zh)


def generate(catalog=None, n: int = COUNT, seed: int = SEED) -> list[Item]:
    """`n` questions with their readings; the same seed gives the same list."""
    g = Grammar(catalog or _catalog(), seed)
    items: list[Item] = []
    seen: set[str] = set()
    while len(items) < n:
        item = g.one()
        if item.q in seen:
            continue
        seen.add(item.q)
        items.append(item)
    return items


if __name__ == "__main__":  # a look at what it writes
    import sys

    for it in generate(n=int(sys.argv[1]) if len(sys.argv) > 1 else 40):
        print(it.q)
        print("   ", {k: v for k, v in it.expect.items() if v != NONE}, it.kinds)
