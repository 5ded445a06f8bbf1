"""Evidence first: the sentence of the retrieved sections that directly answers the
question, in the question's language, with its citation.

A knowledge answer opens with `Evidence.direct_answer` (text copied from the
knowledge base, so it cannot contradict it), then the model's explanation (checked by
knowledge.faithfulness), then the sources. Sentences are ranked with the same
embedding model as retrieval plus word overlap (MiniLM barely reads Chinese), a
bonus for the lead sentence of a section (written to stand alone) and, for yes/no
questions, a bonus for sentences that state a polarity ("does not", "only", 不/只).
Pure apart from the embedder passed in; no model is loaded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from knowledge.index import Hit, tokenize
from rules.phrases import language_of

# Weights of the sentence score; tuned on tests/data/faithfulness.toml.
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.6  # share of the question's tokens found in the sentence
LEAD_BONUS = 0.12  # first sentence of a section: the key fact, written to stand alone
TITLE_BONUS = 0.10  # a sentence of the section that ranked first in retrieval
POLARITY_BONUS = 0.15  # yes/no question and the sentence says "not"/"only"/不/只
DEFINITION_BONUS = 0.15  # "what is X?" and a paragraph sentence names X near its start
DEFINITION_WINDOW = 40  # characters
BULLET_PENALTY = 0.05  # bullets hold details; the answer is usually in a section's paragraph
FRAGMENT_PENALTY = 0.10  # table rows, "Example:" bullets, sentences opening with a pronoun
SHORT_ANSWER_CHARS = {"en": 70, "zh": 28}  # a lead this short takes the next sentence along
MAX_SUPPORTING = 4

_ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "etc.", "approx.", "cf.", "fig.")
_EN_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(`*A-Za-z0-9-])")
_ZH_END = re.compile(r"(?<=[。！？])")  # ； joins clauses, like ";" in English
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MARKUP = re.compile(r"\*\*|__|^#+\s*")
# also after a leading condition: "If I add a second RTX 3090, do I get twice the tokens/s?"
_YES_NO_EN = re.compile(r"^\s*(?:if\b[^,?]*,\s*)?(?:does|do|did|is|are|was|were|can|could|will|would|should|"
                        r"has|have|must|may|might)\b", re.I)
_YES_NO_ZH = re.compile(r"(吗|是否|能否|可否|会不会|能不能|是不是|有没有|要不要|值不值)")
_WHY_NOT = re.compile(r"\bwhy\b.*(?:\bnot\b|n't|\bno\b)|为什么.*(不|没)", re.I)
POLARITY_EN = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|cannot|without|only|unless|"
                         r"rather than|instead of|barely|hardly)\b|n't\b", re.I)
# 不 except in words where it is no negation (不同 different, 不仅 not only, 不过 but ...).
# 才 ("only then") and 除非 ("unless") restrict a claim the way 只 does.
POLARITY_ZH = re.compile(r"(?:并不|没有|无法|不能|不会|不是|不必|不用|不要|仅|只(?!要)|才|除非|"
                         r"不(?![同少仅过断管久错足论但单光久]))")
_WHAT_IS_EN = re.compile(r"^\s*what\s+(?:is|are|does|do)\s+(?:an?\s+|the\s+)?(.+?)"
                         r"(?:\s+(?:do|does|mean|stand for)\b.*)?\s*\??\s*$", re.I)
_WHAT_IS_ZH = re.compile(r"^\s*(?:什么是|何为)\s*(.+?)\s*[？?]?\s*$|^\s*(.+?)\s*(?:参数)?(?:是什么|是做什么的|有什么用|是什么意思)")
_PRONOUN_START = re.compile(r"^(?:it|this|that|these|those|they|both|its|there)\b|^(这|它|那|其|两者)", re.I)


@dataclass(frozen=True)
class CitedSentence:
    text: str
    section_id: str
    title: str  # the section title, shown as the citation
    lang: str
    score: float
    lead: bool = False  # the first sentence of its section


@dataclass(frozen=True)
class Evidence:
    question: str
    lang: str
    direct_answer: str  # "" when no retrieved section is in the question's language
    sentences: list[CitedSentence] = field(default_factory=list)  # best first

    @property
    def citation(self) -> str | None:
        return self.sentences[0].title if self.sentences else None

    @property
    def supporting(self) -> list[CitedSentence]:
        """Ranked sentences after the direct answer: the extractive explanation."""
        used = self.direct_answer
        rest = [s for s in self.sentences if s.text not in used]
        home = self.sentences[0].section_id if self.sentences else None
        # the direct answer's own section first: it explains the answer, others digress
        return sorted(rest, key=lambda s: s.section_id != home)[:MAX_SUPPORTING]

    def extractive_explanation(self, n: int = 2) -> str:
        """What stands in for the model's text when the gate rejects it."""
        joiner = "" if self.lang == "zh" else " "
        return joiner.join(s.text for s in self.supporting[:n])


def is_yes_no(question: str) -> bool:
    if language_of(question) == "zh":
        return bool(_YES_NO_ZH.search(question)) or bool(_WHY_NOT.search(question))
    return bool(_YES_NO_EN.match(question)) or bool(_WHY_NOT.search(question))


def polar(text: str) -> bool:
    """Whether the text states a negation or restriction ("does not", "only", 不, 只)."""
    pattern = POLARITY_ZH if language_of(text) == "zh" else POLARITY_EN
    return bool(pattern.search(text))


