"""Writes rules/data/quality.toml and rules/data/quant_quality.toml from public tables.

The tables are transcribed below as they appear in their sources (rows of the source's own
text, numbers untouched); this script only re-shapes them into one row per score. Nothing is
estimated: a cell the source leaves empty ("-") is left out, and so is every model a table
does not list. Run: .venv/bin/python scripts/gather_quality.py

Sources (read through the project's search/read_file tools, 2026-12-07):
- Qwen3 Technical Report (arXiv:2505.09388v1, 2025-05-14), Tables 11-20 (post-training
  evaluation). Text as extracted in liudu2326526/llm-study
  学习文件/论文/Qwen/Qwen3_Technical_Report.md @977f46a6e789b817fc745156a1d8fbf36afdc651.
- deepseek-ai/DeepSeek-R1 README.md @00f3296a14392e787d4138b5a0d8ce0e55a25b23, section 4
  (the main evaluation table and "Distilled Model Evaluation").
- Aider-AI/aider aider/website/_data/polyglot_leaderboard.yml and qwen3_leaderboard.yml
  @5dc9490bb35f9729ef2c95d00a19ccd30c26339c (pass_rate_2 of each run).
- meta-llama/llama-models @a9c89c471f793423afd4cc3ca8671d6e56fe64cb, the instruction-tuned
  benchmark tables of models/llama3_1/MODEL_CARD.md, models/llama3_2/MODEL_CARD.md,
  models/llama3_3/MODEL_CARD.md and models/llama4/MODEL_CARD.md (Meta's own numbers).
- evalplus/evalplus.github.io results.json @4ebfa0d4b62edb942232c723b9d1641fe1d24780 (the EvalPlus
  leaderboard: HumanEval+ and MBPP+ pass@1, greedy decoding, run by the EvalPlus team).
- Gemma 3 Technical Report (arXiv:2503.19786), Table 6 (instruction-tuned models, zero-shot), as
  transcribed in viktor-shcherb/msc_thesis references/2025-03-gemma-3-technical-report/sections/
  04_instruction-tuned-performance.md @a6577d10fb277f0ceae4327a2d0b6de951bed76b.
- llama.cpp's perplexity README, "LLaMA 3 8b Scoreboard", "LLaMA 2 vs. LLaMA 3
  Quantization comparison" and the Llama 2 70B scoreboard, as carried by
  ikawrakow/ik_llama.cpp examples/perplexity/README.md @18b4e0ec212b5598f3e314680010ed921cd511c5
  (the same tables as ggml-org/llama.cpp tools/perplexity/README.md; the 70B table also in
  ggerganov/llama.cpp examples/perplexity/README.md @0a21ad6e3f457f81ad6af43b95856bf7064a9ef9).
"""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "rules" / "data"

