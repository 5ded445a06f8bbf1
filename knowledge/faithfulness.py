"""The faithfulness gate: generated text is checked sentence by sentence before anyone
sees it. A sentence is cut when it

- has a number (with its unit) or a hardware/model name found in neither the
  retrieved sections, the rule engine's figures nor the question;
- states the opposite of the evidence: a negation flipped against the source
  sentence it paraphrases, a "yes"/"no" against the direct answer, an "8-bit (q4_0)"
  gloss, or a different GPU/model than the direct answer names;
- loops (a word or phrase repeated over and over) or repeats an earlier sentence;
- is in the wrong language.

When the model flipped the evidence, or most of its text was cut, or nothing is
left, the whole text falls back to the extractive explanation (sentences copied from
the sources). The returned `GateReport` says what was cut and why, with
machine-readable reasons, for the service's log and `stats`.

Pure: no model, no I/O beyond the catalog it is given.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from knowledge.evidence import POLARITY_EN, POLARITY_ZH, Evidence, is_yes_no, split_sentences
from knowledge.index import Hit, tokenize
from rules.phrases import language_of

# Reasons, machine-readable (log columns, stats keys).
UNSUPPORTED_NUMBER = "unsupported_number"
UNSUPPORTED_NAME = "unsupported_name"
CONTRADICTION = "contradiction"
LOOP = "loop"
REPETITION = "repetition"
WRONG_LANGUAGE = "wrong_language"
UNGROUNDED = "ungrounded"  # most of its words are in neither the sources nor the question
REASONS = (UNSUPPORTED_NUMBER, UNSUPPORTED_NAME, CONTRADICTION, LOOP, REPETITION, WRONG_LANGUAGE, UNGROUNDED)
# a sentence must share at least this much of its topic words (English stems, Chinese
# character pairs) with the sources: small models write fluent-looking text that is about
# nothing in them ("实险性和运行时失费是一个金颓水平层"), which no other check catches
# Chinese is counted in character pairs, of which a garbled sentence still shares many
# common ones (内存, 带宽), so it needs a higher share; measured on the test set's good
# generations (English ≥ 0.57, Chinese ≥ 0.78) and SmolLM2's nonsense (0.40–0.52)
MIN_GROUNDED_SHARE = {"en": 0.45, "zh": 0.65}
MIN_TOKENS_TO_JUDGE = 4
# function words tokenize() keeps: they are in every source and would make anything look grounded
_FUNCTION_WORDS = frozenset("""
all also any both but each even every few has have had here into its just least less like many may
might more most much must no nor not now off once one only other others our ours out over own same
should since so some such than their them then there these they those though through thus too under
until upon very was were when where whether while who whom whose will would yet yes doing done does
instead based given time times way ways thing things make makes made get gets got use used using
well still about after again against because before being below between during further itself
""".split())

MAX_CUT_SHARE = 0.5  # cut more than this share of sentences and the text is not trusted
LOOP_TIMES = 3  # a stretch of words repeated this often back to back is a loop ...
LOOP_MAX_PERIOD = 25  # ... for stretches up to this many words/characters
LOOP_LONG_NGRAM = 6  # and a phrase this long LOOP_TIMES times anywhere is one too
RESTATED_SHARE = 0.4  # of a sentence's 6-word phrases found in the direct answer: a restatement
# (templated lists such as "6 GB covers 4-bit 7B, 10 GB covers 4-bit 13B" vary their
# numbers, so they are neither)
LOOP_RUN = 3  # the same word this many times in a row is a loop
MIN_PARAPHRASE_OVERLAP = 0.6  # share of a clause's words a source clause must share to be "the same claim"


@dataclass(frozen=True)
class Cut:
    sentence: str
    reason: str  # one of REASONS
    detail: str  # the number, name or source sentence that decided it


@dataclass
class GateReport:
    kept: str  # what may be shown: the checked text, or the extractive fallback
    cuts: list[Cut] = field(default_factory=list)
    kept_sentences: list[str] = field(default_factory=list)  # `kept`, sentence by sentence
    sentences_in: int = 0
    sentences_kept: int = 0
    fell_back: bool = False
    fallback_reason: str | None = None  # a reason from REASONS, or "empty" / "mostly_cut"

    def counts(self) -> dict[str, int]:
        counter = Counter(c.reason for c in self.cuts)
        return {reason: counter.get(reason, 0) for reason in REASONS}

    def as_dict(self) -> dict:
        return {"kept": self.kept, "cuts": [asdict(c) for c in self.cuts], "counts": self.counts(),
                "sentences_in": self.sentences_in, "sentences_kept": self.sentences_kept,
                "fell_back": self.fell_back, "fallback_reason": self.fallback_reason}


# numbers ----------------------------------------------------------------------------
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(\d+(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*[x×]\s*(\d+(?:\.\d+)?))?"
    r"\s*(gib|gb/s|gb|mib|mb|tb|kib|k\b|b\b|m\b|billion|million|tokens?/s|tok/s|t/s|%|-?bits?|bytes?|w\b|"
    r"mt/s|ghz|ms|s\b|tokens?|layers?|倍|位|个|块|张|层|秒|毫秒|词元)?",
    re.I)
_UNIT_FAMILY = {
    "gib": "mem", "gb": "mem", "mib": "mem", "mb": "mem", "tb": "mem", "kib": "mem",
    "gb/s": "bw", "mt/s": "bw", "b": "params", "billion": "params", "m": "params", "million": "params",
    "tokens/s": "speed", "token/s": "speed", "tok/s": "speed", "t/s": "speed",
    "%": "pct", "bit": "bits", "bits": "bits", "-bit": "bits", "-bits": "bits", "位": "bits",
    "倍": "times", "x": "times", "ms": "time", "s": "time", "秒": "time", "毫秒": "time",
}
_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30, "hundred": 100}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.I)
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUMBER = re.compile(r"([一二两三四五六七八九十]+)(?=倍|块|张|个|位|层|路|通道|种|台|秒)")


def _zh_value(word: str) -> float | None:
    if "十" not in word:
        return float(_ZH_DIGITS[word]) if len(word) == 1 else None
    tens, _, ones = word.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return float((_ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0))


def numbers(text: str) -> list[tuple[str, float, str | None]]:
    """(as written, value, unit family) for each number in the text. Digits inside
    names (Q4_K_M, A100, gpt-oss-20b) are names, not numbers; "8x7B" is one number."""
    found = []
    for m in _NUMBER.finditer(text):
        raw = m.group(0).strip()
        value = float(m.group(1).replace(",", ""))
        if m.group(2):  # 8x7B, 2×24
            value = value * 1000 + float(m.group(2))  # keeps "4x2" distinct from 4 and from 8
        unit = (m.group(3) or "").lower().strip()
        family = "times" if m.group(2) and not unit else _UNIT_FAMILY.get(unit)
        found.append((raw, value, family))
    for m in _WORD_NUMBER.finditer(text):
        found.append((m.group(0), float(_WORD_NUMBERS[m.group(1).lower()]), None))
    for m in _ZH_NUMBER.finditer(text):
        value = _zh_value(m.group(1))
        if value is not None:
            found.append((m.group(0), value, None))
    return found


@dataclass(frozen=True)
class Support:
    """What generated text may state: everything in the sources, the rule engine's
    figures and the question, indexed for the checks."""

    values: frozenset[float]
    pairs: frozenset[tuple[float, str]]  # (value, unit family) as written in the sources
    valued_units: frozenset[float]  # values the sources write with some unit
    flat: str  # lowercase, no spaces or hyphens: for name look-ups
    sentences: tuple[str, ...]  # source sentences and titles, for the negation check
    tokens: frozenset[str] = frozenset()  # topic words of all of it, for the grounding check

    @classmethod
    def of(cls, texts: list[str], lang: str) -> Support:
        nums = [n for t in texts for n in numbers(t)]
        values = {v for _, v, _ in nums}
        # "8x7B" also supports 8 and 7 when written alone
        values |= {v // 1000 for v in values if v >= 1000 and v % 1000 and v // 1000 < 1000}
        values |= {v % 1000 for v in values if v >= 1000 and v % 1000}
        sentences = tuple(s for t in texts for s in split_sentences(t, lang))
        return cls(frozenset(values), frozenset((v, f) for _, v, f in nums if f),
                   frozenset(v for _, v, f in nums if f), _flat(" ".join(texts)), sentences,
                   frozenset(tokenize(" ".join(texts))))

    def number_ok(self, value: float, family: str | None) -> bool:
        if value not in self.values:
            return False
        if family and value in self.valued_units and (value, family) not in self.pairs:
            return family == "times" or family is None
        return True


def _flat(text: str) -> str:
    return re.sub(r"[\s\-_]+", "", text.lower())


# names ------------------------------------------------------------------------------
_HARDWARE = re.compile(
    r"\b(?:(?:rtx|gtx|rx|radeon|arc|quadro|tesla|titan|mi)\s?-?[a-z]?\d{2,4}[a-z]*(?:\s?(?:ti|xt|xtx|super))?"
    r"|(?<![\w-])[AHLVPTB]\d{1,3}[A-Z]?(?![\w-]))", re.I)
_QUANT_NAME = re.compile(r"\b(?:i?q\d_[a-z0-9_]+|q\d_\d|f16|bf16|f32|fp16|fp8|int8|int4|gptq|awq|exl2)\b", re.I)
_BIT_GLOSS = re.compile(r"(\d+)\s*-?\s*(?:bit|位)[^.,;。，；]{0,25}?\(\s*`?(i?q\d[_a-z0-9]*)", re.I)


_NAME_CACHE: dict[int, tuple] = {}  # id(catalog) -> its names; catalogs are frozen


def _catalog_names(catalog) -> tuple[tuple[str, str, str], ...]:
    """(matching key, entity, kind) for every GPU key and model alias, longest first."""
    cached = _NAME_CACHE.get(id(catalog))
    if cached and cached[0] is catalog:
        return cached[1]
    rows = []
    for gpu in catalog.gpus:
        for key in {*gpu.keys, gpu.name.lower()}:
            rows.append((key, gpu.name, "gpu"))
    for model in catalog.models:
        for alias in {*model.aliases, model.name.lower()}:
            rows.append((alias, model.name, "model"))
    words = {m.family.rstrip("0123456789.") for m in catalog.models}
    words |= {m.name.split()[0].lower() for m in catalog.models}
    rows += [(w, w, "family") for w in words if len(w) > 2]
    result = tuple(sorted(set(rows), key=lambda r: -len(r[0])))
    _NAME_CACHE[id(catalog)] = (catalog, result)
    return result


def _name_pattern(key: str) -> re.Pattern:
    parts = [re.escape(p) for p in re.split(r"[\s\-_]+", key) if p]
    return re.compile(r"(?<![\w.])" + r"[\s\-_]?".join(parts) + r"(?![\w])", re.I)


@lru_cache(maxsize=4096)
def _compiled(key: str) -> re.Pattern:
    return _name_pattern(key)


def names(text: str, catalog=None) -> list[tuple[str, str, str]]:
    """(as written, entity, kind) for hardware and model names: catalog GPUs and models,
    model family words, quant types, and GPU-shaped tokens (RTX 5095, H200)."""
    found: list[tuple[str, str, str]] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match, entity: str, kind: str) -> None:
        if any(m.start() < end and start < m.end() for start, end in taken):
            return
        taken.append((m.start(), m.end()))
        found.append((m.group(0), entity, kind))

    if catalog is not None:
        for key, entity, kind in _catalog_names(catalog):
            if len(key) < 3 and not any(c.isdigit() for c in key):
                continue
            for m in _compiled(key).finditer(text):
                add(m, entity, kind)
    for m in _HARDWARE.finditer(text):
        add(m, m.group(0), "hardware")
    for m in _QUANT_NAME.finditer(text):
        add(m, m.group(0).upper(), "quant")
    return found


def _name_supported(written: str, entity: str, kind: str, support: Support, catalog) -> bool:
    if _flat(written) in support.flat:
        return True
    if kind in ("gpu", "model") and catalog is not None:
        keys = [k for k, e, _ in _catalog_names(catalog) if e == entity and len(k) >= 3]
        return any(_flat(k) in support.flat for k in keys)
    return False


# polarity ---------------------------------------------------------------------------
_CLAUSE = re.compile(r"[,;:，；：]|\b(?:but|while|whereas|although|though|however)\b|但是?|而|不过|然而", re.I)
_YES = re.compile(r"^\W*(?:the answer is\s+)?(?:yes|yeah|correct|true)\b|^\W*(?:是的|对|会的|能的|可以的)", re.I)
_NO = re.compile(r"^\W*(?:the answer is\s+)?(?:no|nope|false)\b|^\W*(?:不是|不会|不能|不对|并不)", re.I)
_NEGATORS_TEXT = re.compile(r"\b(?:not|no|never|only|cannot|without|rather|instead)\b|n't|并不|没有|无法|不|只|仅|没",
                            re.I)


def _polar(text: str, lang: str) -> bool:
    return bool((POLARITY_ZH if lang == "zh" else POLARITY_EN).search(text))


def _content(text: str) -> set[str]:
    """Topic words of a clause, without its negators (so "does double" and "does not
    double" share all their words)."""
    return {t for t in tokenize(_NEGATORS_TEXT.sub(" ", text)) if len(t) > 1}


def _clauses(sentence: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(sentence) if c and len(c.strip()) > 2]


def _flipped(sentence: str, support: Support, lang: str) -> str | None:
    """The source clause this sentence's claim paraphrases with the opposite polarity."""
    for clause in _clauses(sentence):
        words = _content(clause)
        if len(words) < 2:
            continue
        best, best_overlap = None, 0.0
        for source in support.sentences:
            for source_clause in _clauses(source):
                shared = words & _content(source_clause)
                overlap = len(shared) / len(words)
                if len(shared) >= 2 and overlap > best_overlap:
                    best, best_overlap = source_clause, overlap
        if best and best_overlap >= MIN_PARAPHRASE_OVERLAP and _polar(clause, lang) != _polar(best, lang):
            return best
    return None


def _answers_against(sentence: str, question: str, evidence: Evidence, lang: str) -> str | None:
    """A yes/no question: a "yes"/"no", or a restatement of the question, that takes the
    other side from the direct answer."""
    if not evidence.direct_answer or not is_yes_no(question):
        return None
    negative = _polar(evidence.direct_answer, lang)
    if _YES.search(sentence) and negative:
        return evidence.direct_answer
    if _NO.search(sentence) and not negative:
        return evidence.direct_answer
    asked = _content(question)
    if len(asked) >= 2:
        for clause in _clauses(sentence):
            if len(asked & _content(clause)) / len(asked) >= 0.75 and _polar(clause, lang) != negative:
                return evidence.direct_answer
    return None


def _other_entity(sentence: str, evidence: Evidence, catalog) -> str | None:
    """The direct answer names a GPU or model; this sentence puts another one of the same
    kind in its place ("the sweet spot is the RTX 3090" -> "the A100")."""
    if catalog is None or not evidence.direct_answer:
        return None
    answer_names = names(evidence.direct_answer, catalog)
    for kind in ("gpu", "model"):
        expected = {e for _, e, k in answer_names if k == kind}
        said = {e for _, e, k in names(sentence, catalog) if k == kind}
        if expected and said and not (said & expected):
            return ", ".join(sorted(said))
    return None


def _bit_gloss(sentence: str, catalog) -> str | None:
    """"8-bit quantization (q4_0)": the quant type named is not of the bits stated."""
    for m in _BIT_GLOSS.finditer(sentence):
        bits, quant = int(m.group(1)), m.group(2).upper()
        try:
            stated = catalog.quant(quant).bits if catalog is not None else int(quant[1 + quant.startswith("I")])
        except (KeyError, ValueError, IndexError):
            continue
        if stated != bits:
            return m.group(0)
    return None


# loops and language -----------------------------------------------------------------
_UNIT = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]", re.I)


