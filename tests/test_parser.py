"""Natural-language questions, English and Chinese, with the structured query the
parser must produce and the verdict the engine must reach."""

import pytest

from rules.engine import answer_query
from rules.parser import parse
from rules.schema import Intent, Verdict

FITS, PARTIAL, CPU, NO = Verdict.FITS_GPU, Verdict.PARTIAL_OFFLOAD, Verdict.CPU_ONLY, Verdict.DOES_NOT_FIT
CAN, SPEED, REC, REQ, EXPLAIN = Intent.CAN_RUN, Intent.SPEED, Intent.RECOMMEND, Intent.REQUIREMENTS, Intent.EXPLAIN

# (question, expected query fields, expected intent, expected verdict or None)
CASES = [
    # --- English: can-run ---------------------------------------------------------------
    ("can a 3060 12GB run 13B 4-bit?", {"gpu_names": ["RTX 3060 12GB"], "params_b": 13, "quant": "Q4_K_M"}, CAN, FITS),
    ("Can an RTX 3060 run Llama 2 13B?", {"gpu_names": ["RTX 3060 12GB"], "model_name": "Llama 2 13B"}, CAN, FITS),
    ("can my rtx3060 8gb run llama 2 13b q4_k_m", {"gpu_names": ["RTX 3060 8GB"], "quant": "Q4_K_M"}, CAN, PARTIAL),
    ("will llama 3.1 70b run on a 4090?", {"gpu_names": ["RTX 4090"], "model_name": "Llama 3.1 70B"}, CAN, PARTIAL),
    ("can 2x3090 run llama 3.1 70b", {"gpu_names": ["RTX 3090"], "gpu_counts": [2]}, CAN, FITS),
    ("dual 4090 for 70b at 4 bit?", {"gpu_names": ["RTX 4090"], "gpu_counts": [2], "params_b": 70}, CAN, FITS),
    ("can 3090 x2 run llama 65b", {"gpu_names": ["RTX 3090"], "gpu_counts": [2], "model_name": "LLaMA 65B"}, CAN, FITS),
    ("can a single 3090 run llama 65b in 4-bit", {"gpu_counts": [1], "model_name": "LLaMA 65B"}, CAN, PARTIAL),
    # Llama 2 7B Q4_K_M at 4k context is 6.6 GiB with its KV cache: 4 of 32 layers spill
    ("can a GTX 1660 run 7B?", {"gpu_names": ["GTX 1660"], "params_b": 7}, CAN, PARTIAL),
    ("can a GTX 1660 run 7B with 2k context?", {"context": 2048}, CAN, FITS),
    ("can a gtx 1060 run mistral 7b 8bit", {"model_name": "Mistral 7B", "quant": "Q8_0"}, CAN, PARTIAL),
    ("can an RX 7900 XTX run Qwen2.5 32B?", {"gpu_names": ["Radeon RX 7900 XTX"], "model_name": "Qwen2.5 32B"},
     CAN, FITS),
    ("can a 4060 ti 16gb run phi-4 q8_0", {"gpu_names": ["RTX 4060 Ti 16GB"], "model_name": "Phi-4", "quant": "Q8_0"},
     CAN, PARTIAL),  # 14.5 GiB of weights + 0.8 KV + 0.8 overhead > 16
    ("4060 ti 8gb with 32GB DDR5-5600, can it do 13b q5_k_m?",
     {"gpu_names": ["RTX 4060 Ti 8GB"], "ram_gib": 32, "ram_kind": "DDR5-5600", "quant": "Q5_K_M"}, CAN, PARTIAL),
    ("can a 3080 run 13b at fp16?", {"gpu_names": ["RTX 3080 10GB"], "quant": "F16"}, CAN, PARTIAL),
    ("can a 3080 12gb run llama 3 8b in fp16 with 8k context",
     {"gpu_names": ["RTX 3080 12GB"], "model_name": "Llama 3 8B", "quant": "F16", "context": 8192}, CAN, PARTIAL),
    ("can a 3060 12gb run llama 3.1 8b with 128k context", {"context": 131072}, CAN, PARTIAL),
    ("can a 3090 run llama 3.1 8b with 128k context", {"context": 131072}, CAN, FITS),  # GQA: 16 GiB of KV
    ("can a 3060 12gb run llama 3.1 8b with 128k context and q4_0 kv cache",
     {"context": 131072, "kv_cache_type": "q4_0"}, CAN, FITS),
    ("Mixtral 8x7B on a 4090 with 64GB RAM?", {"model_name": "Mixtral 8x7B", "ram_gib": 64}, CAN, PARTIAL),
    ("can a tesla p40 run llama 30b", {"gpu_names": ["Tesla P40"], "model_name": "LLaMA 30B"}, CAN, FITS),
    ("can an a100 80gb run llama 3.1 70b at 8-bit", {"gpu_names": ["A100 80GB"], "quant": "Q8_0"}, CAN, FITS),
    ("could an H100 run Llama 3.1 405B?", {"gpu_names": ["H100 SXM"], "model_name": "Llama 3.1 405B"}, CAN, NO),
    ("can a m2 max 96gb run llama 3.1 70b?", {"gpu_names": ["Apple M2 Max 96GB"]}, CAN, FITS),
    ("can an M1 8GB run llama 2 13b?", {"gpu_names": ["Apple M1 8GB"]}, CAN, NO),
    ("can my m3 pro 36gb run gemma 2 27b", {"gpu_names": ["Apple M3 Pro 36GB"], "model_name": "Gemma 2 27B"},
     CAN, FITS),
    ("can I run llama 2 7b with no GPU and 16GB RAM?", {"cpu_only": True, "ram_gib": 16}, CAN, CPU),
    ("cpu only, 8gb ram, llama 2 13b 8-bit?", {"cpu_only": True, "ram_gib": 8, "quant": "Q8_0"}, CAN, NO),
    ("can a ryzen 7 3700x run llama 30b on cpu with 64gb ram",
     {"cpu_name": "Ryzen 7 3700X", "cpu_only": True, "ram_gib": 64}, CAN, CPU),
    ("12GB VRAM, can it run 13b?", {"vram_only": True, "params_b": 13}, CAN, FITS),
    ("can a 3060 and 32gb of ram run deepseek r1 32b", {"ram_gib": 32, "model_name": "DeepSeek-R1-Distill-Qwen 32B"},
     CAN, PARTIAL),
    ("is a 2060 12gb enough for llama 13b gptq", {"gpu_names": ["RTX 2060 12GB"], "quant": "GPTQ_4BIT"}, CAN, FITS),
    ("can a 5090 run llama 3.3 70b q2_k", {"gpu_names": ["RTX 5090"], "model_name": "Llama 3.3 70B", "quant": "Q2_K"},
     CAN, FITS),
    ("can a quadro rtx 8000 run 65b", {"gpu_names": ["Quadro RTX 8000"], "params_b": 65}, CAN, FITS),
    ("can an arc a770 run llama 3.1 8b", {"gpu_names": ["Arc A770 16GB"], "model_name": "Llama 3.1 8B"}, CAN, FITS),
    # --- English: speed ------------------------------------------------------------------
    ("how fast is llama 2 13b on a 3090?", {"model_name": "Llama 2 13B", "gpu_names": ["RTX 3090"]}, SPEED, FITS),
    ("tokens/s for 70b on 2x 3090", {"gpu_counts": [2], "params_b": 70}, SPEED, FITS),
    ("how many tokens per second will a 13 GB model do at 115 GB/s?", {"model_file_gb": 13, "bandwidth_gbs": 115},
     SPEED, None),
    ("speed of llama 2 7b on ddr4-3200 dual channel, cpu only",
     {"ram_kind": "DDR4-3200", "ram_channels": 2, "cpu_only": True}, SPEED, CPU),
    ("how fast is 65b on a threadripper 3990x", {"cpu_name": "Threadripper 3990X", "params_b": 65}, SPEED, None),
    ("How fast would an 8 GB model run with 89.6 GB/s", {"model_file_gb": 8, "bandwidth_gbs": 89.6}, SPEED, None),
    ("how fast is mixtral 8x7b on a 3090 with 64gb ddr5", {"model_name": "Mixtral 8x7B", "ram_kind": "DDR5-5600"},
     SPEED, PARTIAL),
    # --- English: recommend / requirements ------------------------------------------------
    ("what's the best model I can run on a 3060 12gb?", {"gpu_names": ["RTX 3060 12GB"]}, REC, None),
    ("I have an RTX 4090 and 64GB RAM, what can I run?", {"gpu_names": ["RTX 4090"], "ram_gib": 64}, REC, None),
    ("recommend a model for 16gb ram no gpu", {"cpu_only": True, "ram_gib": 16}, REC, None),
    ("what gpu do I need for llama 3.1 70b?", {"model_name": "Llama 3.1 70B"}, REQ, None),
    ("how much vram does llama 2 13b need at 8 bit?", {"model_name": "Llama 2 13B", "quant": "Q8_0"}, REQ, None),
    ("minimum hardware for mixtral 8x22b", {"model_name": "Mixtral 8x22B"}, REQ, None),
    ("how much ram to run 30b on cpu", {"params_b": 30, "cpu_only": True}, REQ, None),
    # --- Chinese -------------------------------------------------------------------------
    ("3060 12G能跑13B 4位量化吗？", {"gpu_names": ["RTX 3060 12GB"], "params_b": 13, "quant": "Q4_K_M"}, CAN, FITS),
    ("两张3090能跑70B吗", {"gpu_names": ["RTX 3090"], "gpu_counts": [2], "params_b": 70}, CAN, FITS),
    ("一张4090能跑llama 3.1 70b吗", {"gpu_names": ["RTX 4090"], "model_name": "Llama 3.1 70B"}, CAN, PARTIAL),
    ("没有显卡，16GB内存能跑7B吗？", {"cpu_only": True, "ram_gib": 16, "params_b": 7}, CAN, CPU),
    ("我只有集显和8G内存，能跑13b 8位吗", {"cpu_only": True, "ram_gib": 8, "quant": "Q8_0"}, CAN, NO),
    ("4090跑qwen2.5 32b速度多快？", {"gpu_names": ["RTX 4090"], "model_name": "Qwen2.5 32B"}, SPEED, FITS),
    ("3090跑70b每秒多少token", {"gpu_names": ["RTX 3090"], "params_b": 70}, SPEED, PARTIAL),
    ("2080 Ti 能跑 llama 2 13b 吗", {"gpu_names": ["RTX 2080 Ti"]}, CAN, PARTIAL),  # 11.3 GiB > 11
    ("跑llama 3.1 70b需要什么显卡？", {"model_name": "Llama 3.1 70B"}, REQ, None),
    ("我有一张3060 12g和32g内存，推荐什么模型？", {"gpu_names": ["RTX 3060 12GB"], "ram_gib": 32}, REC, None),
    ("M2 Ultra 192G能跑405B吗", {"gpu_names": ["Apple M2 Ultra 192GB"], "params_b": 405}, CAN, NO),  # 229 GiB
    ("M2 Ultra 192G能跑405B 2bit吗", {"quant": "Q2_K"}, CAN, FITS),  # Q2_K 405B: 139 GiB of 144 (today's Q2_K mix)
    ("P40跑30b 4bit可以吗", {"gpu_names": ["Tesla P40"], "params_b": 30, "quant": "Q4_K_M"}, CAN, FITS),
    ("4060ti 16g 能跑 mixtral 8x7b 吗，内存64g", {"gpu_names": ["RTX 4060 Ti 16GB"], "ram_gib": 64}, CAN, PARTIAL),
    ("7900xtx跑llama 3 8b fp16可以吗", {"gpu_names": ["Radeon RX 7900 XTX"], "quant": "F16"}, CAN, FITS),
    ("显存12G能跑多大的模型", {"vram_only": True}, REC, None),
    ("纯CPU跑65B需要多少内存", {"cpu_only": True, "params_b": 65}, REQ, None),
    ("130亿参数的模型，3060 8G能跑吗", {"params_b": 13, "gpu_names": ["RTX 3060 8GB"]}, CAN, PARTIAL),
    ("ddr5-6000双通道，纯cpu跑8b多快", {"ram_kind": "DDR5-6000", "ram_channels": 2, "cpu_only": True}, SPEED, CPU),
    ("四张3090跑405b 2bit行吗", {"gpu_counts": [4], "params_b": 405, "quant": "Q2_K"}, CAN, NO),  # 70 GiB spill > 32 GiB RAM
    ("四张3090加128G内存跑405b 2bit行吗", {"gpu_counts": [4], "ram_gib": 128}, CAN, PARTIAL),
    ("8k上下文下，3060 12g 跑 llama 3 8b q8 可以吗", {"context": 8192, "quant": "Q8_0"}, CAN, FITS),
    ("a100 40g能跑llama 65b吗", {"gpu_names": ["A100 40GB"], "model_name": "LLaMA 65B"}, CAN, PARTIAL),  # Q4_K_M
    ("a100 40g能跑llama 65b gptq吗", {"quant": "GPTQ_4BIT"}, CAN, FITS),  # the article's row
]