# name in a source table -> (catalog model name or "" when the catalog lacks it, HF repo or "" for API-only models)
MODELS = {
    "Qwen3-0.6B": ("Qwen3 0.6B", "Qwen/Qwen3-0.6B"),
    "Qwen3-1.7B": ("Qwen3 1.7B", "Qwen/Qwen3-1.7B"),
    "Qwen3-4B": ("Qwen3 4B", "Qwen/Qwen3-4B"),
    "Qwen3-8B": ("Qwen3 8B", "Qwen/Qwen3-8B"),
    "Qwen3-14B": ("Qwen3 14B", "Qwen/Qwen3-14B"),
    "Qwen3-32B": ("Qwen3 32B", "Qwen/Qwen3-32B"),
    "Qwen3-30B-A3B": ("Qwen3 30B-A3B", "Qwen/Qwen3-30B-A3B"),
    "Qwen3-235B-A22B": ("Qwen3 235B-A22B", "Qwen/Qwen3-235B-A22B"),
    "QwQ-32B": ("", "Qwen/QwQ-32B"),
    "QwQ-32B-Preview": ("", "Qwen/QwQ-32B-Preview"),
    "Qwen2.5-1.5B-Instruct": ("Qwen2.5 1.5B", "Qwen/Qwen2.5-1.5B-Instruct"),
    "Qwen2.5-3B-Instruct": ("Qwen2.5 3B", "Qwen/Qwen2.5-3B-Instruct"),
    "Qwen2.5-7B-Instruct": ("Qwen2.5 7B", "Qwen/Qwen2.5-7B-Instruct"),
    "Qwen2.5-14B-Instruct": ("Qwen2.5 14B", "Qwen/Qwen2.5-14B-Instruct"),
    "Qwen2.5-32B-Instruct": ("Qwen2.5 32B", "Qwen/Qwen2.5-32B-Instruct"),
    "Qwen2.5-72B-Instruct": ("Qwen2.5 72B", "Qwen/Qwen2.5-72B-Instruct"),
    "Qwen2.5-Coder-32B-Instruct": ("Qwen2.5-Coder 32B", "Qwen/Qwen2.5-Coder-32B-Instruct"),
    "DeepSeek-R1-Distill-Qwen-1.5B": ("DeepSeek-R1-Distill-Qwen 1.5B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
    "DeepSeek-R1-Distill-Qwen-7B": ("DeepSeek-R1-Distill-Qwen 7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"),
    "DeepSeek-R1-Distill-Qwen-14B": ("DeepSeek-R1-Distill-Qwen 14B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"),
    "DeepSeek-R1-Distill-Qwen-32B": ("DeepSeek-R1-Distill-Qwen 32B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"),
    "DeepSeek-R1-Distill-Llama-8B": ("DeepSeek-R1-Distill-Llama 8B", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"),
    "DeepSeek-R1-Distill-Llama-70B": ("DeepSeek-R1-Distill-Llama 70B", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"),
    "DeepSeek-R1": ("DeepSeek R1", "deepseek-ai/DeepSeek-R1"),
    "DeepSeek-R1-0528": ("DeepSeek R1", "deepseek-ai/DeepSeek-R1-0528"),
    "DeepSeek-V3": ("DeepSeek V3", "deepseek-ai/DeepSeek-V3"),
    "DeepSeek-V3-0324": ("DeepSeek V3", "deepseek-ai/DeepSeek-V3-0324"),
    "LLaMA-3.1-8B-Instruct": ("Llama 3.1 8B", "meta-llama/Llama-3.1-8B-Instruct"),
    "LLaMA-4-Scout": ("Llama 4 Scout", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    "LLaMA-4-Maverick": ("Llama 4 Maverick", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
    "Gemma-3-1B-IT": ("Gemma 3 1B", "google/gemma-3-1b-it"),
    "Gemma-3-12B-IT": ("Gemma 3 12B", "google/gemma-3-12b-it"),
    "Gemma-3-27B-IT": ("Gemma 3 27B", "google/gemma-3-27b-it"),
    "Phi-4": ("Phi-4", "microsoft/phi-4"),
    "Phi-4-mini": ("", "microsoft/Phi-4-mini-instruct"),
    "Llama 3 8B Instruct": ("Llama 3 8B", "meta-llama/Meta-Llama-3-8B-Instruct"),
    "Llama 3 70B Instruct": ("Llama 3 70B", "meta-llama/Meta-Llama-3-70B-Instruct"),
    "Llama 3.1 8B Instruct": ("Llama 3.1 8B", "meta-llama/Llama-3.1-8B-Instruct"),
    "Llama 3.1 70B Instruct": ("Llama 3.1 70B", "meta-llama/Llama-3.1-70B-Instruct"),
    "Llama 3.1 405B Instruct": ("Llama 3.1 405B", "meta-llama/Llama-3.1-405B-Instruct"),
    "Llama 3.2 1B": ("Llama 3.2 1B", "meta-llama/Llama-3.2-1B-Instruct"),
    "Llama 3.2 3B": ("Llama 3.2 3B", "meta-llama/Llama-3.2-3B-Instruct"),
    "Llama 3.3 70B Instruct": ("Llama 3.3 70B", "meta-llama/Llama-3.3-70B-Instruct"),
    "Llama 4 Scout": ("Llama 4 Scout", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    "Llama 4 Maverick": ("Llama 4 Maverick", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
    "Llama3-8B-instruct": ("Llama 3 8B", "meta-llama/Meta-Llama-3-8B-Instruct"),
    "Llama3-70B-instruct": ("Llama 3 70B", "meta-llama/Meta-Llama-3-70B-Instruct"),
    "Llama3.1-8B-instruct": ("Llama 3.1 8B", "meta-llama/Llama-3.1-8B-Instruct"),
    "DeepSeek-V3 (Nov 2024)": ("DeepSeek V3", "deepseek-ai/DeepSeek-V3"),
    "Mistral-7B-Instruct-v0.2": ("Mistral 7B", "mistralai/Mistral-7B-Instruct-v0.2"),
    "Mixtral-8x7B-Instruct-v0.1": ("Mixtral 8x7B", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    "Mixtral-8x22B-Instruct-v0.1": ("Mixtral 8x22B", "mistralai/Mixtral-8x22B-Instruct-v0.1"),
    "Phi-3-mini-4k-instruct": ("Phi-3 Mini", "microsoft/Phi-3-mini-4k-instruct"),
    "Gemma 2 2B": ("Gemma 2 2B", "google/gemma-2-2b-it"), "Gemma 2 9B": ("Gemma 2 9B", "google/gemma-2-9b-it"),
    "Gemma 2 27B": ("Gemma 2 27B", "google/gemma-2-27b-it"), "Gemma 3 1B": ("Gemma 3 1B", "google/gemma-3-1b-it"),
    "Gemma 3 4B": ("Gemma 3 4B", "google/gemma-3-4b-it"), "Gemma 3 12B": ("Gemma 3 12B", "google/gemma-3-12b-it"),
    "Gemma 3 27B": ("Gemma 3 27B", "google/gemma-3-27b-it"),
    "Kimi-K2": ("Kimi K2", "moonshotai/Kimi-K2-Instruct"),
    "gpt-oss-120b": ("gpt-oss-120b", "openai/gpt-oss-120b"),
    # API-only models the tables compare against: kept, never matched to the catalog
    "OpenAI-o1": ("", ""), "OpenAI-o1-1217": ("", ""), "o1-mini": ("", ""), "OpenAI-o3-mini (medium)": ("", ""),
    "Grok-3-Beta (Think)": ("", ""), "Gemini2.5-Pro": ("", ""), "GPT-4o-2024-11-20": ("", ""),
    "GPT-4o-mini-2024-07-18": ("", ""), "GPT-4o-0513": ("", ""), "Claude-3.5-Sonnet-1022": ("", ""),
}
VENDOR = {"Qwen": "Qwen", "deepseek-ai": "DeepSeek", "meta-llama": "Meta", "google": "Google", "mistralai": "Mistral AI",
          "microsoft": "Microsoft", "moonshotai": "Moonshot AI", "openai": "OpenAI"}

QWEN3_SOURCE = ("Qwen3 Technical Report, arXiv:2505.09388v1, Table {table} (text: liudu2326526/llm-study "
                "学习文件/论文/Qwen/Qwen3_Technical_Report.md @977f46a6e789b817fc745156a1d8fbf36afdc651)")
QWEN3_BENCHMARKS = {  # row label in the report -> (use, benchmark, unit, settings)
    "MMLU-Redux": ("general", "MMLU-Redux", "%", "accuracy"),
    "LiveBench 2024-11-25": ("general", "LiveBench 2024-11-25", "%", "score"),
    "GPQA-Diamond": ("reasoning", "GPQA-Diamond", "%", "accuracy, 10 samples per question averaged"),
    "C-Eval": ("chinese", "C-Eval", "%", "accuracy"),
    "MATH-500": ("reasoning", "MATH-500", "%", "accuracy"),
    "AIME’24": ("reasoning", "AIME 2024", "%", "accuracy, 64 samples per question averaged"),
    "AIME’25": ("reasoning", "AIME 2025", "%", "accuracy, 64 samples per question averaged"),
    "BFCL v3": ("tool_use", "BFCL v3", "%", "overall accuracy; Qwen3 in FC format (64k context via YaRN for "
                "multi-turn); some baselines taken from the BFCL leaderboard (higher of FC and Prompt)"),
    "LiveCodeBench v5": ("coding", "LiveCodeBench v5 (2024.10-2025.02)", "%", "pass@1"),
    "CodeForces (Rating / Percentile)": ("coding", "Codeforces rating (CodeElo)", "Elo", "up to 8 attempts per problem"),
}
QWEN3_MODES = {
    "thinking": "thinking mode: T=0.6, top-p 0.95, top-k 20, up to 32,768 output tokens (38,912 for AIME)",
    "non-thinking": "non-thinking mode: T=0.7, top-p 0.8, top-k 20, presence penalty 1.5, up to 32,768 output tokens",
}
# (table, mode, column models, the table's benchmark rows as printed)
QWEN3_TABLES = [
    (11, "thinking", ["OpenAI-o1", "DeepSeek-R1", "Grok-3-Beta (Think)", "Gemini2.5-Pro", "Qwen3-235B-A22B"], """
MMLU-Redux 92.8 92.9 - 93.7 92.7
GPQA-Diamond 78.0 71.5 80.2 84.0 71.1
C-Eval 85.5 91.8 - 82.9 89.6
LiveBench 2024-11-25 75.7 71.6 - 82.4 77.1
AIME’24 74.3 79.8 83.9 92.0 85.7
AIME’25 79.2 70.0 77.3 86.7 81.5
BFCL v3 67.8 56.9 - 62.9 70.8
LiveCodeBench v5 63.9 64.3 70.6 70.4 70.7
CodeForces (Rating / Percentile) 1891 / 96.7% 2029 / 98.1% - 2001 / 97.9% 2056 / 98.2%
"""),  # its MATH-500 row prints four numbers for five columns: left out, as ambiguous
    (12, "non-thinking", ["GPT-4o-2024-11-20", "DeepSeek-V3", "Qwen2.5-72B-Instruct", "LLaMA-4-Maverick", "Qwen3-235B-A22B"], """
MMLU-Redux 87.0 89.1 86.8 91.8 89.2
GPQA-Diamond 46.0 59.1 49.0 69.8 62.9
C-Eval 75.5 86.5 84.7 83.5 86.1
LiveBench 2024-11-25 52.2 60.5 51.4 59.5 62.5
MATH-500 77.2 90.2 83.6 90.6 91.2
AIME’24 11.1 39.2 18.9 38.5 40.1
AIME’25 7.6 28.8 15.0 15.9 24.7
BFCL v3 72.5 57.6 63.4 52.9 68.0
LiveCodeBench v5 32.7 33.1 30.7 37.2 35.3
CodeForces (Rating / Percentile) 864 / 35.4% 1134 / 54.1% 859 / 35.0% 712 / 24.3% 1387 / 75.7%
"""),
    (13, "thinking", ["DeepSeek-R1-Distill-Llama-70B", "QwQ-32B", "OpenAI-o3-mini (medium)", "Qwen3-32B"], """
MMLU-Redux 89.3 90.0 90.0 90.9
GPQA-Diamond 65.2 65.6 76.8 68.4
C-Eval 71.8 88.4 75.1 87.3
LiveBench 2024-11-25 54.5 72.0 70.0 74.9
MATH-500 94.5 98.0 98.0 97.2
AIME’24 70.0 79.5 79.6 81.4
AIME’25 56.3 69.5 74.8 72.9
BFCL v3 49.3 66.4 64.6 70.3
LiveCodeBench v5 54.5 62.7 66.3 65.7
CodeForces (Rating / Percentile) 1633 / 91.4% 1982 / 97.7% 2036 / 98.1% 1977 / 97.7%
"""),
    (14, "non-thinking", ["GPT-4o-mini-2024-07-18", "LLaMA-4-Scout", "Qwen2.5-72B-Instruct", "Qwen3-32B"], """
MMLU-Redux 81.5 86.3 86.8 85.7
GPQA-Diamond 40.2 57.2 49.0 54.6
C-Eval 66.3 78.2 84.7 83.3
LiveBench 2024-11-25 41.3 47.6 51.4 59.8
MATH-500 78.2 82.6 83.6 88.6
AIME’24 8.1 28.6 18.9 31.0
AIME’25 8.8 10.0 15.0 20.2
BFCL v3 64.0 45.4 63.4 63.0
LiveCodeBench v5 27.9 29.8 30.7 31.3
CodeForces (Rating / Percentile) 1113 / 52.6% 981 / 43.7% 859 / 35.0% 1353 / 71.0%
"""),
    (15, "thinking", ["DeepSeek-R1-Distill-Qwen-32B", "QwQ-32B", "Qwen3-14B", "Qwen3-30B-A3B"], """
MMLU-Redux 88.2 90.0 88.6 89.5
GPQA-Diamond 62.1 65.6 64.0 65.8
C-Eval 82.2 88.4 86.2 86.6
LiveBench 2024-11-25 45.6 72.0 71.3 74.3
MATH-500 94.3 98.0 96.8 98.0
AIME’24 72.6 79.5 79.3 80.4
AIME’25 49.6 69.5 70.4 70.9
BFCL v3 53.5 66.4 70.4 69.1
LiveCodeBench v5 54.5 62.7 63.5 62.6
CodeForces (Rating / Percentile) 1691 / 93.4% 1982 / 97.7% 1766 / 95.3% 1974 / 97.7%
"""),
    (16, "non-thinking", ["Phi-4", "Gemma-3-27B-IT", "Qwen2.5-32B-Instruct", "Qwen3-14B", "Qwen3-30B-A3B"], """
MMLU-Redux 85.3 82.6 83.9 82.0 84.1
GPQA-Diamond 56.1 42.4 49.5 54.8 54.8
C-Eval 66.9 66.6 80.6 81.0 82.9
LiveBench 2024-11-25 41.6 49.2 50.0 59.6 59.4
MATH-500 80.8 90.0 84.6 90.0 89.8
AIME’24 22.9 32.6 18.8 31.7 32.8
AIME’25 17.3 24.0 12.8 23.3 21.6
BFCL v3 47.0 59.1 62.8 61.5 58.6
LiveCodeBench v5 25.2 26.9 26.4 29.0 29.8
CodeForces (Rating / Percentile) 1280 / 65.3% 1063 / 49.3% 903 / 38.2% 1200 / 58.6% 1267 / 64.1%
"""),
    (17, "thinking", ["DeepSeek-R1-Distill-Qwen-14B", "DeepSeek-R1-Distill-Qwen-32B", "Qwen3-4B", "Qwen3-8B"], """
MMLU-Redux 84.1 88.2 83.7 87.5
GPQA-Diamond 59.1 62.1 55.9 62.0
C-Eval 78.1 82.2 77.5 83.4
LiveBench 2024-11-25 52.3 45.6 63.6 67.1
MATH-500 93.9 94.3 97.0 97.4
AIME’24 69.7 72.6 73.8 76.0
AIME’25 44.5 49.6 65.6 67.3
BFCL v3 49.5 53.5 65.9 68.1
LiveCodeBench v5 45.5 54.5 54.2 57.5
CodeForces (Rating / Percentile) 1574 / 89.1% 1691 / 93.4% 1671 / 92.8% 1785 / 95.6%
"""),
    (18, "non-thinking", ["LLaMA-3.1-8B-Instruct", "Gemma-3-12B-IT", "Qwen2.5-7B-Instruct", "Qwen2.5-14B-Instruct",
                          "Qwen3-4B", "Qwen3-8B"], """
MMLU-Redux 61.7 77.8 75.4 80.0 77.3 79.5
GPQA-Diamond 32.8 40.9 36.4 45.5 41.7 39.3
C-Eval 52.0 61.1 76.2 78.0 72.2 77.9
LiveBench 2024-11-25 26.0 43.7 34.9 42.2 48.4 53.5
MATH-500 54.8 85.6 77.6 83.4 84.8 87.4
AIME’24 6.3 22.4 9.1 15.2 25.0 29.1
AIME’25 2.7 18.8 12.1 13.6 19.1 20.9
BFCL v3 49.6 50.6 55.8 58.7 57.6 60.2
LiveCodeBench v5 10.8 25.7 14.4 21.9 21.3 22.8
CodeForces (Rating / Percentile) 473 / 14.9% 462 / 14.7% 191 / 0.0% 904 / 38.3% 842 / 33.7% 1110 / 52.4%
"""),
    (19, "thinking", ["DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Llama-8B", "Qwen3-0.6B", "Qwen3-1.7B"], """
MMLU-Redux 45.4 66.4 55.6 73.9
GPQA-Diamond 33.8 49.0 27.9 40.1
C-Eval 27.1 50.4 50.4 68.1
LiveBench 2024-11-25 24.9 40.6 30.3 51.1
MATH-500 83.9 89.1 77.6 93.4
AIME’24 28.9 50.4 10.7 48.3
AIME’25 22.8 27.8 15.1 36.8
BFCL v3 14.0 21.5 46.4 56.6
LiveCodeBench v5 13.2 42.5 12.3 33.2
"""),
    (20, "non-thinking", ["Gemma-3-1B-IT", "Phi-4-mini", "Qwen2.5-1.5B-Instruct", "Qwen2.5-3B-Instruct", "Qwen3-0.6B",
                          "Qwen3-1.7B"], """
MMLU-Redux 33.3 67.9 50.7 64.4 44.6 64.4
GPQA-Diamond 19.2 25.2 29.8 30.3 22.9 28.6
C-Eval 28.5 40.0 53.3 68.2 42.6 61.0
LiveBench 2024-11-25 14.4 25.3 18.0 23.8 21.8 35.6
MATH-500 46.4 67.6 55.0 67.2 55.2 73.0
AIME’24 0.9 8.1 0.9 6.7 3.4 13.4
AIME’25 0.8 5.3 0.4 4.2 2.6 9.8
BFCL v3 16.3 31.3 47.8 50.4 44.1 52.2
LiveCodeBench v5 1.8 10.4 5.3 9.2 3.6 11.6
"""),
]

R1_SOURCE = "deepseek-ai/DeepSeek-R1 README.md @00f3296a14392e787d4138b5a0d8ce0e55a25b23, section 4, {table}"
R1_SETTINGS = "max 32,768 generated tokens; sampling T=0.6, top-p 0.95, 64 responses per query for pass@1"
R1_DISTILL_COLUMNS = [  # header cell -> (use, benchmark, unit, settings)
    ("reasoning", "AIME 2024", "%", "pass@1"), None,  # cons@64 is a different measure: left out
    ("reasoning", "MATH-500", "%", "pass@1"), ("reasoning", "GPQA-Diamond", "%", "pass@1"),
    ("coding", "LiveCodeBench", "%", "pass@1"), ("coding", "Codeforces rating", "Elo", "rating"),
]
R1_DISTILL_TABLE = """
| GPT-4o-0513                          | 9.3              | 13.4              | 74.6            | 49.9                 | 32.9                 | 759               |
| Claude-3.5-Sonnet-1022             | 16.0             | 26.7                 | 78.3            | 65.0                 | 38.9                 | 717               |
| o1-mini                              | 63.6             | 80.0              | 90.0            | 60.0                 | 53.8                 | **1820**          |
| QwQ-32B-Preview                              | 44.0             | 60.0                 | 90.6            | 54.5               | 41.9                 | 1316              |
| DeepSeek-R1-Distill-Qwen-1.5B       | 28.9             | 52.7              | 83.9            | 33.8                 | 16.9                 | 954               |
| DeepSeek-R1-Distill-Qwen-7B          | 55.5             | 83.3              | 92.8            | 49.1                 | 37.6                 | 1189              |
| DeepSeek-R1-Distill-Qwen-14B         | 69.7             | 80.0              | 93.9            | 59.1                 | 53.1                 | 1481              |
| DeepSeek-R1-Distill-Qwen-32B        | **72.6**         | 83.3              | 94.3            | 62.1                 | 57.2                 | 1691              |
| DeepSeek-R1-Distill-Llama-8B         | 50.4             | 80.0              | 89.1            | 49.0                 | 39.6                 | 1205              |
| DeepSeek-R1-Distill-Llama-70B        | 70.0             | **86.7**          | **94.5**        | **65.2**             | **57.5**             | 1633              |
"""
R1_MAIN_COLUMNS = ["Claude-3.5-Sonnet-1022", "GPT-4o-0513", "DeepSeek-V3", "o1-mini", "OpenAI-o1-1217", "DeepSeek-R1"]
R1_MAIN_ROWS = {  # row label -> (use, benchmark, unit, settings)
    "MMLU-Pro (EM)": ("general", "MMLU-Pro", "%", "exact match"),
    "GPQA-Diamond (Pass@1)": ("reasoning", "GPQA-Diamond", "%", "pass@1"),
    "LiveCodeBench (Pass@1-COT)": ("coding", "LiveCodeBench", "%", "pass@1 with chain of thought"),
    "Aider-Polyglot (Acc.)": ("coding", "Aider polyglot", "%", "accuracy"),
    "AIME 2024 (Pass@1)": ("reasoning", "AIME 2024", "%", "pass@1"),
    "MATH-500 (Pass@1)": ("reasoning", "MATH-500", "%", "pass@1"),
    "C-Eval (EM)": ("chinese", "C-Eval", "%", "exact match"),
}
R1_MAIN_TABLE = """
| | MMLU-Pro (EM) | 78.0 | 72.6 | 75.9 | 80.3 | - | **84.0** |
| | GPQA-Diamond (Pass@1) | 65.0 | 49.9 | 59.1 | 60.0 | **75.7** | 71.5 |
| Code | LiveCodeBench (Pass@1-COT) | 33.8 | 34.2 | - | 53.8 | 63.4 | **65.9** |
| | Aider-Polyglot (Acc.) | 45.3 | 16.0 | 49.6 | 32.9 | **61.7** | 53.3 |
| Math | AIME 2024 (Pass@1) | 16.0 | 9.3 | 39.2 | 63.6 | 79.2 | **79.8** |
| | MATH-500 (Pass@1) | 78.3 | 74.6 | 90.2 | 90.0 | 96.4 | **97.3** |
| Chinese | C-Eval (EM) | 76.7 | 76.0 | 86.5 | 68.9 | - | **91.8** |
"""

AIDER_COMMIT = "5dc9490bb35f9729ef2c95d00a19ccd30c26339c"
# (file, model label as the leaderboard prints it, source model, pass_rate_2, edit format, date, dirname)
AIDER_RUNS = [
    ("polyglot_leaderboard.yml", "Qwen2.5-Coder-32B-Instruct", "Qwen2.5-Coder-32B-Instruct", 8.0, "diff", "2024-12-22",
     "2024-12-22-13-22-32--polyglot-qwen-diff"),
    ("polyglot_leaderboard.yml", "Qwen2.5-Coder-32B-Instruct", "Qwen2.5-Coder-32B-Instruct", 16.4, "whole", "2024-12-26",
     "2024-12-26-00-55-20--Qwen2.5-Coder-32B-Instruct"),
    ("polyglot_leaderboard.yml", "DeepSeek Chat V3 (prev)", "DeepSeek-V3", 48.4, "diff", "2024-12-25",
     "2024-12-25-13-31-51--deepseekv3preview-diff2"),
    ("polyglot_leaderboard.yml", "DeepSeek R1", "DeepSeek-R1", 56.9, "diff", "2025-01-20",
     "2025-01-20-19-11-38--ds-turns-upd-cur-msgs-fix-with-summarizer"),
    ("polyglot_leaderboard.yml", "gemma-3-27b-it", "Gemma-3-27B-IT", 4.9, "whole", "2025-03-15",
     "2025-03-15-01-21-24--gemma3-27b-or"),
    ("polyglot_leaderboard.yml", "DeepSeek V3 (0324)", "DeepSeek-V3-0324", 55.1, "diff", "2025-03-24",
     "2025-03-24-15-41-33--deepseek-v3-0324-polyglot-diff"),
    ("polyglot_leaderboard.yml", "Llama 4 Maverick", "LLaMA-4-Maverick", 15.6, "whole", "2025-04-06",
     "2025-04-06-08-39-52--llama-4-maverick-17b-128e-instruct-polyglot-whole"),
    ("polyglot_leaderboard.yml", "Qwen3 32B", "Qwen3-32B", 40.0, "diff", "2025-05-08",
     "2025-05-08-03-20-24--qwen3-32b-default"),
    ("polyglot_leaderboard.yml", "Qwen3 235B A22B diff, no think, Alibaba API", "Qwen3-235B-A22B", 59.6, "diff",
     "2025-05-09", "2025-05-09-17-02-02--qwen3-235b-a22b.unthink_16k_diff"),
    ("polyglot_leaderboard.yml", "DeepSeek R1 (0528)", "DeepSeek-R1-0528", 71.4, "diff", "2025-06-06",
     "2025-06-06-16-47-07--r1-diff"),
    ("polyglot_leaderboard.yml", "Kimi K2", "Kimi-K2", 59.1, "diff", "2025-07-17",
     "2025-07-17-17-41-54--kimi-k2-diff-or-pricing"),
    ("polyglot_leaderboard.yml", "gpt-oss-120b (high)", "gpt-oss-120b", 41.8, "diff", "2025-08-06",
     "2025-08-06-04-54-48--gpt-oss-120b-high-polyglot"),
    ("qwen3_leaderboard.yml", "Qwen3-32B whole with VLLM, bfloat16, recommended /no_think settings", "Qwen3-32B",
     45.8, "whole", "2025-04-30", "2025-04-30-04-08-41--Qwen3-32B-whole-nothink"),
    ("qwen3_leaderboard.yml", "Qwen3-235B-A22B whole with VLLM, bfloat16, recommended /no_think settings",
     "Qwen3-235B-A22B", 65.3, "whole", "2025-04-30", "2025-04-30-04-49-37--Qwen3-235B-A22B-whole-nothink"),
]

AIDER_CASES_RUN = {"2025-06-06-16-47-07--r1-diff": 224}  # test_cases of runs that did not run all 225

META_COMMIT = "a9c89c471f793423afd4cc3ca8671d6e56fe64cb"
META_BENCHMARKS = {  # benchmark as the card prints it -> (use, benchmark, unit)
    "MMLU-Pro (CoT)": ("general", "MMLU-Pro (CoT)", "%"), "MMLU Pro (CoT)": ("general", "MMLU-Pro (CoT)", "%"),
    "MMLU Pro": ("general", "MMLU-Pro", "%"), "MMLU": ("general", "MMLU", "%"),
    "GPQA": ("reasoning", "GPQA", "%"), "GPQA Diamond (CoT)": ("reasoning", "GPQA-Diamond (CoT)", "%"),
    "GPQA Diamond": ("reasoning", "GPQA-Diamond", "%"), "MATH (CoT)": ("reasoning", "MATH (CoT)", "%"),
    "HumanEval": ("coding", "HumanEval", "%"), "MBPP EvalPlus (base)": ("coding", "MBPP EvalPlus (base)", "%"),
    "LiveCodeBench (10/01/2024-02/01/2025)": ("coding", "LiveCodeBench (2024-10-01 to 2025-02-01)", "%"),
    "BFCL": ("tool_use", "BFCL", "%"), "BFCL V2": ("tool_use", "BFCL v2", "%"), "BFCL v2": ("tool_use", "BFCL v2", "%"),
    "InfiniteBench/En.QA": ("long_context", "InfiniteBench/En.QA", "%"),
    "InfiniteBench/En.MC": ("long_context", "InfiniteBench/En.MC", "%"),
    "NIH/Multi-needle": ("long_context", "NIH/Multi-needle", "%"),
    "MTOB (half book) eng->kgv": ("long_context", "MTOB (half book) eng->kgv", "chrF"),
    "MMMU": ("vision", "MMMU", "%"), "MathVista": ("vision", "MathVista", "%"),
}
# (card, group, date, column models, rows "benchmark | shots | metric | value per column")
META_TABLES = [
    ("models/llama3_1/MODEL_CARD.md", "meta-llama3.1-card", "2024-07-23",
     ["Llama 3 8B Instruct", "Llama 3.1 8B Instruct", "Llama 3 70B Instruct", "Llama 3.1 70B Instruct",
      "Llama 3.1 405B Instruct"], """
MMLU-Pro (CoT) | 5 | macro_avg/acc | 45.5 | 48.3 | 63.4 | 66.4 | 73.3
GPQA | 0 | em | 34.6 | 30.4 | 39.5 | 46.7 | 50.7
HumanEval | 0 | pass@1 | 60.4 | 72.6 | 81.7 | 80.5 | 89.0
MATH (CoT) | 0 | final_em | 29.1 | 51.9 | 51.0 | 68.0 | 73.8
BFCL | 0 | acc | 60.3 | 76.1 | 83.0 | 84.8 | 88.5
"""),
    ("models/llama3_2/MODEL_CARD.md", "meta-llama3.2-card", "2024-09-25 (card added; quantized models 2024-10-24)",
     ["Llama 3.2 1B", "Llama 3.2 3B", "Llama 3.1 8B Instruct"], """
MMLU | 5 | macro_avg/acc | 49.3 | 63.4 | 69.4
MATH (CoT) | 0 | final_em | 30.6 | 48.0 | 51.9
GPQA | 0 | acc | 27.2 | 32.8 | 32.8
BFCL V2 | 0 | acc | 25.7 | 67.0 | 67.1
InfiniteBench/En.QA | 0 | longbook_qa/f1 | 20.3 | 19.8 | 27.3
InfiniteBench/En.MC | 0 | longbook_choice/acc | 38.0 | 63.3 | 72.2
NIH/Multi-needle | 0 | recall | 75.0 | 84.7 | 98.8
"""),  # the bf16 columns only; the card's quantized variants are not GGUF quants
    ("models/llama3_3/MODEL_CARD.md", "meta-llama3.3-card", "2024-12-06 (card added)",
     ["Llama 3.1 8B Instruct", "Llama 3.1 70B Instruct", "Llama 3.3 70B Instruct", "Llama 3.1 405B Instruct"], """
MMLU Pro (CoT) | 5 | macro_avg/acc | 48.3 | 66.4 | 68.9 | 73.3
GPQA Diamond (CoT) | 0 | acc | 31.8 | 48.0 | 50.5 | 49.0
HumanEval | 0 | pass@1 | 72.6 | 80.5 | 88.4 | 89.0
MBPP EvalPlus (base) | 0 | pass@1 | 72.8 | 86.0 | 87.6 | 88.6
MATH (CoT) | 0 | sympy_intersection_score | 51.9 | 68.0 | 77.0 | 73.8
BFCL v2 | 0 | overall_ast_summary/macro_avg/valid | 65.4 | 77.5 | 77.3 | 81.1
"""),
    ("models/llama4/MODEL_CARD.md", "meta-llama4-card", "2025-04-05",
     ["Llama 3.3 70B Instruct", "Llama 3.1 405B Instruct", "Llama 4 Scout", "Llama 4 Maverick"], """
MMMU | 0 | accuracy | - | - | 69.4 | 73.4
MathVista | 0 | accuracy | - | - | 70.7 | 73.7
LiveCodeBench (10/01/2024-02/01/2025) | 0 | pass@1 | 33.3 | 27.7 | 32.8 | 43.4
MMLU Pro | 0 | macro_avg/acc | 68.9 | 73.4 | 74.3 | 80.5
GPQA Diamond | 0 | accuracy | 50.5 | 49.0 | 57.2 | 69.8
MTOB (half book) eng->kgv | - | chrF | - | - | 42.2 | 54.0
"""),  # MTOB cells print "eng->kgv/kgv->eng": the first figure is kept; 3.3 70B and 405B have no image input
]


def meta_rows() -> list[dict]:
    rows = []
    for card, group, date, columns, text in META_TABLES:
        for line in text.strip().splitlines():
            label, shots, metric, *values = [c.strip() for c in line.split("|")]
            use, benchmark, unit = META_BENCHMARKS[label]
            shot_text = f"{shots}-shot" if shots != "-" else "shots not given"
            for name, value in zip(columns, values, strict=True):
                if value == "-":
                    continue
                rows.append(_row(name, use, benchmark, unit, f"{metric}, {shot_text}; as Meta reports it, bf16",
                                 group, float(value), date, f"meta-llama/llama-models {card} @{META_COMMIT}", "Meta"))
    return rows


EVALPLUS_COMMIT = "4ebfa0d4b62edb942232c723b9d1641fe1d24780"
# results.json entries of catalog models: name -> (humaneval+, mbpp+) pass@1; the file's own
# "link" names each checkpoint (MODELS above); its last change to results.json is dated 2024-12-26
EVALPLUS = {
    "Qwen2.5-Coder-32B-Instruct": (87.2, 77.0), "DeepSeek-V3 (Nov 2024)": (86.6, 73.0),
    "Llama3-70B-instruct": (72.0, 69.0), "Llama3-8B-instruct": (56.7, 54.8), "Llama3.1-8B-instruct": (62.8, 55.6),
    "Mistral-7B-Instruct-v0.2": (36.0, 37.0), "Mixtral-8x7B-Instruct-v0.1": (39.6, 49.7),
    "Mixtral-8x22B-Instruct-v0.1": (72.0, 64.3), "Phi-3-mini-4k-instruct": (59.1, 54.2),
}


def evalplus_rows() -> list[dict]:
    rows = []
    for name, (he_plus, mbpp_plus) in EVALPLUS.items():
        for benchmark, value in (("HumanEval+", he_plus), ("MBPP+", mbpp_plus)):
            rows.append(_row(name, "coding", benchmark, "%", "pass@1; greedy decoding, as the EvalPlus leaderboard runs it",
                             "evalplus-leaderboard", value, "2024-12-26 (results.json last changed)",
                             f"evalplus/evalplus.github.io results.json @{EVALPLUS_COMMIT}", "EvalPlus"))
    return rows


GEMMA3_SOURCE = ("Gemma 3 Technical Report, arXiv:2503.19786, Table 6 (text: viktor-shcherb/msc_thesis references/"
                 "2025-03-gemma-3-technical-report/sections/04_instruction-tuned-performance.md "
                 "@a6577d10fb277f0ceae4327a2d0b6de951bed76b)")
GEMMA3_COLUMNS = ["Gemma 2 2B", "Gemma 2 9B", "Gemma 2 27B", "Gemma 3 1B", "Gemma 3 4B", "Gemma 3 12B", "Gemma 3 27B"]
GEMMA3_BENCHMARKS = {"MMLU-Pro": ("general", "MMLU-Pro"), "LiveCodeBench": ("coding", "LiveCodeBench"),
                     "GPQA Diamond": ("reasoning", "GPQA-Diamond"), "MATH": ("reasoning", "MATH"),
                     "MMMU (val)": ("vision", "MMMU (val)")}
# the Gemma columns of Table 6 (the Gemini columns are API-only models)
GEMMA3_TABLE = """
| MMLU-Pro             | 15.6    | 46.8 | 56.9 | 14.7    | 43.6 | 60.6 | 67.5 |
| LiveCodeBench        | 1.2     | 10.8 | 20.4 | 1.9     | 12.6 | 24.6 | 29.7 |
| GPQA Diamond         | 24.7    | 28.8 | 34.3 | 19.2    | 30.8 | 40.9 | 42.4 |
| MATH                 | 27.2    | 49.4 | 55.6 | 48.0    | 75.6 | 83.8 | 89.0 |
| MMMU (val)           | -       | -    | -    | -       | 48.8 | 59.6 | 64.9 |
"""


def gemma3_rows() -> list[dict]:
    rows = []
    for line in GEMMA3_TABLE.strip().splitlines():
        label, *values = [c.strip() for c in line.strip().strip("|").split("|")]
        use, benchmark = GEMMA3_BENCHMARKS[label]
        for name, value in zip(GEMMA3_COLUMNS, values, strict=True):
            if value != "-":
                rows.append(_row(name, use, benchmark, "%", "as the report gives it; zero-shot, instruction-tuned models",
                                 "gemma3-report-table6", float(value), "2025-03 (arXiv:2503.19786)", GEMMA3_SOURCE,
                                 "Google"))
    return rows



def _vendor(repo: str) -> str:
    return VENDOR.get(repo.split("/")[0], "") if repo else ""


def _row(source_name: str, use: str, benchmark: str, unit: str, settings: str, group: str, score: float,
         date: str, source: str, evaluator: str) -> dict:
    model, repo = MODELS[source_name]
    return {"model": model, "hf_repo": repo, "evaluated_as": source_name, "use": use, "benchmark": benchmark,
            "score": score, "unit": unit, "settings": settings, "group": group, "date": date, "source": source,
            "evaluated_by": evaluator, "self_reported": bool(repo) and _vendor(repo) == evaluator}


def _cells(line: str, columns: int) -> tuple[str, list[str]]:
    """A flattened PDF row: its label and one cell per column ("1691 / 93.4%" is one cell)."""
    line = re.sub(r"(\d+) / [\d.]+%", r"\1", line.strip())
    parts = line.split(" ")
    return " ".join(parts[:-columns]), parts[-columns:]


def qwen3_rows() -> list[dict]:
    rows = []
    for table, mode, columns, text in QWEN3_TABLES:
        for line in text.strip().splitlines():
            label, cells = _cells(line, len(columns))
            use, benchmark, unit, settings = QWEN3_BENCHMARKS[label]
            for name, cell in zip(columns, cells, strict=True):
                if cell == "-":
                    continue
                rows.append(_row(name, use, benchmark, unit, f"{settings}; {QWEN3_MODES[mode]}",
                                 f"qwen3-report-{mode}", float(cell), "2025-05-14",
                                 QWEN3_SOURCE.format(table=table), "Qwen"))
    # a baseline printed in two tables appears once, and with the same figure in both
    seen: dict[tuple, float] = {}
    unique = []
    for r in rows:
        key = (r["evaluated_as"], r["benchmark"], r["group"])
        if key in seen:
            assert seen[key] == r["score"], key
            continue
        seen[key] = r["score"]
        unique.append(r)
    return unique


def r1_rows() -> list[dict]:
    rows = []
    for line in R1_DISTILL_TABLE.strip().splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        name, values = cells[0], cells[1:]
        for column, value in zip(R1_DISTILL_COLUMNS, values, strict=True):
            if column is None or value == "-":
                continue
            use, benchmark, unit, settings = column
            rows.append(_row(name, use, benchmark, unit, f"{settings}; {R1_SETTINGS}", "deepseek-r1-distill-table",
                             float(value), "2025-01-20", R1_SOURCE.format(table="Distilled Model Evaluation"),
                             "DeepSeek"))
    for line in R1_MAIN_TABLE.strip().splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        label, values = cells[1], cells[2:]
        use, benchmark, unit, settings = R1_MAIN_ROWS[label]
        for name, value in zip(R1_MAIN_COLUMNS, values, strict=True):
            if value == "-":
                continue
            rows.append(_row(name, use, benchmark, unit, f"{settings}; {R1_SETTINGS}", "deepseek-r1-main-table",
                             float(value), "2025-01-20", R1_SOURCE.format(table="DeepSeek-R1-Evaluation"),
                             "DeepSeek"))
    return rows


def aider_rows() -> list[dict]:
    rows = []
    for file, label, name, rate, fmt, date, dirname in AIDER_RUNS:
        cases = AIDER_CASES_RUN.get(dirname, 225)
        r = _row(name, "coding", "Aider polyglot", "%", "pass_rate_2 (solved within two tries) of the 225 exercises; "
                 f"{fmt} edit format, {cases} test cases run", "aider-polyglot", rate, date,
                 f"Aider-AI/aider aider/website/_data/{file} @{AIDER_COMMIT}, run {dirname}", "Aider")
        r["evaluated_as"] = label
        rows.append(r)
    return rows


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _inline(row: dict) -> str:
    return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in row.items()) + " }"


QUALITY_HEAD = """\
# Quality evidence per model and use: public benchmark tables, one row per score.
# Written by scripts/gather_quality.py from the tables it transcribes (see its docstring for
# the sources); edit the script, not this file. Nothing here is estimated: a model a table
# does not list has no row, and RigBot says its score is unknown.
#
# [[table]]: one source table: the group it belongs to (scores in one group were run the same
#   way by one evaluator, so only they are ranked against each other), who ran it, when, the
#   source, and the run setup. [[benchmark]]: per benchmark and group, the use it is evidence
#   for (coding | reasoning | general | chinese | long_context | tool_use | vision), the unit
#   and the metric.
# scores: rows of `columns`: model is the catalog name when the catalog had it at gathering
#   time ("" when not); hf_repo the checkpoint evaluated ("" for API-only models); evaluated_as
#   the model as the source names it; vendor the model's maker (a score is self-reported when
#   the vendor ran it). Rows resolve to the catalog at load by name, then by the repo's name
#   among the aliases; rows that match no catalog model are kept and ignored.
"""


def write_quality() -> int:
    rows = qwen3_rows() + r1_rows() + aider_rows() + meta_rows() + evalplus_rows() + gemma3_rows()
    tables: dict[str, dict] = {}
    benchmarks: dict[tuple[str, str], dict] = {}
    out_rows = []
    for r in rows:
        metric, _, setup = r["settings"].partition("; ")
        table_id = f"{r['group']}|{r['source']}|{setup}"
        if table_id not in tables:
            tables[table_id] = {"id": f"t{len(tables) + 1}", "group": r["group"], "evaluated_by": r["evaluated_by"],
                                "date": r["date"], "source": r["source"], "setup": setup}
        t = tables[table_id]
        assert t["date"] == r["date"], r
        key = (r["benchmark"], r["group"])
        b = benchmarks.setdefault(key, {"name": r["benchmark"], "group": r["group"], "use": r["use"],
                                        "unit": r["unit"], "metric": metric})
        assert (b["use"], b["unit"], b["metric"]) == (r["use"], r["unit"], metric), r
        vendor = _vendor(r["hf_repo"])
        out_rows.append([r["model"], r["hf_repo"], r["evaluated_as"], vendor, r["benchmark"], r["score"], t["id"]])
    # top-level keys before the first [[table]]: TOML gives later bare keys to the last table
    lines = [QUALITY_HEAD, 'columns = ["model", "hf_repo", "evaluated_as", "vendor", "benchmark", "score", "table"]',
             "scores = ["]
    lines += ["  [" + ", ".join(_toml_value(v) for v in row) + "]," for row in out_rows]
    lines += ["]", ""]
    for kind, items in (("table", tables.values()), ("benchmark", benchmarks.values())):
        for item in items:
            lines.append(f"[[{kind}]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
            lines.append("")
    (DATA / "quality.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(out_rows)


LLAMA3_SOURCE = ("llama.cpp perplexity README, \"LLaMA 3 8b Scoreboard\" (revision f364eb6f, CUDA, RTX 4090), as in "
                 "ikawrakow/ik_llama.cpp examples/perplexity/README.md @18b4e0ec212b5598f3e314680010ed921cd511c5; "
                 "also ggml-org/llama.cpp tools/perplexity/README.md")
LLAMA3_SETTINGS = "Wikitext-2 test set, llama-perplexity defaults; KLD and ΔPPL against the FP16 model's logits"
# quant | imatrix ("None" or the Wikitext tokens it was made from) | size GiB | PPL | ΔPPL | KLD  (as printed, ± dropped)
LLAMA3_8B = """
q8_0 None 7.96 6.234284 0.002650 0.001355
q6_K None 6.14 6.253382 0.021748 0.005452
q5_K_M None 5.33 6.288607 0.056974 0.010762
q5_K_S None 5.21 6.336598 0.104964 0.016595
q5_1 None 5.65 6.337857 0.106223 0.018045
q5_0 None 5.21 6.363224 0.131591 0.022239
q4_K_M WT_10m 4.58 6.382937 0.151303 0.028152
q4_K_M None 4.58 6.407115 0.175482 0.031273
q4_K_S WT_10m 4.37 6.409697 0.178064 0.031951
iq4_NL WT_10m 4.35 6.455593 0.223959 0.035742
iq4_XS WT_10m 4.14 6.459705 0.228071 0.036334
q4_K_S None 4.37 6.500529 0.268895 0.043136
q4_1 None 4.78 6.682737 0.451103 0.071683
q4_0 None 4.34 6.700147 0.468514 0.071940
q3_K_L WT_10m 4.03 6.671223 0.439590 0.073077
q3_K_M WT_10m 3.74 6.734255 0.502622 0.084358
q3_K_L None 4.03 6.787876 0.556242 0.087176
q3_K_M None 3.74 6.888498 0.656864 0.101913
iq3_M WT_10m 3.53 6.898327 0.666694 0.102534
iq3_S WT_10m 3.42 6.965501 0.733867 0.111278
iq3_XS WT_10m 3.28 7.163043 0.931409 0.138693
iq3_XXS WT_10m 3.05 7.458436 1.226803 0.183625
q3_K_S WT_10m 3.41 7.602878 1.371244 0.199821
q3_K_S None 3.41 7.863786 1.632152 0.228217
iq2_M WT_10m 2.74 8.600799 2.369166 0.325989
q2_K WT_10m 2.96 8.647825 2.416191 0.332223
q2_K_S WT_10m 2.96 9.323778 3.092145 0.403360
iq2_S WT_10m 2.56 9.650781 3.419148 0.439197
q2_K None 2.96 9.751568 3.519934 0.445132
iq2_XS WT_10m 2.43 10.761424 4.529791 0.546290
iq2_XXS WT_10m 2.24 14.091782 7.860148 0.812022
iq1_M WT_10m 2.01 25.493722 19.262089 1.393084
iq1_S WT_10m 1.88 60.694593 54.462959 2.254554
"""
LLAMA2_7B_SOURCE = ("llama.cpp perplexity README, \"LLaMA 2 vs. LLaMA 3 Quantization comparison\" (revision f364eb6f), as in "
                    "ikawrakow/ik_llama.cpp examples/perplexity/README.md @18b4e0ec212b5598f3e314680010ed921cd511c5")
# quant | mean PPL | ΔPPL | KLD  (L2 7b columns)
LLAMA2_7B = """
q2_K 5.794552 0.625552 0.108903
q4_K_M 5.877078 0.082526 0.012686
q6_K 5.808494 0.013941 0.002098
q8_0 5.798542 0.003990 0.000369
"""
LLAMA2_70B_SOURCE = ("llama.cpp perplexity README, \"Llama 2 70B Scoreboard\" (old numbers), ggerganov/llama.cpp "
                     "examples/perplexity/README.md @0a21ad6e3f457f81ad6af43b95856bf7064a9ef9; also in "
                     "ikawrakow/ik_llama.cpp examples/perplexity/README.md @18b4e0ec")
# quant | size GiB | PPL | delta to fp16 (%), fp16 PPL 3.4313
LLAMA2_70B = """
Q4_0 36.20 3.5550 3.61
Q4_1 40.20 3.5125 2.37
Q5_0 44.20 3.4744 1.26
Q2_K 27.27 3.7339 8.82
Q3_K_S 27.86 3.7019 7.89
Q3_K_M 30.83 3.5932 4.72
Q3_K_L 33.67 3.5617 3.80
Q4_K_S 36.39 3.4852 1.57
Q4_K_M 38.54 3.4725 1.20
Q5_K_S 44.20 3.4483 0.50
Q5_K_M 45.41 3.4451 0.40
Q6_K 52.70 3.4367 0.16
"""


def _gguf_name(q: str) -> str:
    return q.upper()


QUANT_HEAD = """\
# Measured quality loss per GGUF quant type against the 16-bit model, from llama.cpp's own
# perplexity tables. Written by scripts/gather_quality.py; edit the script, not this file.
# kld: mean Kullback-Leibler divergence of the token distribution from the FP16 model's
#   (0 = the same); ppl / delta_ppl: Wikitext-2 perplexity and its increase over FP16;
#   delta_ppl_pct as the source prints it where it does (the Llama 2 70B table).
# imatrix: "" without an importance matrix, else what it was made from.
# Figures hold for the model they were measured on; larger models lose less to the same quant
# (compare the Llama 2 7B and 70B rows), and RigBot says which model a figure comes from.
"""


def write_quant_quality() -> int:
    rows = []
    for line in LLAMA3_8B.strip().splitlines():
        q, imatrix, size, ppl, dppl, kld = line.split()
        rows.append({"quant": _gguf_name(q), "model": "Llama 3 8B", "imatrix": "" if imatrix == "None" else
                     "Wikitext, 10m tokens", "size_gib": float(size), "ppl": float(ppl), "delta_ppl": float(dppl),
                     "kld": float(kld), "baseline": "F16", "settings": LLAMA3_SETTINGS,
                     "date": "2024 (after LLaMA 3's release; llama.cpp revision f364eb6f)", "source": LLAMA3_SOURCE})
    for line in LLAMA2_7B.strip().splitlines():
        q, ppl, dppl, kld = line.split()
        rows.append({"quant": _gguf_name(q), "model": "Llama 2 7B", "imatrix": "", "ppl": float(ppl),
                     "delta_ppl": float(dppl), "kld": float(kld), "baseline": "F16", "settings": LLAMA3_SETTINGS,
                     "date": "2024 (llama.cpp revision f364eb6f)", "source": LLAMA2_7B_SOURCE})
    for line in LLAMA2_70B.strip().splitlines():
        q, size, ppl, pct = line.split()
        rows.append({"quant": q, "model": "Llama 2 70B", "imatrix": "", "size_gib": float(size), "ppl": float(ppl),
                     "delta_ppl": round(float(ppl) - 3.4313, 4), "delta_ppl_pct": float(pct), "baseline": "F16",
                     "settings": "Wikitext-2 test set, llama-perplexity defaults; FP16 perplexity 3.4313",
                     "date": "2023 (k-quants era; the README lists it under old numbers)", "source": LLAMA2_70B_SOURCE})
    lines = [QUANT_HEAD, "rows = ["] + [f"  {_inline(r)}," for r in rows] + ["]"]
    (DATA / "quant_quality.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


if __name__ == "__main__":
    print(f"quality.toml: {write_quality()} scores; quant_quality.toml: {write_quant_quality()} rows")