def is_looping(text: str) -> bool:
    """A word LOOP_RUN times in a row, a stretch of text repeated LOOP_TIMES times back
    to back, or a LOOP_LONG_NGRAM-word phrase LOOP_TIMES times anywhere."""
    units = [u.lower() for u in _UNIT.findall(text)]
    run = 1
    for prev, cur in zip(units, units[1:], strict=False):
        run = run + 1 if cur == prev else 1
        if run >= LOOP_RUN and (len(cur) > 1 or not cur.isdigit()):
            return True
    for period in range(2, LOOP_MAX_PERIOD + 1):
        # a stretch where every unit equals the one `period` before it; LOOP_TIMES copies,
        # the last one allowed to stop a word short ("fast and fast and fast")
        needed, matched = (LOOP_TIMES - 1) * period - 1, 0
        for a, b in zip(units, units[period:], strict=False):
            matched = matched + 1 if a == b else 0
            if matched >= needed:
                return True
    long_grams = Counter(tuple(units[i:i + LOOP_LONG_NGRAM]) for i in range(len(units) - LOOP_LONG_NGRAM + 1))
    return any(n >= LOOP_TIMES for n in long_grams.values())


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def wrong_language(sentence: str, lang: str) -> bool:
    if lang == "zh":
        return not _CJK.search(sentence) and len(_LATIN_WORD.findall(sentence)) >= 3
    return bool(_CJK.search(sentence))


