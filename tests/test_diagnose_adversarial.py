"""An adversarial review of the run-log diagnosis (issue 11): each test is a way the answer
could mislead someone, on a real log (tests/data/logs, each with its source) with the edit
the test names. The diagnosis must say what it does not know rather than guess."""

from __future__ import annotations

from run_log_samples import bench, codes, diagnosed, sample

from rules.parse import parse
from rules.schema import Intent

V100 = sample("cuda_llama_cli_v100_pythia.txt")


def v100_with_model(name: str, params: str, ftype: str = "Q4_K - Medium") -> str:
    """The V100 CI log with general.name, model params and file type of another model."""
    return (V100.replace("= 2.8B", f"= {name}").replace("model params     = 2.78 B", f"model params     = {params} B")
            .replace("file type   = all F32 (guessed)", f"file type   = {ftype}"))


def test_a_distilled_model_is_not_diagnosed_as_its_teacher(catalog):
    """general.name "Deepseek-R1-0528-Qwen3-8B" (an 8B distill) named DeepSeek R1 (671B):
    with 20 of 33 layers on the card, RigBot said only -ngl 2 fits a 16 GB card."""
    text = v100_with_model("Deepseek-R1-0528-Qwen3-8B", "8.19").replace("offloaded 33/33", "offloaded 20/33")
    query, result = diagnosed(text + "\nwhat -ngl should I use?", catalog)
    assert result.model is None or result.model.name != "DeepSeek R1"
    assert "DeepSeek-R1-Q4_K_M.gguf" not in (result.diagnosis.command or "")
    assert "-ngl 2 " not in (result.diagnosis.command or "") + " "
    # the distill is now in the catalog under its own name (variants.json: Qwen3 8B's shape),
    # never as its teacher
    assert result.model is not None and result.model.name == "DeepSeek-R1-0528-Qwen3-8B"
    # the log's own sizes decide the flags: every layer fits the 16 GB card
    assert "-ngl 99" in result.diagnosis.command


def test_a_matching_catalog_model_is_still_used(catalog):
    query, result = diagnosed(v100_with_model("Meta Llama 3.1 8B Instruct", "8.03") + "\nis this normal?", catalog)
    assert result.model.name == "Llama 3.1 8B" and result.diagnosis.predicted_range is not None


def test_a_log_model_the_catalog_lacks_is_diagnosed_not_refused(catalog):
    """general.name "Qwen3-Coder-30B-A3B-Instruct": the paste is diagnosed from the log's own
    sizes, and the unknown name is said; no error instead of a diagnosis."""
    query, result = diagnosed(v100_with_model("Qwen3-Coder-30B-A3B-Instruct", "30.53") + "\nis this normal?", catalog)
    assert query.model_name is None
    assert "Qwen3-Coder-30B-A3B-Instruct" in result.answer and "not in my catalog" in result.answer


def test_a_log_model_the_catalog_lacks_with_a_sizing_question_still_says_unknown(catalog):
    query = parse("how much context fits on this card?\n" +
                  v100_with_model("Qwen3-Coder-30B-A3B-Instruct", "30.53"), catalog)
    assert query.intent != Intent.DIAGNOSE
    assert query.error == "unknown_model"


def test_a_question_naming_another_gpu_than_the_log_is_not_compared_with_that_gpu(catalog):
    """"on my RTX 4090" with a log that ran on a Tesla V100: RigBot predicted for the 4090 and
    called the V100's speed "slower than predicted, and the log shows no cause"."""
    text = "is this normal on my RTX 4090?\n" + v100_with_model("Meta Llama 3.1 8B Instruct", "8.03")
    query, result = diagnosed(text, catalog)
    d = result.diagnosis
    assert "slower_than_predicted" not in codes(result) and d.verdict != "slow"
    assert "Tesla V100" in result.answer and "RTX 4090" in result.answer
    assert d.verdict == "no_prediction"  # the log's card is not the one asked about: no figures for it here


def test_the_same_gpu_in_question_and_log_is_compared(catalog):
    text = "is this normal on my Tesla V100 16GB?\n" + v100_with_model("Meta Llama 3.1 8B Instruct", "8.03")
    query, result = diagnosed(text, catalog)
    assert result.diagnosis.verdict == "normal"


