"""The composed explanation: what follows the direct answer is sentences of the sources,
each with its citation, never the model's own prose (issue 23).

SmolLM2-135M and Gemma 3 270M write paragraphs that contradict the sources they were
given ("only doubles text processing speed", "the best choice is the Threadripper
3990X"), in some runs and not in others, and a lexical gate cannot tell "does not
double" from "only doubles" when both reuse the sources' words. So the model's part
is what it can do: choose and order, among the sentences that already score as
relevant, the ones that answer the question, greedily decoded (the same question gets
the same answer). Whatever it replies, only those candidate sentences can be shown;
a reply with no usable number leaves the retrieval ranking's order.

Free prose comes back only behind the `knowledge_prose` setting, where the configured
model and the gate pass the whole-answer measure (bench/faithfulness.py).
Pure apart from the model call made by the caller; no model is loaded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.evidence import CitedSentence, Evidence, fragment

MAX_SHOWN = 2  # sentences after the direct answer: it answers; these explain
# a supporting sentence must score at least this share of the direct answer's score
# (knowledge.evidence's score: similarity, shared words, bonuses). Set by reading the
# ranked candidates of the 86 questions of tests/data/faithfulness.toml: above it they
# explain the answer ("a second card is mainly a way to get more total memory, not more
# speed", 0.99), below it they are details of the section ("Llama 2 70B ... have 8 KV
# heads" for "what is the KV cache?", 0.70). Not fitted: a judgement, written down.
MIN_SHARE_OF_BEST = 0.75
CHOICE_MAX_TOKENS = 12

CHOICE_SYSTEM = ("You choose notes that answer a question. Reply only with the numbers of the notes that "
                 "answer it, best first, separated by commas.")


@dataclass(frozen=True)
class Composed:
    sentences: list[CitedSentence]  # shown after the direct answer, in order
    chosen_by_model: bool  # the model's reply set the choice/order (else the ranking did)

    def text(self, lang: str) -> str:
        """The sentences with their citations: consecutive sentences of one section
        share one citation."""
        joiner = "" if lang == "zh" else " "
        groups: list[tuple[str, list[str]]] = []
        for s in self.sentences:
            if groups and groups[-1][0] == s.title:
                groups[-1][1].append(s.text)
            else:
                groups.append((s.title, [s.text]))
        return "\n".join(f"{joiner.join(texts)} — *{title}*" for title, texts in groups)


def candidates(evidence: Evidence) -> list[CitedSentence]:
    """Sentences that may follow the direct answer: its own section's first, each
    standing alone (no leading "it"/"this") and scoring close to the direct answer."""
    if not evidence.sentences:
        return []
    best = evidence.sentences[0].score
    return [s for s in evidence.supporting
            if s.score >= MIN_SHARE_OF_BEST * best and not fragment(s.text, evidence.lang)]


def choice_messages(question: str, options: list[CitedSentence]) -> list[dict]:
    notes = "\n".join(f"{i}. {s.text}" for i, s in enumerate(options, 1))
    return [{"role": "system", "content": CHOICE_SYSTEM},
            {"role": "user", "content": f"Question: {question}\nNotes:\n{notes}\nNumbers:"}]


_NUMBER_LIST = re.compile(r"^\W*\d{1,2}(?:\s*(?:,|;|\s|and|和|、)\s*\d{1,2})*\W*$", re.I)


def parse_choice(reply: str, n: int) -> list[int]:
    """0-based indices of the notes the reply names, in its order, each once; nothing
    unless the reply is a list of numbers and nothing else (SmolLM2 mostly writes prose
    here, "1-bit 65B (about 40 GB)...": its digits are no choice)."""
    picked: list[int] = []
    if not _NUMBER_LIST.match((reply or "").strip()):
        return picked
    for m in re.finditer(r"\d+", reply):
        i = int(m.group(0)) - 1
        if 0 <= i < n and i not in picked:
            picked.append(i)
    return picked


def compose(options: list[CitedSentence], reply: str | None = None) -> Composed:
    """Up to MAX_SHOWN of the options: in the order the model's reply gives, else in
    the ranking's."""
    picked = parse_choice(reply, len(options)) if reply is not None else []
    order = picked or list(range(len(options)))
    return Composed([options[i] for i in order[:MAX_SHOWN]], bool(picked))
