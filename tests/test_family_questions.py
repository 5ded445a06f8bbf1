"""A model family named without a size or version ("devstral on a 4090", "qwen3 on my 3090",
"gemma 能跑吗") is answered with that family's models, never with the general list; a family
people name that the catalog has none of ("grok on a 4090") gets "I don't know" first.
Phrasings are generated for every family word the catalog has."""

from __future__ import annotations

import itertools
import random

import pytest

from rules.catalog import default_catalog
from rules.engine import answer_question
from rules.parse import parse
from rules.parse.models import _COMMON_FAMILY_WORDS, FAMILY_WORDS, family_keys
from rules.recommend import family_models

CATALOG = default_catalog()
KEYS = family_keys(CATALOG)
TEMPLATES = ("{f} on a {gpu}", "can my {gpu} run {f}?", "which {f} fits my {gpu}?", "{gpu}能跑{f}吗",
             "best {f} for an {gpu}", "I have an {gpu}, what {f} can I use")
GPUS = ("RTX 3090", "RTX 4060 Ti 16GB", "RTX 3060 12GB", "4090")


def _cases(n: int = 120, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pool = list(itertools.product(sorted(KEYS), TEMPLATES, GPUS))
    return [(key, t.format(f=key, gpu=gpu)) for key, t, gpu in rng.sample(pool, n)]


def _in_family(model_name: str, key: str) -> bool:
    return model_name in {m.name for m in family_models(CATALOG, key)}


@pytest.mark.parametrize(("key", "question"), _cases())
def test_a_bare_family_is_answered_with_its_own_models(key, question):
    q = parse(question, CATALOG)
    if q.model_name:  # the family word is also a model's own name ("phi4", "mixtral"): that model
        assert _in_family(q.model_name, KEYS[key]), question
        return
    assert q.model_family == KEYS[key], question
    answer = answer_question(question, CATALOG)
    assert answer.recommendations or "No " in answer.answer or "没有" in answer.answer, question
    assert all(_in_family(r.model, KEYS[key]) for r in answer.recommendations), question


@pytest.mark.parametrize("word", sorted(FAMILY_WORDS - set(KEYS) - _COMMON_FAMILY_WORDS))
def test_a_family_the_catalog_lacks_is_said_first(word):
    answer = answer_question(f"can my 4090 run {word}?", CATALOG)
    assert not answer.recommendations
    assert answer.answer.startswith(f"I don't know a model called “{word}”")


def test_examples():
    devstral = answer_question("devstral on a 4090", CATALOG)
    assert devstral.answer.startswith("**Devstral models for the RTX 4090**")
    assert {r.model for r in devstral.recommendations} <= {m.name for m in family_models(CATALOG, "devstral")}
    qwen = answer_question("qwen 能在4090上跑吗", CATALOG)
    assert qwen.answer.startswith("**RTX 4090 能跑的 Qwen 模型**")
    assert all(r.model.lower().startswith("qwen") for r in qwen.recommendations)
    # a named model still wins over its family, and everyday words are not families
    assert parse("mistral 7b on a 3090", CATALOG).model_family is None
    assert parse("what command starts the server on my 3090 for qwen3 8b?", CATALOG).model_family is None
    # without a family the general list is unchanged
    general = answer_question("what can I run on a 3090?", CATALOG)
    assert general.answer.startswith("**Best models for the RTX 3090**")