def test_no_hardware_anywhere_is_no_cpu_prediction_from_guessed_ram(catalog):
    """Ollama's API timings (gemma2:9b at 60 tokens/s) name no hardware: RigBot predicted a
    CPU-only machine with assumed RAM (7.2 tokens/s) and said "the prediction is conservative"."""
    query, result = diagnosed(sample("ollama_api_timings_5843.txt") + "\nis this speed normal?", catalog)
    d = result.diagnosis
    assert d.predicted_range is None and d.verdict == "no_prediction"
    assert "conservative" not in result.answer
    assert "GPU" in result.answer  # what to add is said


def test_all_layers_on_a_card_too_small_by_rigbots_sums_is_said_not_called_no_model(catalog):
    """All layers of a catalog model on a card RigBot's sums say is too small: the reason there
    is no prediction is that, not "the log names neither the model nor the GPU"."""
    text = "is this normal?\n" + v100_with_model("Llama 3.1 70B Instruct", "70.55")
    query, result = diagnosed(text, catalog)
    assert result.diagnosis.verdict == "no_prediction"
    assert "names neither the model nor the GPU" not in result.answer
    assert "Llama 3.1 70B" in result.answer


# MoE experts kept in RAM with every layer "offloaded" (-ot exps=CPU / --n-cpu-moe) --------
MOE_OT = "DeepSeek R1 Q4_K_M on an RTX 4090 with 512GB DDR5-4800 8-channel: is this normal?\n" + \
    sample("moe_experts_on_cpu_11397.txt")


def test_a_file_mapped_as_several_buffers_of_one_name_is_summed():
    """llama.cpp#11397's R1 log maps the file as nine CPU_Mapped buffers: the facts said
    "CPU_Mapped 14,105 MiB" (the last one), not the 384,571 MiB of weights in RAM."""
    from rules.parse.run_log import read_run_log

    log = read_run_log(sample("moe_experts_on_cpu_11397.txt"))
    assert round(log.model_buffers_mib["CPU_Mapped"], 2) == 384571.29
    assert log.model_buffers_mib["CUDA0"] == 9460.52


def test_experts_in_ram_with_every_layer_offloaded_is_said(catalog):
    query, result = diagnosed(MOE_OT, catalog)
    d = result.diagnosis
    assert "partial_offload" not in codes(result)  # 62/62 layers: not a partial offload
    assert codes(result) == ["weights_in_ram"]
    assert "384,571 MiB" in result.answer or "375.6 GiB" in d.causes[0].sentence
    assert d.causes[0].evidence.startswith("load_tensors:   CPU_Mapped model buffer size")
    assert "does not fit wholly" not in result.answer  # the log did not put every weight on the card


# several runs in one paste ---------------------------------------------------------------
def test_two_runs_in_one_paste_are_not_mixed(catalog):
    """A paste of two llama.cpp runs (the 4060 run with -ngl 20, then the V100 CI run with
    -ngl 99): the layers, buffers and speed all come from one run, and the paste's second run
    is said, not silently mixed in."""
    from rules.parse.run_log import read_run_log

    laptop = sample("cuda_partial_offload_4060_laptop_mistral7b.txt")
    log = read_run_log(laptop + "\n" + V100)
    assert log.runs == 2
    assert (log.gpu_layers, log.total_layers) == (20, 33)
    assert log.eval_tokens_per_s == 18.53  # the first run's speed, not the V100's 100 tokens/s
    assert "CUDA0" in log.model_buffers_mib and log.model_buffers_mib["CUDA0"] < 3000  # not the V100's 5,050 MiB
    query, result = diagnosed(laptop + "\n" + V100 + "\nwhy is it slow?", catalog)
    assert "2 runs" in result.answer


# llama-bench tables (tests/data/bench, sources in its SOURCES.md) --------------------------
def test_llama_bench_ngl_minus_one_is_every_layer_not_one(catalog):
    """The README's "-d" table prints ngl -1 (llama-bench's "all layers"): RigBot predicted one
    layer on the GPU (8.9 tokens/s) and called 121 tokens/s "faster than predicted"."""
    query, result = diagnosed("Qwen2.5 7B Q4_K_M on an RTX 4080: is this normal?\n" + bench("cuda-depth.md"), catalog)
    row = next(r for r in result.diagnosis.rows if r.test == "tg128")
    low, high = row.predicted_range
    assert low > 60  # every layer on an RTX 4080, not one
    assert row.verdict in ("normal", "slow", "fast") and "8.9" not in result.answer