def _grams(text: str) -> set[tuple[str, ...]]:
    units = [u.lower() for u in _UNIT.findall(text or "")]
    return {tuple(units[i:i + LOOP_LONG_NGRAM]) for i in range(len(units) - LOOP_LONG_NGRAM + 1)}


def _restates(sentence: str, opening: set[tuple[str, ...]]) -> bool:
    """The answer opens with the direct answer; a sentence saying much of it again
    (RESTATED_SHARE of its long phrases) only repeats it."""
    grams = _grams(sentence)
    return bool(grams) and len(grams & opening) >= RESTATED_SHARE * len(grams)


def _normal(sentence: str) -> str:
    return "".join(u.lower() for u in _UNIT.findall(sentence))


# the gate ---------------------------------------------------------------------------
def support_for(question: str, hits: list[Hit], facts: str | None = None) -> Support:
    lang = language_of(question)
    texts = [f"{h.title}\n{h.text}" for h in hits] + ([facts] if facts else []) + [question]
    return Support.of(texts, lang)


def grounded_share(sentence: str, support: Support) -> float | None:
    """The share of the sentence's topic words found in the sources, or None when it
    has too few to judge ("Yes.", "In short:")."""
    tokens = {t for t in tokenize(sentence) if len(t) > 1 and t not in _FUNCTION_WORDS}
    if len(tokens) < MIN_TOKENS_TO_JUDGE or not support.tokens:
        return None
    return len(tokens & support.tokens) / len(tokens)