@pytest.mark.parametrize(("question", "fields", "intent", "verdict"), CASES, ids=[c[0][:48] for c in CASES])
def test_question_parses_and_gets_its_verdict(catalog, question, fields, intent, verdict):
    query = parse(question, catalog)
    assert query.error is None, query.error_message
    got = query.model_dump()
    for field, value in fields.items():
        assert got[field] == value, (field, got)
    assert query.intent == intent
    result = answer_query(query, catalog)
    assert result.error is None
    if verdict is not None:
        assert result.verdict == verdict, result.answer


def test_the_table_has_at_least_60_questions_in_both_languages():
    chinese = [c for c in CASES if any("\u4e00" <= ch <= "\u9fff" for ch in c[0])]
    assert len(CASES) >= 60 and len(chinese) >= 15


def test_defaults_are_stated_in_the_answer(catalog):
    result = answer_query(parse("can a 3090 run 13b?", catalog), catalog)
    text = result.answer
    assert "Q4_K_M" in text and "context" in text.lower()
    assert "system RAM not given" in text or "assumed 32" in text


def test_every_figure_is_explained(catalog):
    result = answer_query(parse("can a 3060 12gb run llama 2 13b 4-bit?", catalog), catalog)
    m = result.memory
    assert f"weights {m.weights_gib:.1f}" in result.answer
    assert f"KV cache {m.kv_cache_gib:.1f}" in result.answer
    assert f"= {m.total_gib:.1f} GiB of {m.available_gib:g} GiB" in result.answer