def test_a_table_of_two_models_is_not_predicted_as_the_one_the_question_names(catalog):
    """Two tables pasted together (qwen2 7B Q4_K_M, then llama 7B Q4_0): the question's Qwen2.5
    7B was used for the llama rows too, and a 40 tokens/s llama row called "slower than predicted"."""
    text = "Qwen2.5 7B Q4_K_M on an RTX 4080: is this normal?\n" + bench("cuda-depth.md") + "\n" + \
        bench("cuda-ngl-sweep-old.md")
    query, result = diagnosed(text, catalog)
    llama = [r for r in result.diagnosis.rows if r.model.startswith("llama")]
    assert llama and all(r.verdict == "no_prediction" for r in llama)
    qwen = [r for r in result.diagnosis.rows if r.model.startswith("qwen2")]
    assert qwen and all(r.predicted_range is not None for r in qwen)
    assert "several models" in result.answer


def test_a_laptop_gpu_in_gpu_info_is_said_not_called_unnamed(catalog):
    """rtx4080.csv with its gpu_info made the laptop card of that name (the one edit)."""
    text = "is this normal?\n" + bench("rtx4080.csv").replace("NVIDIA GeForce RTX 4080", "NVIDIA GeForce RTX 4080 Laptop GPU")
    query, result = diagnosed(text, catalog)
    assert result.diagnosis.verdict == "no_prediction"
    assert "RTX 4080 Laptop GPU" in result.answer
    assert "does not name the GPU" not in result.answer and "names a GPU, a CPU" not in result.answer


def test_a_table_of_prompt_rows_only_claims_no_generation_verdict(catalog):
    """The M1 Ultra table without its tg rows: no decode verdict, and why is said (it said
    "I have no prediction to compare with: ." with nothing after the colon)."""
    table = "\n".join(line for line in bench("m1-ultra-metal.md").splitlines() if "tg" not in line)
    query, result = diagnosed("is this normal on my M1 Ultra 128GB?\n" + table, catalog)
    d = result.diagnosis
    assert d.rows == [] and d.verdict == "no_speed"
    assert "compare with: ." not in result.answer
    assert "generation (tg)" in result.answer


def test_a_table_of_another_model_than_the_question_names_is_not_compared(catalog):
    """"Llama 3.1 8B" asked with the RTX 4080 table of a 7.62B qwen2: it was predicted as Llama 3.1 8B."""
    query, result = diagnosed("Llama 3.1 8B Q4_K_M on an RTX 4080: is this normal?\n" + bench("rtx4080.csv"), catalog)
    assert all(r.verdict == "no_prediction" for r in result.diagnosis.rows)
    assert "7.62" in result.answer and "not Llama 3.1 8B" in result.answer


def test_a_mac_question_naming_another_chip_than_the_log_is_not_compared_with_it(catalog):
    """The M4 CI log asked about "my M2 Max 32GB": it was called normal for an M2 Max."""
    query, result = diagnosed("is this normal on my M2 Max 32GB?\n" + sample("metal_llama_cli_m4_pythia.txt"), catalog)
    assert result.diagnosis.verdict == "no_prediction"
    assert "Apple M4" in result.answer and "M2 Max" in result.answer
    query, result = diagnosed("is this normal on my M4 16GB?\n" + sample("metal_llama_cli_m4_pythia.txt"), catalog)
    assert result.diagnosis.predicted_range is not None


def test_speculative_decoding_speed_is_the_runs_not_the_draft_models(catalog):
    """llama-speculative prints the run's speed ("decoded 371 tokens ... 10.781 t/s") and then
    the draft model's perf block (855 runs at 97 tokens/s): RigBot said "Measured: 97 tokens/s"."""
    query, result = diagnosed("why is speculative decoding not faster on my M4 Pro 64GB?\n" +
                              sample("speculative_m4pro_10455.txt"), catalog)
    d = result.diagnosis
    assert d.measured_tokens_per_s == 10.781
    assert "97 tokens/s" not in result.answer
    assert "Q4_K_L" in result.answer  # the quant the catalog lacks is named, not "?"