def check_sentence(sentence: str, *, question: str, evidence: Evidence, support: Support, lang: str,
                   catalog=None, first: bool = True) -> Cut | None:
    """The first reason to cut this sentence, or None to keep it. `first`: the sentence
    opens the text, where it answers the question (and must name what the evidence names)."""
    if wrong_language(sentence, lang):
        return Cut(sentence, WRONG_LANGUAGE, lang)
    if is_looping(sentence):
        return Cut(sentence, LOOP, sentence[:60])
    for raw, value, family in numbers(sentence):
        if not support.number_ok(value, family):
            return Cut(sentence, UNSUPPORTED_NUMBER, raw)
    for written, entity, kind in names(sentence, catalog):
        if not _name_supported(written, entity, kind, support, catalog):
            return Cut(sentence, UNSUPPORTED_NAME, written)
    for found in (_bit_gloss(sentence, catalog), _answers_against(sentence, question, evidence, lang),
                  first and _other_entity(sentence, evidence, catalog), _flipped(sentence, support, lang)):
        if found:
            return Cut(sentence, CONTRADICTION, found)
    # last, so a more precise reason (a number, a name, a contradiction) is given first
    if (share := grounded_share(sentence, support)) is not None and share < MIN_GROUNDED_SHARE.get(lang, 0.45):
        return Cut(sentence, UNGROUNDED, f"{share:.0%} of its words in the sources")
    return None


