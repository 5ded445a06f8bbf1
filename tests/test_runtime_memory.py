"""Memory as each runtime allocates it, against public start-up logs and reports
(rules/data/runtime_memory_cases.toml): every logged figure within 10% of RigBot's sizing
for that runtime, and at least 15 cases from several sources and runtimes."""

from __future__ import annotations

import pytest

from rules.runtime_cases import cases, predict, ratios

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_logged_figure_is_within_ten_percent(case):
    predicted = predict(case)
    for key, logged in case.logged.items():
        ratio = predicted[key] / logged
        assert 0.9 <= ratio <= 1.1, f"{case.id} {key}: logged {logged}, RigBot {predicted[key]:.3f} ({ratio:.3f})"


def test_fifteen_cited_cases_or_more_over_several_runtimes_and_sources():
    assert len(CASES) >= 15
    assert {c.runtime for c in CASES} >= {"vllm", "exllama", "mlx", "ktransformers"}
    assert len({c.source.split("@")[0].split(" ")[0] for c in CASES}) >= 8
    assert all(c.source.startswith("https://github.com/") or "@" in c.source for c in CASES)  # a thread or a commit
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_mean_error_is_small_not_just_bounded():
    errors = [abs(predicted / logged - 1) for _, _, logged, predicted in ratios()]
    assert sum(errors) / len(errors) < 0.03
