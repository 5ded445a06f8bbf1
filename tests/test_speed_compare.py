"""`/compare MODEL` and `rigbot compare MODEL`: one model across GPUs and quantizations,
drawn as a PNG (real matplotlib, real discord.py against simcord)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.charts import compare_png
from rules.compare import COMPARE_GPUS, COMPARE_QUANTS, compare
from rules.schema import Verdict

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_comparison_covers_every_card_and_quant_with_ranges():
    c = compare("llama 3.1 8b")
    assert c.model == "Llama 3.1 8B" and c.error is None
    assert len(c.points) == len(COMPARE_GPUS) * len(COMPARE_QUANTS)
    for p in c.points:
        if p.verdict == Verdict.DOES_NOT_FIT:
            assert p.expected_tokens_per_s is None
        else:
            low, high = p.expected_range
            assert low <= p.expected_tokens_per_s <= high
    q4 = next(s for s in c.summary() if s.quant == "Q4_K_M")
    assert q4.fastest.gpu == "RTX 5090"  # the most bandwidth among these cards for an 8B
    assert compare_png(c).startswith(PNG_MAGIC)


def test_unknown_model_is_not_swapped():
    c = compare("llama 9 8b")
    assert c.error and c.points == [] and "llama 9 8b" in c.message


def test_cli_writes_the_chart(tmp_path):
    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    out = tmp_path / "chart.png"
    done = subprocess.run([sys.executable, "-m", "bot", "compare", "qwen2.5 14b", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert "Q4_K_M" in done.stdout and "tokens/s" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "bot", "compare", "no such model 9000"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode == 2 and "don't know" in bad.stderr


async def test_discord_compare_attaches_the_chart(world):
    result = await world.alice.slash(world.channel, "compare", model="Llama 3.1 8B")
    message = result.response
    assert message is not None and message.embeds
    embed = message.embeds[0]
    assert embed.image.url.endswith("compare.png")
    assert "Q4_K_M" in embed.description
    assert message.attachments and message.attachments[0].filename == "compare.png"