@pytest.mark.parametrize(("question", "error", "hint"), [
    ("can an rtx 3095 run 13b?", "unknown_gpu", "Did you mean"),
    ("can a 3060 16gb run 13b?", "unknown_gpu_variant", "12 GB"),
    ("can a 3090 run a 90000b model?", "absurd_size", "Check the size"),
    ("can 40x 3090 run 70b?", "absurd_gpu_count", "16"),
    ("can a 3090 run 13b with 99999999k context?", "absurd_context", "4k"),
])
def test_bad_hardware_or_sizes_get_a_helpful_sentence(catalog, question, error, hint):
    query = parse(question, catalog)
    assert query.error == error
    result = answer_query(query, catalog)
    assert result.error == error and hint in result.answer


def test_every_catalog_name_reads_back_as_itself(catalog):
    """Slash-command options and autocomplete offer catalog names; each must parse."""
    for gpu in catalog.gpus:
        query = parse(f"can {gpu.name} run Llama 2 13B Q4_K_M", catalog)
        assert query.gpu_names == [gpu.name] and query.model_name == "Llama 2 13B", gpu.name
    for model in catalog.models:
        query = parse(f"can RTX 3090 run {model.name}", catalog)
        assert query.model_name == model.name and query.gpu_names == ["RTX 3090"], model.name
    for quant in catalog.quants:
        assert parse(f"can RTX 3090 run Llama 2 13B {quant.name}", catalog).quant == quant.name


