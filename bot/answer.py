"""The one result type. The Discord embed, the terminal text and the JSON output
are renderings of it (see bot/render.py and bot/discord/render.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from rules.schema import (
    Diagnosis,
    HardwareInfo,
    MemoryInfo,
    ModelInfo,
    QualityInfo,
    Recommendation,
    ServingInfo,
    SpeedInfo,
    TrainingInfo,
    Verdict,
)


class Source(BaseModel):
    title: str
    section: str
    score: float
    text: str


class LlmInfo(BaseModel):
    model: str
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float | None
    ttft_ms: float | None


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    route: Literal["rules", "knowledge"]
    intent: str
    hardware: HardwareInfo | None = None
    model: ModelInfo | None = None
    verdict: Verdict | None = None
    memory: MemoryInfo | None = None
    speed: SpeedInfo | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    serving: ServingInfo | None = None
    training: TrainingInfo | None = None
    command: str | None = None
    diagnosis: Diagnosis | None = None  # a pasted run log explained (null for other questions)
    runtime: str | None = None  # the runtime the figures are for (rules answers); null for knowledge
    quality: QualityInfo | None = None  # quality evidence used (rankings for a use, comparisons); null otherwise
    answer: str
    sources: list[Source] | None = None
    llm: LlmInfo | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    # not part of the JSON contract: the store's row id, for feedback buttons
    log_id: int | None = Field(default=None, exclude=True)
    # llama.cpp perf counters of the generation, logged with the answer
    _generation: dict | None = PrivateAttr(default=None)
    # what the faithfulness gate cut from the generated text: {"cuts": [(reason, sentence)], "fell_back"}
    _gate: dict | None = PrivateAttr(default=None)

    def to_json(self) -> str:
        return self.model_dump_json()
