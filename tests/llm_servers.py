"""How the tests start a llama-server of their own (the 2-slot "external" server of
test_llm_server.py), in one place, so test_llm_choices.py can check that it goes
through the same host choices as RigBot's own server (`ServerSpec.command`: on an AMX
CPU `--no-repack`, without which the second server crashed while starting, -11)."""

from __future__ import annotations

from pathlib import Path

from knowledge.llm_server import ServerProcess, ServerSpec


def external_spec(binary: Path, model: Path) -> ServerSpec:
    """A server as a user would start one for RIGBOT_LLM_URL: 2 slots, 1 thread, and no
    repack choice of its own, so the host's is applied."""
    return ServerSpec(binary=binary, model=model, n_ctx=1024, slots=2, threads=1, threads_batch=1)


def external_process(binary: Path, model: Path, log_path: Path | None, cpu_flags: str | None = None) -> ServerProcess:
    return ServerProcess(external_spec(binary, model), log_path, cpu_flags)