class SentenceGate:
    """The per-sentence half of the gate, fed sentences in text order: `gate` runs it over
    a whole text, `knowledge.gated_stream` over sentences as they stream in."""

    def __init__(self, *, question: str, evidence: Evidence, support: Support, lang: str, catalog=None) -> None:
        self.question, self.evidence, self.support, self.lang, self.catalog = (
            question, evidence, support, lang, catalog)
        self.kept: list[str] = []
        self.cuts: list[Cut] = []
        self._seen: set[str] = set()
        self._opening = _grams(evidence.direct_answer)

    def check(self, sentence: str) -> Cut | None:
        """Cut or keep one sentence (recorded); the cut, or None when it is kept."""
        cut = check_sentence(sentence, question=self.question, evidence=self.evidence, support=self.support,
                             lang=self.lang, catalog=self.catalog, first=not (self.kept or self.cuts))
        key = _normal(sentence)
        if cut is None and (key in self._seen or _restates(sentence, self._opening)):
            cut = Cut(sentence, REPETITION, sentence[:60])
        self._seen.add(key)
        if cut:
            self.cuts.append(cut)
        else:
            self.kept.append(sentence)
        return cut

    def report(self) -> GateReport:
        """What may be shown: the kept sentences, or the sources' words when the text as
        a whole is not to be trusted."""
        report = GateReport(kept="", cuts=list(self.cuts), sentences_in=len(self.kept) + len(self.cuts))
        joined = ("" if self.lang == "zh" else " ").join(self.kept)
        reason = _distrust(report, self.kept, joined, self.support, self.evidence.direct_answer)
        if reason:
            return _fall_back(report, self.evidence, self.support, reason)
        report.kept, report.kept_sentences, report.sentences_kept = joined, list(self.kept), len(self.kept)
        return report


