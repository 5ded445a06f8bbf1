"""Bad input gets a clear, short answer: never a traceback, never a crash."""

import pytest

from rules.parser import parse


async def test_empty_question(service):
    for text in ("", "   ", "\n"):
        answer = await service.ask(text)
        assert answer.error == "empty_question"
        assert "Ask me" in answer.answer


async def test_oversized_question(service):
    answer = await service.ask("can a 3090 run 13b? " * 200)
    assert answer.error == "question_too_long"
    assert "under 1,000" in answer.answer


async def test_unknown_gpu_gets_did_you_mean(service):
    answer = await service.ask("can an rtx 3095 run llama 2 13b?")
    assert answer.error == "unknown_gpu"
    assert "Did you mean" in answer.answer
    assert "3090" in answer.answer or "3050" in answer.answer


async def test_nonexistent_memory_variant(service):
    answer = await service.ask("can a 3060 16gb run 13b?")
    assert answer.error == "unknown_gpu_variant"
    assert "RTX 3060 12GB" in answer.answer


@pytest.mark.parametrize("question, code", [
    ("can a 4090 run a 1000000B model?", "absurd_size"),
    ("can a 4090 run 7b with 99999999999 context?", "absurd_context"),
    ("can 99x 4090 run 70b?", "absurd_gpu_count"),
])
async def test_absurd_input(service, question, code):
    answer = await service.ask(question)
    assert answer.error == code
    assert answer.verdict is None
    assert len(answer.answer) < 300


@pytest.mark.parametrize("text", ["\x00\x01", "🤖" * 50, "DROP TABLE answers;", "{}[]()", "4090" * 100])
def test_parser_survives_garbage(text):
    query = parse(text)
    assert query is not None