def _clean(line: str) -> str:
    line = _BULLET.sub("", line)
    line = _MARKUP.sub("", line)
    return line.replace("**", "").strip()


def _split_en(text: str) -> list[str]:
    parts: list[str] = []
    for piece in _EN_END.split(text):
        if parts and parts[-1].lower().endswith(_ABBREVIATIONS):
            parts[-1] += " " + piece
        else:
            parts.append(piece)
    return parts


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """Sentences of a Markdown text: one or more per paragraph or bullet; table rows,
    headings and code fences are skipped. Chinese ends sentences at 。！？, English
    at .!? followed by a space and a capital, digit or quote (not after "e.g.")."""
    return [s for s, _ in _sentences(text, lang)]


def _sentences(text: str, lang: str | None = None) -> list[tuple[str, bool]]:
    """(sentence, whether it comes from a bullet)."""
    lang = lang or language_of(text)
    out: list[tuple[str, bool]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("|", "```", "#")):
            continue
        cleaned = _clean(stripped)
        if not cleaned:
            continue
        pieces = [p for p in _ZH_END.split(cleaned)] if lang == "zh" else _split_en(cleaned)
        if lang == "zh":  # a Chinese text may still hold English sentences
            pieces = [q for p in pieces for q in _split_en(p)]
        bullet = bool(_BULLET.match(stripped))
        out += [(p.strip(), bullet) for p in pieces if len(p.strip()) > 1]
    return out


def _candidates(hits: list[Hit], lang: str) -> list[tuple[str, Hit, bool, int, bool]]:
    seen: set[str] = set()
    found = []
    for rank, hit in enumerate(hits):
        if hit.lang != lang:
            continue
        for i, (sentence, bullet) in enumerate(_sentences(hit.text, lang)):
            if sentence in seen:
                continue
            seen.add(sentence)
            found.append((sentence, hit, i == 0, rank, bullet))
    return found


def _tokens(text: str) -> set[str]:
    """Retrieval's tokens plus the parts of joined words ("llama-30b" also gives "30b")."""
    tokens = set(tokenize(text))
    return tokens | {part for t in tokens for part in re.split(r"[-_.]", t) if part and part != t}


def _lexical(question_tokens: set[str], sentence: str) -> float:
    if not question_tokens:
        return 0.0
    return len(question_tokens & _tokens(sentence)) / len(question_tokens)


def subject_of(question: str) -> str | None:
    """The X of "what is X?", "what does X do?", "什么是X？", "X是什么？" (lowercase)."""
    match = _WHAT_IS_ZH.match(question) if language_of(question) == "zh" else _WHAT_IS_EN.match(question)
    if not match:
        return None
    subject = next(g for g in match.groups() if g)
    return _plain(subject) or None


def _plain(text: str) -> str:
    text = re.sub(r"[`'\"“”‘’]", "", text).strip().lower()
    return re.sub(r"^(?:the|a|an)\s+", "", text)


def fragment(sentence: str, lang: str) -> bool:
    """A sentence that does not stand alone: a leading pronoun, a lead-in, a row."""
    if _PRONOUN_START.search(sentence):
        return True
    if lang == "en":
        return sentence[:1].islower() or sentence.rstrip().endswith(":") or len(sentence.split()) < 5
    return len(sentence) < 10 or sentence.rstrip().endswith(("：", ":"))


def select_evidence(question: str, hits: list[Hit], embedder, lang: str | None = None) -> Evidence:
    """Rank the sentences of the retrieved sections in the question's language and
    take the best one (with the next sentence of its section when it is very short)
    as the direct answer."""
    lang = lang or language_of(question)
    candidates = _candidates(hits, lang)
    if not candidates:
        return Evidence(question, lang, "", [])
    texts = [c[0] for c in candidates]
    vectors = embedder.encode([question, *texts], normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    dense = np.asarray(vectors[1:]) @ np.asarray(vectors[0])
    q_tokens = _tokens(question)
    yes_no = is_yes_no(question)
    subject = subject_of(question)
    scored = []
    for (sentence, hit, lead, rank, bullet), d in zip(candidates, dense, strict=True):
        score = DENSE_WEIGHT * float(d) + LEXICAL_WEIGHT * _lexical(q_tokens, sentence)
        score += LEAD_BONUS * lead + TITLE_BONUS * (rank == 0)
        if yes_no and polar(sentence):
            score += POLARITY_BONUS
        if subject and not bullet and subject in _plain(sentence)[:DEFINITION_WINDOW]:
            score += DEFINITION_BONUS
        if bullet:
            score -= BULLET_PENALTY
        if fragment(sentence, lang):
            score -= FRAGMENT_PENALTY
        scored.append(CitedSentence(sentence, hit.section_id, hit.title, lang, round(score, 4), lead))
    scored.sort(key=lambda s: -s.score)
    return Evidence(question, lang, _direct_answer(scored[0], texts, candidates, lang), scored)


def _direct_answer(best: CitedSentence, texts: list[str], candidates, lang: str) -> str:
    if len(best.text) >= SHORT_ANSWER_CHARS[lang]:
        return best.text
    i = texts.index(best.text)
    if i + 1 < len(candidates) and candidates[i + 1][1].section_id == best.section_id:
        return best.text + ("" if lang == "zh" else " ") + texts[i + 1]
    return best.text
