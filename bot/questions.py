"""Plain-language questions built from command options (Discord slash commands, the CLI), in
words the parser reads back: every way of asking goes through the same reading."""

from __future__ import annotations

# what each use is called in a question (rules/parse/asks.py reads these words back)
USE_QUESTION_WORDS = {"coding": "coding", "reasoning": "reasoning", "general": "general knowledge",
                      "chinese": "Chinese", "long_context": "long context", "tool_use": "tool use", "vision": "vision"}


def recommend_question(hardware: str, use: str | None = None) -> str:
    """A use given as its id ("coding", from an autocomplete or --use) becomes its words;
    anything else typed goes in as written, for the parser to read ("写代码")."""
    text = f"What models can I run on {hardware.strip()}"
    if use and use.strip():
        text += f" for {USE_QUESTION_WORDS.get(use.strip(), use.strip())}"
    return text + "?"