def gate(text: str, *, question: str, evidence: Evidence, hits: list[Hit], facts: str | None = None,
         catalog=None) -> GateReport:
    """Check generated text; return what may be shown and what was cut, and why.
    `catalog` (rules.catalog.default_catalog()) lets names be recognised; `facts` is the
    rule engine's answer text when the question named hardware."""
    lang = evidence.lang or language_of(question)
    sentences = SentenceGate(question=question, evidence=evidence, support=support_for(question, hits, facts),
                             lang=lang, catalog=catalog)
    for sentence in split_sentences(text or "", lang):
        sentences.check(sentence)
    return sentences.report()


def _distrust(report: GateReport, kept: list[str], joined: str, support: Support, evidence_text: str) -> str | None:
    counts = report.counts()
    if counts[CONTRADICTION]:
        return CONTRADICTION
    if not kept:
        return "empty" if not report.cuts else max(counts, key=counts.get)
    if len(report.cuts) > MAX_CUT_SHARE * report.sentences_in:
        return "mostly_cut"
    if is_looping(joined) or is_looping(f"{evidence_text} {joined}"):  # repeated across sentences
        report.cuts.append(Cut(joined[:60], LOOP, "across sentences"))
        return LOOP
    if any(not support.number_ok(v, f) for _, v, f in numbers(joined)):  # a number split across sentences
        return UNSUPPORTED_NUMBER
    return None


def _fall_back(report: GateReport, evidence: Evidence, support: Support, reason: str) -> GateReport:
    text = evidence.extractive_explanation()
    safe = (not is_looping(text) and not is_looping(f"{evidence.direct_answer} {text}")
            and all(support.number_ok(v, f) for _, v, f in numbers(text)))
    report.kept = text if safe else ""
    report.kept_sentences = [s.text for s in evidence.supporting[:2]] if safe and text else []
    report.sentences_kept = len(report.kept_sentences)
    report.fell_back, report.fallback_reason = True, reason
    return report