def test_a_lone_letter_and_number_is_not_a_gpu(catalog):
    assert parse("can it do a 100 tokens/s on 7b?", catalog).gpu_names == []
    card = parse("is a 40 gb card enough for 65b?", catalog)
    assert "A40" not in card.gpu_names  # "a 40 gb card" is a card with 40 GB, not an A40
    assert card.vram_only


# --- the parse test set (tests/data/parse_questions.toml) ------------------------------------
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUESTION_SET = tomllib.loads((Path(__file__).parent / "data" / "parse_questions.toml").read_text("utf-8"))["case"]
NONE = "__none__"  # the field must stay empty (None, or nothing read)


def test_the_question_set_is_large_and_bilingual():
    chinese = [c for c in QUESTION_SET if any("\u4e00" <= ch <= "\u9fff" for ch in c["q"])]
    assert len(QUESTION_SET) >= 150
    assert len(chinese) / len(QUESTION_SET) >= 0.30
    assert sum(c.get("regression", False) for c in QUESTION_SET) >= 10  # every misreading in issue 8


@pytest.mark.parametrize("case", QUESTION_SET, ids=[c["q"][:48] for c in QUESTION_SET])
def test_question_set(catalog, case):
    query = parse(case["q"], catalog)
    assert query.error == case.get("error"), query.error_message
    got = query.model_dump()
    for field, value in case["expect"].items():
        if value == NONE:
            assert not got[field], (field, got[field])
        elif isinstance(value, float | int) and not isinstance(value, bool):
            assert got[field] == pytest.approx(value), (field, got)
        else:
            assert got[field] == value, (field, got)
    if "intent" in case:
        assert query.intent == case["intent"]
    for text in case.get("assumed", []):
        assert any(text in a for a in query.assumptions), query.assumptions
    for text in case.get("unread", []):
        assert any(text in u for u in query.unread), query.unread
    result = answer_query(query, catalog)
    if "verdict" in case:
        assert result.verdict == case["verdict"], result.answer
    for text in case.get("answer_has", []):
        assert text in result.answer, result.answer
    # whatever the parser assumed or could not read is in the answer
    for note in query.assumptions + query.unread:
        assert note in result.answer, (note, result.answer)


