"""Questions as people write them (issue 17): every kind of misreading seen on real-style
questions, in phrasings of our own, judged on the answer a reader gets. The generated and
hand-written reading sets (test_reading_generated.py, test_reading_corpus.py) judge the
reading itself, field by field."""

from __future__ import annotations

import inspect

import pytest

from bot.conversation import merge
from rules.engine import answer_query, answer_question
from rules.parse import parse
from rules.schema import Intent


def read(question: str):
    return parse(question)


# --- a memory size before the card, or without its unit ------------------------------------
@pytest.mark.parametrize(("question", "gpu"), [
    ("would a 16gb 4060 ti handle mistral nemo q8?", "RTX 4060 Ti 16GB"),
    ("16G的4060ti能跑qwen3 14b吗", "RTX 4060 Ti 16GB"),
    ("my 4060ti 16, is gemma 3 12b ok?", "RTX 4060 Ti 16GB"),
    ("12gb 2060 and llama 3.1 8b at 8k?", "RTX 2060 12GB"),
])
def test_a_size_next_to_a_card_is_its_memory(question, gpu):
    q = read(question)
    assert q.gpu_names == [gpu] and q.ram_gib is None


@pytest.mark.parametrize(("question", "gpu"), [
    ("macbook pro m3 max 128, llama 3.3 70b q4?", "Apple M3 Max 128GB"),
    ("M2 Ultra 192 跑 qwen3 235b 能行吗", "Apple M2 Ultra 192GB"),
    ("m4 max 64 mbp: how fast is qwen3 32b?", "Apple M4 Max 64GB"),
])
def test_a_bare_number_after_an_apple_chip_is_its_unified_memory(question, gpu):
    q = read(question)
    assert q.gpu_names == [gpu]
    assert not any("assumed" in a for a in q.assumptions), q.assumptions


@pytest.mark.parametrize("question", ["I have a 24GB card, what's the biggest model?",
                                      "24 gb gpu: can it do qwen3 32b?", "显卡24G 能跑什么"])
def test_a_card_of_so_many_gb_is_vram_not_system_ram(question):
    q = read(question)
    assert q.vram_only and q.ram_gib is None


# --- numbers taken by the right entity ------------------------------------------------------
@pytest.mark.parametrize(("question", "context"), [
    ("qwen2.5 7b on a 4090 ctx 131072", 131072),
    ("单卡4090 上下文64k 跑 llama 3.1 8b", 65536),
    ("3060 context 16384 with phi-4?", 16384),
])
def test_a_cards_number_is_never_the_context(question, context):
    q = read(question)
    assert q.context == context and q.gpu_names


def test_numbers_of_the_follow_on_questions_are_taken_once():
    q = read("fine-tune qwen2.5 14b on 2x4090 with lora, bs=2, seq_len 2048")
    assert (q.train_method, q.batch_size, q.sequence_length, q.gpu_counts, q.context) == ("lora", 2, 2048, [2], None)
    assert answer_query(q).training.sequence_length == 2048


def test_full_context_is_the_models_native_context():
    for question in ("llama 3.1 8b at full context on a 4090", "4090 满上下文跑 llama 3.1 8b"):
        result = answer_question(question)
        assert result.model.context == 131072, question


def test_max_in_an_apple_chip_is_not_max_context():
    q = read("M3 Max 64GB with 32k context, llama 3.1 8b")
    assert q.intent == Intent.CAN_RUN and q.context == 32768 and q.gpu_names == ["Apple M3 Max 64GB"]


# --- quants and counts -----------------------------------------------------------------------
def test_fp8_and_one_point_58_bit_are_quants_not_the_default():
    assert read("llama 3.3 70b fp8 on 2x h100").quant == "FP8"
    assert read("deepseek r1 1.58 bit on 4x 3090 and 256gb ram").quant == "IQ1_S"


@pytest.mark.parametrize(("question", "count"), [
    ("P40 24G 四张 跑 qwen2.5 72b q8", 4), ("a6000两张跑llama 3.3 70b", 2), ("three 3090s and llama 3.1 70b", 3),
])
def test_a_count_after_the_card_counts_it(question, count):
    assert read(question).gpu_counts == [count]


# --- comparisons: an answer per option, never one pooled rig ---------------------------------
@pytest.mark.parametrize("question", [
    "can a 3090 run llama 3.1 70b? what about a 4090?",
    "4090 vs 5090 for llama 3.3 70b",
    "3090和4090跑qwen3 32b哪个快",
    "3090能跑llama 3.3 70b吗？那4090呢？",
])
def test_two_cards_compared_get_a_row_each(question):
    result = answer_question(question)
    assert len(result.recommendations) == 2
    assert [r.hardware for r in result.recommendations][0] != [r.hardware for r in result.recommendations][1]
    assert "+" not in (result.recommendations[0].hardware or "")
    assert "RTX 3090 + RTX 4090" not in result.answer and "RTX 4090 + RTX 5090" not in result.answer


def test_two_quants_compared_get_a_row_each():
    result = answer_question("qwen3 32b on a 3090: Q4_K_M vs Q8_0?")
    assert [r.quant for r in result.recommendations] == ["Q4_K_M", "Q8_0"]
    assert result.recommendations[0].verdict != result.recommendations[1].verdict
    assert all(r.expected_range for r in result.recommendations)  # every speed shown has its range


def test_a_mac_against_cards():
    result = answer_question("M4 Max 128GB or 2x 3090 for llama 3.3 70b?")
    assert [r.hardware for r in result.recommendations] == ["Apple M4 Max 128GB", "2x RTX 3090"]


