"""State that holds across bot processes sharing one store (issue 12): two services
with their own connections, as two bot processes would have, on the SQLite file and
on PostgreSQL. The rate limit counted by one process refuses in the other; a channel
enabled in one is answered in the other; shard settings reach discord.py."""

from __future__ import annotations

import discord
import pytest

from bot.discord import client as discord_client
from bot.discord import create_bot
from bot.service import RigBotService
from bot.settings import Settings

KNOWLEDGE_Q = "why does memory bandwidth matter for LLM speed?"
SIZING_Q = "can an RTX 3060 12GB run 13B 4-bit?"


@pytest.fixture
async def two_processes(backend_settings):
    services = [await RigBotService(backend_settings).start() for _ in range(2)]
    yield services
    for service in services:
        await service.close()


async def test_rate_limit_holds_across_processes(two_processes):
    first, second = (create_bot(s.settings, s).responder for s in two_processes)
    for service in two_processes:
        service.settings.rate_limit_per_minute = 3
    allowed = [await (first if i % 2 else second).rate_limited(7, KNOWLEDGE_Q) for i in range(3)]
    assert allowed == [None, None, None]
    refused = await first.rate_limited(7, KNOWLEDGE_Q)
    assert refused is not None and 55 < refused <= 60
    assert await second.rate_limited(7, KNOWLEDGE_Q) is not None, "the other process refuses too"
    assert await second.rate_limited(8, KNOWLEDGE_Q) is None, "another user is not limited"
    assert await second.rate_limited(7, SIZING_Q) is None, "sizing answers cost no LLM time"


async def test_channel_enabled_in_one_process_is_seen_by_the_other(two_processes, monkeypatch):
    bots = [create_bot(s.settings, s) for s in two_processes]
    for bot in bots:
        await bot.refresh_enabled_channels(force=True)
    await bots[0].set_channel_enabled(555, 1, True, by=9)
    assert "555" in bots[0].enabled_channels
    assert "555" not in await bots[1].refresh_enabled_channels(), "cached for a few seconds"
    monkeypatch.setattr(discord_client, "ENABLED_CHANNELS_TTL_S", 0.0)
    assert "555" in await bots[1].refresh_enabled_channels()


async def test_feedback_on_an_answer_from_another_process(two_processes):
    answer = await two_processes[0].ask(SIZING_Q, user_id="u1", channel_id="c1")
    assert await two_processes[1].store.set_feedback(answer.log_id, -1, "u2")
    assert (await two_processes[0].store.get_answer(answer.log_id))["feedback"] == -1


async def test_saved_rig_written_by_one_process_is_read_by_the_other(two_processes):
    await two_processes[0].store.set_rig("u1", {"gpus": [{"name": "RTX 4090", "count": 1}]})
    assert await two_processes[1].store.get_rig("u1") == {"gpus": [{"name": "RTX 4090", "count": 1}]}


async def test_shard_settings_reach_the_auto_sharded_bot(tmp_path):
    settings = Settings(data_dir=tmp_path, _env_file=None, shard_ids="1,3", shard_count=4)
    bot = create_bot(settings)
    assert isinstance(bot, discord.AutoShardedClient)
    assert bot.shard_ids == [1, 3] and bot.shard_count == 4
    plain = create_bot(Settings(data_dir=tmp_path, _env_file=None))
    assert not isinstance(plain, discord.AutoShardedClient)


@pytest.mark.parametrize("values", [{"shard_ids": "0"}, {"shard_ids": "4", "shard_count": 4}])
def test_shard_settings_that_do_not_fit_are_refused(tmp_path, values):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="RIGBOT_SHARD"):
        Settings(data_dir=tmp_path, _env_file=None, **values)