# --- pasted tool output (tests/data/pasted/*.txt) ---------------------------------------------
PASTED = Path(__file__).parent / "data" / "pasted"
PASTED_CASES = [
    ("nvidia-smi-535-2x3090.txt", {"gpu_names": ["RTX 3090"], "gpu_counts": [2]}),
    ("nvidia-smi-550-h100.txt", {"gpu_names": ["H100 SXM"], "gpu_counts": [1]}),
    ("nvidia-smi-418-1080ti.txt", {"gpu_names": ["GTX 1080 Ti", "Tesla P40"], "gpu_counts": [1, 1]}),
    ("nvidia-smi-470-truncated.txt", {"vram_only": True}),
    ("nvidia-smi-L.txt", {"gpu_names": ["RTX 4090"], "gpu_counts": [2]}),
    ("nvidia-smi-query-csv.txt", {"gpu_names": ["RTX 3060 12GB"]}),
    ("rocm-smi-7900xtx.txt", {"gpu_names": ["Radeon RX 7900 XTX"]}),
    ("macos-m2max-64gb.txt", {"gpu_names": ["Apple M2 Max 64GB"]}),
    ("macos-m3max-40core-48gb.txt", {"gpu_names": ["Apple M3 Max 48GB"]}),
    ("lscpu-free-epyc.txt", {"cpu_name": "EPYC 9654", "ram_gib": 1511, "gpu_names": []}),
    ("lscpu-free-xeon.txt", {"cpu_name": "Xeon Platinum 8480+", "ram_gib": 503}),
    ("wmic-windows.txt", {"gpu_names": ["RTX 4080 Super"], "ram_gib": 32, "ram_kind": "DDR5-6000"}),
    ("wmic-cpu-ddr4.txt", {"cpu_name": "Ryzen 9 5900X", "ram_gib": 64, "ram_kind": "DDR4-3600"}),
    ("dxdiag.txt", {"gpu_names": ["RTX 4070"], "cpu_name": "Ryzen 7 7800X3D", "ram_gib": 32}),
    ("llama-cpp-cuda-log.txt", {"gpu_names": ["RTX 3090"], "gpu_counts": [2], "context": 8192}),
    ("llama-cpp-metal-log.txt", {"gpu_names": ["Apple M2 Max 64GB"], "context": 16384}),
]


