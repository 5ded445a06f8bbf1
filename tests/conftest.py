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


# PostgreSQL (a real server, started once per session) ---------------------------------
@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server on loopback for the session. Without its binaries the
    PostgreSQL tests skip with the reason, except in CI (CI=true), where they fail:
    .ci/run installs Debian's `postgresql` package first."""
    from postgres_server import PostgresServer, require_bindir

    server = PostgresServer(require_bindir()).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's server."""
    import uuid

    return postgres_server.create_database(f"rigbot_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_settings(request, tmp_path):
    """Settings for a fresh store on each engine: the SQLite file, then PostgreSQL."""
    from bot.settings import Settings

    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", _env_file=None, n_threads=1, database_url=url)


@pytest.fixture(scope="session")
def knowledge_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("knowledge-data")


@pytest.fixture(scope="session")
async def knowledge_service(knowledge_data_dir):
    """One service with the knowledge runtime started, shared by the slow tests."""
    from bot.service import RigBotService
    from bot.settings import Settings

    # the model's own prose (knowledge_prose): these tests exercise generation itself
    # (streaming, the gate, the generations log); composed answers, the default, are
    # tested with it switched off (test_composed.py, test_knowledge_answers.py)
    settings = Settings(data_dir=knowledge_data_dir, _env_file=None, n_threads=1, max_tokens=48,
                        knowledge_prose=True)
    svc = await RigBotService(settings).start()
    await svc.knowledge()
    yield svc
    await svc.close()


@pytest.fixture(autouse=True)
async def _fresh_rate_limit_windows(request):
    """The rate limit lives in the store and the knowledge service is shared by the
    session; every simcord env starts its clock at the same instant, so one test's
    questions would still be inside the next test's window. Each test starts clean."""
    if "knowledge_service" in request.fixturenames:
        service = request.getfixturevalue("knowledge_service")
        await service.store.db.execute("DELETE FROM rate_limits")
    yield


# Discord (simcord) -----------------------------------------------------------------
@pytest.fixture
def simcord_bot(service):
    """The real RigBot discord.py bot over the per-test service; simcord's
    `simcord_env` fixture runs it against the offline Discord simulator."""
    from bot.discord import create_bot

    return create_bot(service.settings, service)


class DiscordWorld:
    """One simulated server for the Discord tests: a guild with #general, an
    administrator, two members, and helpers to read what the bot posted."""

    def __init__(self, env) -> None:
        import discord

        self.env = env
        self.guild = env.create_guild("RigBot Test")
        self.channel = self.guild.create_text_channel("general")
        admins = self.guild.create_role("Admins", permissions=discord.Permissions(administrator=True))
        self.admin = self.guild.add_member(env.create_user("admin"), roles=[admins])
        self.alice = self.guild.add_member(env.create_user("alice"))
        self.bob = self.guild.add_member(env.create_user("bob"))

    @property
    def bot_id(self) -> int:
        return self.env.bot.user.id

    def stored(self, channel=None) -> list:
        """The simulator's own records of the bot's messages in a channel (oldest first):
        content, embeds, components, allowed_mentions, mention_everyone, ping ids."""
        channel = channel or self.channel
        messages = self.env.backend.messages.get(channel.id, {}).values()
        return sorted((m for m in messages if m.author_id == self.bot_id), key=lambda m: m.id)

    def replies_to(self, question_id: int, channel=None) -> list:
        """The bot's messages answering one question: the reply and what follows it."""
        stored = self.stored(channel)
        first = next((m for m in stored if m.reference and int(m.reference["message_id"]) == question_id), None)
        return [] if first is None else [m for m in stored if m.id >= first.id]

    def message(self, stored):
        """A stored message as a handle actors can reply to or click on."""
        import simcord

        return simcord.ResponseMessage(self.env, stored)

    def callback_types(self) -> list[int]:
        """Interaction response types the bot sent, in order (5: deferred, "thinking…")."""
        return [r.json.get("type") for r in self.env.http_requests
                if r.path.endswith("/callback") and isinstance(r.json, dict)]

    def inject(self, user, content: str, channel=None) -> int:
        """A user's message delivered through the gateway without waiting for the bot
        to settle (for concurrency tests); returns its id."""
        channel = channel or self.channel
        return self.env.backend.create_message(channel.id, user.id, content).id

    async def wait_for(self, predicate, timeout: float = 60.0, interval: float = 0.01):
        """Poll until predicate() is truthy. simcord's settle does not see the LLM's
        worker thread as progress we can wait on, so wait on the result itself."""
        import asyncio
        import time

        deadline = time.perf_counter() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.perf_counter() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(interval)


    def assert_pinged_nobody(self) -> None:
        """Every message the bot posted or edited carried `allowed_mentions` that allow
        no ping, and the simulator recorded none: no @everyone/@here, users or roles."""
        for r in self.env.http_requests:
            body = r.json.get("data") if isinstance(r.json, dict) and "type" in r.json else r.json
            if not isinstance(body, dict) or not ({"content", "embeds"} & body.keys()):
                continue
            policy = body.get("allowed_mentions")
            assert policy is not None, f"{r.method} {r.path} sent no allowed_mentions"
            assert policy.get("parse") == [] and not policy.get("users") and not policy.get("roles"), policy
            assert not policy.get("replied_user"), policy
        for channel_messages in self.env.backend.messages.values():
            for m in channel_messages.values():
                if m.author_id == self.bot_id:
                    assert not m.mention_everyone and not m.ping_user_ids and not m.ping_role_ids, m


@pytest.fixture
def world(simcord_env):
    """The simulated server; afterwards, checks that nothing the bot sent pinged anyone."""
    world = DiscordWorld(simcord_env)
    yield world
    world.assert_pinged_nobody()


@pytest.fixture(scope="session")
def retrieval():
    """The real embedding model and an index built in memory from knowledge/content,
    searched with the service's settings (no LLM): (embedder, retrieve(question) -> hits)."""
    from bench.faithfulness import in_memory_retriever
    from knowledge.embedding import default_embedding_path, load_embedder

    embedder = load_embedder(default_embedding_path())
    return embedder, in_memory_retriever(embedder)