# --- MoE placement keeps the GPU -----------------------------------------------------------
@pytest.mark.parametrize("question", [
    "RTX 3090 and 64GB DDR5, qwen3 30b a3b with the MoE experts on the CPU",
    "qwen3 235b a22b on a 4090 with 192gb ram, --n-cpu-moe 60",
    "4090加192G内存，qwen3 235b，专家放内存",
])
def test_moe_experts_in_ram_keep_the_gpu(question):
    q = read(question)
    assert q.experts_in_ram and q.gpu_names and not q.cpu_only
    result = answer_query(q)
    assert "--n-cpu-moe" in (result.command or "")


# --- never a neighbour ---------------------------------------------------------------------
@pytest.mark.parametrize(("question", "error", "named"), [
    ("can a 3090 run mistral large 3?", "unknown_model", "mistral large 3"),
    ("phi 3.6 moe on a 4060?", "unknown_model", "phi 3.6 moe"),
    ("phi 4 nano on my 3060", "unknown_model", "phi 4 nano"),
    ("is an RTX 5090 Ti enough for llama 3.1 70b?", "unknown_gpu", "5090 ti"),
    ("grok 3 on 4x h100", "unknown_model", "grok 3"),
    ("best model like deepseek v4 for my 3090", "unknown_model", "deepseek v4"),
    ("what gpu do I need for kimi k3?", "unknown_model", "kimi k3"),
    ("grok 3 mini vs llama 3.3 70b on 2x 3090", "unknown_model", "grok 3 mini"),
    ("gtx 2080 with llama 3.1 8b", "unknown_gpu", "gtx 2080"),
    ("H20 96G 八卡跑 deepseek r1", "unknown_gpu", "h20"),
])
def test_an_unknown_name_is_said_first_never_answered_as_its_neighbour(question, error, named):
    result = answer_question(question)
    assert result.error == error
    assert named in result.answer.lower().replace("“", "").replace("”", "").replace("'", "")


def test_ollama_tags_and_hub_names_are_read():
    assert read("qwen3:30b-a3b on a 4090").model_name == "Qwen3 30B-A3B"
    assert read("qwen3:235b-a22b on 4x3090").model_name == "Qwen3 235B-A22B"
    q = read("google/gemma-3-27b-it-qat-q4_0-gguf on a 3090")
    assert (q.model_name, q.quant) == ("Gemma 3 27B", "Q4_0")


# --- follow-ups amend what they name -------------------------------------------------------
def follow(first: str, then: str):
    prev = parse(first)
    return merge(prev, first, then, parse(then))


def test_a_memory_size_changes_the_macs_memory():
    fu = follow("can an M4 Max 64GB run llama 3.3 70b?", "and the 128GB one?")
    assert fu.query.gpu_names == ["Apple M4 Max 128GB"] and fu.query.model_name == "Llama 3.3 70B"


def test_added_ram_keeps_the_gpu():
    fu = follow("can a 3090 run llama 3.1 70b?", "and with 128GB of DDR5?")
    assert fu.query.gpu_names == ["RTX 3090"] and fu.query.ram_gib == 128


def test_the_bigger_version_stays_in_the_family():
    fu = follow("how fast is qwen3 8b on a 4090?", "what about the 32b version?")
    assert fu.query.model_name == "Qwen3 32B"


@pytest.mark.parametrize(("then", "count"), [("what about with just one?", 1), ("and 4 of them?", 4),
                                            ("只用一张呢？", 1)])
def test_a_count_changes_only_the_count(then, count):
    fu = follow("can 2x 3090 run llama 3.3 70b?", then)
    assert fu.query.gpu_names == ["RTX 3090"] and fu.query.gpu_counts == [count]


def test_users_rerun_the_serving_sizing():
    fu = follow("can a 4090 run llama 3.1 8b?", "what about 20 users?")
    assert fu.query.intent == Intent.SERVE and fu.query.users == 20
    assert answer_query(fu.query).serving.users == 20


async def test_a_short_follow_up_never_reaches_the_language_model(service):
    conversation = ("c1", "u1")
    await service.ask("can a 3090 run llama 3.1 8b?", conversation=conversation)
    odd = await service.ask("and on linux?", conversation=conversation)
    assert odd.route == "rules" and odd.error == "followup_not_understood" and odd.llm is None
    counted = await service.ask("what about with just one of them?", conversation=conversation)
    assert counted.error is None and counted.hardware.gpus[0].count == 1


# --- the reading is said, the engine reads only the Query ----------------------------------
def test_an_inferred_reading_is_said_first():
    first = answer_question("can a 16gb 4060 ti run qwen3 14b q8?").answer.splitlines()[0]
    assert first.startswith("*Read as:") and "RTX 4060 Ti 16GB" in first and "Q8_0" in first and "4,096" in first
    zh = answer_question("单卡3090 上下文32k 跑 qwen3 14b").answer.splitlines()[0]
    assert zh.startswith("*理解为：") and "RTX 3090" in zh and "32,768" in zh
    explicit = answer_question("can a 3090 run llama 3.1 8b q4_k_m at 8k context?").answer.splitlines()[0]
    assert not explicit.startswith("*Read as")


def test_the_engine_never_reads_the_question_text_again():
    assert "question" not in inspect.signature(answer_query).parameters
    q = parse("can one 3090 serve 8 users at 8k context each with llama 3.1 8b?")
    assert q.users == 8 and answer_query(q).serving.users == 8


@pytest.mark.parametrize(("question", "ram"), [
    ("thirty-two gigabytes of RAM and a GTX 1080 Ti, can I run Mistral 7B?", 32),
    ("one hundred and twenty eight gb of ram, cpu only, llama 3.1 70b", 128),
    ("一张3090 加 六十四G 内存，跑 qwen3 32b", 64),
])
def test_sizes_written_in_words_are_read(question, ram):
    assert read(question).ram_gib == ram