@pytest.mark.parametrize(("name", "fields"), PASTED_CASES, ids=[c[0] for c in PASTED_CASES])
def test_pasted_tool_output(catalog, name, fields):
    question = (PASTED / name).read_text("utf-8") + "\ncan this run llama 3.1 70b q4_k_m?"
    query = parse(question, catalog)
    assert query.error is None, query.error_message
    assert query.model_name == "Llama 3.1 70B" and query.quant == "Q4_K_M"
    got = query.model_dump()
    for field, value in fields.items():
        assert got[field] == value, (field, got)
    result = answer_query(query, catalog)
    assert "pasted" in result.answer  # the answer says where the hardware came from


def test_a_llama_cpp_log_gives_the_model_its_quant_and_context(catalog):
    query = parse((PASTED / "llama-cpp-cuda-log.txt").read_text("utf-8") + "\nwhy only 14 tokens/s?", catalog)
    assert (query.model_name, query.quant, query.context) == ("Llama 3.1 70B", "Q4_K_M", 8192)
    assert query.gpu_names == ["RTX 3090"] and query.gpu_counts == [2]
    query = parse((PASTED / "llama-cpp-metal-log.txt").read_text("utf-8") + "\n这个速度正常吗？", catalog)
    assert (query.model_name, query.quant, query.lang) == ("Qwen2.5 14B", "Q8_0", "zh")
    assert any("Metal" in a for a in query.assumptions)  # the 64 GB was inferred, and that is said


def test_a_cut_gpu_name_is_reported_not_guessed(catalog):
    query = parse((PASTED / "nvidia-smi-470-truncated.txt").read_text("utf-8") + "\nllama 3.1 8b?", catalog)
    assert query.unread and "NVIDIA GeForce" in query.unread[0]
    assert "Not understood" in answer_query(query, catalog).answer


def test_pasted_m2_max_64gb_fits_llama_31_70b(catalog):
    """Issue 8: the pasted M2 Max 64 GB was read as the 32 GB variant and answered "does not fit"."""
    query = parse((PASTED / "macos-m2max-64gb.txt").read_text("utf-8") + "\nLlama 3.1 70B Q4_K_M?", catalog)
    assert answer_query(query, catalog).verdict == FITS


def test_40_core_m3_max_is_sized_at_400_gbs(catalog):
    result = answer_query(parse("how fast is llama 3.1 8b on a 40-core M3 Max?", catalog), catalog)
    assert result.hardware.gpus[0].bandwidth_gbs == 400


# --- property: an unknown name is never answered as a different known model silently ---------
_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=10)


@settings(max_examples=150, deadline=None)
@given(name=_NAME, size=st.sampled_from(["7", "8", "13", "14", "32", "70", "1.5"]),
       sep=st.sampled_from(["-", " ", "_", ":"]),
       template=st.sampled_from(["can a 3090 run {m}?", "{m} on two 4090s", "4090能跑{m}吗", "how fast is {m} on a 3060",
                                 "what gpu do I need for {m}?"]))
def test_an_unknown_name_is_never_silently_a_known_model(catalog, name, size, sep, template):
    assume(not parse(name, catalog).has_hardware)  # "imac" is a machine, not a model name
    model = f"{name}{sep}{size}b"
    query = parse(template.format(m=model), catalog)
    result = answer_query(query, catalog)
    if query.model_name is not None:
        # only when the catalog really has a model of that name
        spec = catalog.model(query.model_name)
        assert any(alias.replace(" ", "") in model.replace(sep, "") or alias in model for alias in spec.aliases), model
    elif result.model is not None:
        # read as a bare size ("than-7b" → "7b"): the answer must say which model it assumed
        assert query.params_b is not None, result.answer
        said = [line for line in result.answer.splitlines() if "Assumptions" in line or "假设" in line]
        assert said and result.model.name in said[0], result.answer
    else:
        # the name is echoed as read: separators may come back as spaces ("mixtral-7b" → “mixtral 7b”)
        assert query.error == "unknown_model" and model.replace(sep, " ") in result.answer.lower().replace(sep, " ")