def test_a_second_model_loaded_after_the_first_does_not_overwrite_its_context():
    """A draft model loads after the main one (another layer count): its context lines must not
    replace the main model's. Two real logs in a row stand for that: the 4060 run (33 layers,
    n_ctx 768) then the M4 run (25 layers, n_ctx 2048)."""
    from rules.parse.run_log import read_run_log

    log = read_run_log(sample("cuda_partial_offload_4060_laptop_mistral7b.txt") + "\n" +
                       sample("metal_llama_cli_m4_pythia.txt"))
    assert log.runs == 1 and (log.gpu_layers, log.total_layers) == (20, 33)
    assert log.n_ctx == 768 and log.flash_attn == "on"
    assert "Metal" not in log.kv_buffers_mib


def test_far_faster_than_predicted_is_not_called_a_conservative_prediction(catalog):
    """gemma2:9b at 60 tokens/s (Ollama's API timings) asked about a CPU: RigBot predicted
    the CPU's speed and called six times that "the prediction is conservative here"."""
    text = "is this speed normal on my Ryzen 9 7950X with 64GB DDR5-6000?\n" + sample("ollama_api_timings_5843.txt")
    query, result = diagnosed(text, catalog)
    d = result.diagnosis
    assert d.verdict == "fast" and d.measured_tokens_per_s > 2 * d.predicted_range[1]
    assert "conservative" not in result.answer
    assert "more than twice" in result.answer


def test_a_bench_row_far_above_its_prediction_asks_to_check_what_was_compared(catalog):
    """The README's "-d" table (120.6 tokens/s; its markdown names no GPU) asked about a GTX 1060
    6GB: more than twice the prediction is not merely "faster than predicted"."""
    query, result = diagnosed("Qwen2.5 7B Q4_K_M on my GTX 1060 6GB, normal?\n" + bench("cuda-depth.md"), catalog)
    row = next(r for r in result.diagnosis.rows if r.test == "tg128")
    assert row.measured_tokens_per_s > 2 * row.predicted_range[1]
    assert "more than twice the prediction" in result.answer


# attachments (bot/paste.py) ----------------------------------------------------------------
def test_a_latin1_attachment_is_refused_not_read_as_utf16_garbage():
    """A Windows-1252 log ("é" as one byte) failed UTF-8 and was decoded as UTF-16: CJK
    garbage, read as a Chinese question. Only a file with a UTF-16 byte-order mark is UTF-16."""
    from bot.paste import with_attachment

    data = ("llama_perf_context_print:        eval time =    2549.69 ms /   255 runs   "
            "(   10.00 ms per token,   100.01 tokens per second) café\n").encode("cp1252")
    if len(data) % 2:
        data += b" "
    text, error = with_attachment("why?", "run.log", data, 100_000)
    assert error is not None and "UTF-8" in error
    powershell = "\ufeffllama_perf_context_print: eval time".encode("utf-16-le")  # `>` in PowerShell: BOM + UTF-16LE
    text, error = with_attachment("why?", "run.log", powershell, 100_000)
    assert error is None and "llama_perf_context_print" in text


def test_a_log_that_names_its_gpus_is_not_said_to_name_no_gpu(catalog):
    """The LM Studio log names two Vulkan cards but no model: it said "the log names neither
    the model nor the GPU"."""
    query, result = diagnosed(sample("lmstudio_vulkan_qwen3vl.txt") + "\nwhy is it slow?", catalog)
    assert "neither the model nor the GPU" not in result.answer
    assert "does not name the model" in result.answer


def test_a_log_on_two_cards_asked_about_one_is_not_compared_with_one(catalog):
    """The LM Studio log ran on an RX 7900 XT and an RX 6800; asked about "my RX 7900 XT" alone."""
    text = "Qwen3 4B Q4_K_M on my RX 7900 XT: why is it slow?\n" + sample("lmstudio_vulkan_qwen3vl.txt")
    query, result = diagnosed(text, catalog)
    assert result.diagnosis.predicted_range is None
    assert "RX 6800" in result.answer and "not on the" in result.answer
