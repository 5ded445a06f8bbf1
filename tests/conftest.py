"""Fixtures for the real components: catalog, a SQLite file, the service, and one
shared knowledge runtime (real embedding model + real SmolLM2 GGUF)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"


def reference_file(name: str) -> Path:
    """The project's reference tables; a copy lives in tests/data for clones without shared/."""
    shared = REFERENCE / name
    return shared if shared.exists() else Path(__file__).parent / "data" / name


@pytest.fixture(scope="session")
def catalog():
    from rules.catalog import default_catalog

    return default_catalog()


@pytest.fixture
def settings(tmp_path):
    from bot.settings import Settings

    return Settings(data_dir=tmp_path / "data", _env_file=None, n_threads=1)


@pytest.fixture
async def service(settings):
    from bot.service import RigBotService

    svc = await RigBotService(settings).start()
    yield svc
    await svc.close()


@pytest.fixture(scope="session")
def knowledge_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("knowledge-data")


@pytest.fixture(scope="session")
async def knowledge_service(knowledge_data_dir):
    """One service with the knowledge runtime started, shared by the slow tests."""
    from bot.service import RigBotService
    from bot.settings import Settings

    settings = Settings(data_dir=knowledge_data_dir, _env_file=None, n_threads=1, max_tokens=48)
    svc = await RigBotService(settings).start()
    await svc.knowledge()
    yield svc
    await svc.close()