def test_one_line_nvidia_smi_query_is_the_cards_memory_not_ram(catalog):
    """`nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` for one card is a
    single line: "12288 MiB" is the card's memory, never 12 GiB of system RAM."""
    q = parse("NVIDIA GeForce RTX 3060, 12288 MiB", catalog)
    assert q.gpu_names == ["RTX 3060 12GB"] and q.ram_gib is None


def test_laptop_in_a_model_name_is_not_a_laptop_card(catalog):
    """Hypothesis found "can a 3090 run laptop-7?" refused as a laptop GPU: "laptop" must be
    its own word to say the card is a laptop one."""
    q = parse("can a 3090 run laptop-7?", catalog)
    assert q.error != "laptop_gpu" and q.gpu_names == ["RTX 3090"]
    assert parse("can a rtx 4090 laptop run llama 3 8b?", catalog).error == "laptop_gpu"
    # hypothesis again: "mobile 7b" is a model name; "mobile 16gb" still says a laptop card
    assert parse("can a 3090 run mobile 7b?", catalog).error == "unknown_model"
    for laptop in ("rtx 4090 mobile 16gb llama 3 8b", "my laptop has an rtx 4070, can it run llama 3 8b?"):
        assert parse(laptop, catalog).error == "laptop_gpu", laptop


def test_a_name_that_goes_on_past_an_alias_is_another_model(catalog):
    """"mistral-foo 7b" was Mistral 7B and "deepseek coder 12b" DeepSeek Coder 6.7B (no DeepSeek
    Coder has 12B: the open catalog has 1.3B, 6.7B and 33B); their qualifiers ("mistral-7b-instruct-v0.3",
    "gemma-2-9b-it") still name the catalog model."""
    assert parse("can a 3090 run deepseek coder 6.7b?", catalog).model_name == "deepseek-coder-6.7b-instruct"
    for name in ("mistral-foo 7b", "deepseek coder 12b"):
        q = parse(f"can a 3090 run {name}?", catalog)
        assert q.error == "unknown_model" and q.model_name is None, name
    # (Mistral 7B v0.3, vocab 32768, is its own row in the open catalog; the hand entry is v0.1)
    for text, model in (("mistral-7b-instruct-v0.3 on a 3090", "Mistral-7B-Instruct-v0.3"), ("gemma-2-9b-it on a 3060 12gb", "Gemma 2 9B"),
                        ("can a 3090 run mistral 7b instruct?", "Mistral 7B"), ("can a 4090 run qwen2.5-coder-7b?", "Qwen2.5-Coder 7B")):
        assert parse(text, catalog).model_name == model, text


@pytest.mark.parametrize("question", ["compare llama 3.1 8b and qwen 2.5 7b on a 3090",
                                      "is llama 3.1 8b or qwen2.5 7b faster on a 4090?",
                                      "3090跑llama 3.1 8b和qwen2.5 7b哪个快"])
def test_two_models_in_one_question_are_each_answered(catalog, question):
    """A comparison is answered per option, in a table before any single answer: the
    second model is never silently dropped nor pooled with the first."""
    query = parse(question, catalog)
    assert [o.model_name for o in query.options] == ["Llama 3.1 8B", "Qwen2.5 7B"]
    result = answer_query(query, catalog)
    table = result.answer.split("\n\n")[0].splitlines()[:5]
    assert any("Llama 3.1 8B" in line for line in table) and any("Qwen2.5 7B" in line for line in table)
    assert [r.model for r in result.recommendations] == ["Llama 3.1 8B", "Qwen2.5 7B"]
    assert all(r.expected_range for r in result.recommendations)
