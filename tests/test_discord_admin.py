"""Admin commands: /reload and /rigbot channel are for administrators only, by
Discord's default permissions AND by a check in the handler (a server can grant a
command to everyone; the handler still refuses)."""

from __future__ import annotations

import pytest

from bot.discord import create_bot


def _find(env, name: str) -> int:
    """The synced command's id (as the bot would read it from fetch_commands)."""
    return int(env.backend.find_command(name, None, type=1)["id"])


async def test_member_refused_even_when_the_server_grants_reload(world, service):
    world.guild.set_command_permissions(_find(world.env, "reload"), {world.guild.default_role: True})
    assert "reload" in world.alice.available_commands(world.channel)  # Discord lets her run it

    result = await world.alice.slash(world.channel, "reload")

    assert result.ephemeral and "administrators" in result.response.content
    assert service._knowledge is None, "nothing was reloaded (the knowledge runtime never started)"


async def test_member_refused_channel_enable_even_when_granted(world, service):
    world.guild.set_command_permissions(_find(world.env, "rigbot"), {world.guild.default_role: True})
    result = await world.alice.slash(world.channel, "rigbot channel enable")
    assert result.ephemeral and "administrators" in result.response.content
    assert await service.store.enabled_channels() == set()


async def test_configured_admin_user_may_enable_a_channel(simcord_env, service):
    """RIGBOT_ADMIN_USER_IDS: a bot owner without the server's administrator bit."""
    env = simcord_env
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    owner = guild.add_member(env.create_user("owner"))
    service.settings.admin_user_ids = [owner.id]
    guild.set_command_permissions(_find(env, "rigbot"), {owner: True})

    result = await owner.slash(channel, "rigbot channel enable")

    assert "every message" in result.response.content
    assert str(channel.id) in await service.store.enabled_channels()


class TestReloadWithKnowledge:
    """/reload rebuilds the real knowledge index, so these use the shared runtime."""

    @pytest.fixture
    def simcord_bot(self, knowledge_service):
        return create_bot(knowledge_service.settings, knowledge_service)

    @pytest.mark.slow
    @pytest.mark.simcord(settle_timeout=120)
    async def test_admin_reload_reports_counts(self, world, knowledge_service, monkeypatch):
        # an operator (no cooldown: the shared service may have reloaded in an earlier test)
        monkeypatch.setattr(knowledge_service.settings, "admin_user_ids", [world.admin.id])
        result = await world.admin.slash(world.channel, "reload")
        # acknowledged at once with a message; the result follows when the work is done
        assert world.callback_types() == [4] and result.ephemeral
        assert result.response.content.startswith("Reloading the catalogs and the knowledge index")
        assert "Last reload:" in result.response.content
        text = result.followups[-1].content
        assert text.startswith("Reloaded.")
        assert "GPUs" in text and "models" in text and "sections" in text and "chunks" in text

    @pytest.mark.slow
    @pytest.mark.simcord(settle_timeout=120)
    async def test_failed_reload_keeps_the_old_index(self, world, knowledge_service, tmp_path, monkeypatch):
        monkeypatch.setattr(knowledge_service.settings, "admin_user_ids", [world.admin.id])  # no cooldown
        runtime = await knowledge_service.knowledge()
        serving = runtime.index
        broken = tmp_path / "content" / "en"
        broken.mkdir(parents=True)
        (broken / "bad.md").write_text("no title line here\n", encoding="utf-8")
        monkeypatch.setattr(runtime, "content_dir", tmp_path / "content")

        result = await world.admin.slash(world.channel, "reload")

        text = result.followups[-1].content if result.followups else result.response.content
        assert text.startswith("Reload failed:") and "keep serving" in text
        assert runtime.index is serving
