"""Who may do what (issue 24): bot-wide actions (reload, purging a user everywhere) are
for RigBot's operators (RIGBOT_ADMIN_USER_IDS, the application's owner or team); a
server's administrators manage their own server and purge only what it holds, never a
user's saved rig or speed reports. Two servers, as anyone can create a second one and
invite the bot. /botinfo shows hardware and speeds, not software versions or flags."""

from __future__ import annotations

import discord
import pytest

SIZING_Q = "can an RTX 3060 12GB run 13B 4-bit?"


class TwoServers:
    """Server A (the victim's) and server B, created by someone else who is its
    administrator; alice is a member of A only."""

    def __init__(self, world) -> None:
        env = world.env
        self.world = world
        self.a, self.a_channel, self.alice = world.guild, world.channel, world.alice
        self.b = env.create_guild("Someone else's server")
        self.b_channel = self.b.create_text_channel("general")
        admins = self.b.create_role("B admins", permissions=discord.Permissions(administrator=True))
        self.mallory = self.b.add_member(env.create_user("mallory"), roles=[admins])


@pytest.fixture
def servers(world):
    return TwoServers(world)


async def _alice_has_data(world, service):
    """Alice asks in server A (a logged question and a conversation there), saves a
    rig and reports a speed (both hers across servers)."""
    me = world.env.bot.user
    await world.alice.send(world.channel, f"<@{me.id}> {SIZING_Q}")
    await world.alice.slash(world.channel, "myrig set", text="RTX 3090 and 64GB DDR5")
    await world.alice.slash(world.channel, "report add", text="RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s")
    uid = str(world.alice.id)
    assert await service.store.get_rig(uid) is not None
    assert len(await service.store.speed_reports(uid)) == 1
    rows = await service.store._all("SELECT question, guild_id FROM answers WHERE user_id = ?", (uid,))
    assert rows and rows[0]["guild_id"] == str(world.guild.id), "the logged question knows its server"
    return uid


async def test_admin_of_another_server_cannot_touch_a_member_of_this_one(servers, service):
    world = servers.world
    uid = await _alice_has_data(world, service)

    done = await servers.mallory.slash(servers.b_channel, "rigbot purge", user=world.alice.user)

    assert done.ephemeral
    assert await service.store.get_rig(uid) is not None, "her saved rig stays"
    assert len(await service.store.speed_reports(uid)) == 1, "her speed report stays"
    rows = await service.store._all("SELECT question FROM answers WHERE user_id = ?", (uid,))
    assert rows and rows[0]["question"] == SIZING_Q, "what server A logged stays"
    assert await service.store.load_conversation(f"discord:{world.channel.id}", uid) is not None
    text = done.response.content
    assert "conversations 0" in text and "logged questions 0" in text
    assert "/myrig clear" in text and "/report delete" in text, "it says who deletes the rest"


async def test_admin_of_another_server_cannot_purge_everywhere(servers, service):
    world = servers.world
    uid = await _alice_has_data(world, service)

    refused = await servers.mallory.slash(servers.b_channel, "rigbot purge", user=world.alice.user, everywhere=True)

    assert refused.ephemeral and "operators" in refused.response.content
    assert "RIGBOT_ADMIN_USER_IDS" in refused.response.content, "the refusal says who may"
    assert await service.store.get_rig(uid) is not None and await service.store.speed_reports(uid)


async def test_server_admin_purges_what_their_server_holds_only(servers, service):
    world = servers.world
    uid = await _alice_has_data(world, service)
    # alice also talks to RigBot in server B: that is B's to purge, not A's
    b_alice = servers.b.add_member(world.alice.user)
    me = world.env.bot.user
    await b_alice.send(servers.b_channel, f"<@{me.id}> {SIZING_Q}")

    done = await world.admin.slash(world.channel, "rigbot purge", user=world.alice)

    assert done.ephemeral and "conversations 1" in done.response.content
    assert "logged questions 1" in done.response.content
    rows = await service.store._all("SELECT question, user_id FROM answers WHERE guild_id = ?", (str(world.guild.id),))
    assert rows and all(r["question"] == "" and r["user_id"] is None for r in rows)
    assert await service.store.load_conversation(f"discord:{world.channel.id}", uid) is None
    rows = await service.store._all("SELECT question FROM answers WHERE guild_id = ?", (str(servers.b.id),))
    assert [r["question"] for r in rows] == [SIZING_Q], "server B's log is not server A's to purge"
    assert await service.store.load_conversation(f"discord:{servers.b_channel.id}", uid) is not None
    assert await service.store.get_rig(uid) is not None, "a server admin never deletes the saved rig"
    assert len(await service.store.speed_reports(uid)) == 1, "nor the speed reports"


async def test_operator_purges_everywhere(servers, service):
    world = servers.world
    uid = await _alice_has_data(world, service)
    service.settings.admin_user_ids = [servers.mallory.id]  # mallory is now one of RigBot's operators

    done = await servers.mallory.slash(servers.b_channel, "rigbot purge", user=world.alice.user, everywhere=True)

    assert done.ephemeral and "saved rig 1" in done.response.content and "speed reports 1" in done.response.content
    assert await service.store.get_rig(uid) is None and await service.store.speed_reports(uid) == []


async def test_application_team_members_are_operators(servers, service):
    """The application's owner or team (discord.py's is_owner over application_info();
    simcord's application is owned by the bot user itself, so the team is set here as
    discord.py would read it)."""
    world = servers.world
    uid = await _alice_has_data(world, service)
    world.env.bot.owner_ids = {servers.mallory.id}

    done = await servers.mallory.slash(servers.b_channel, "rigbot purge", user=world.alice.user, everywhere=True)

    assert "saved rig 1" in done.response.content and await service.store.get_rig(uid) is None


async def test_a_member_cannot_purge_even_when_the_server_grants_the_command(world, service):
    command = int(world.env.backend.find_command("rigbot", None, type=1)["id"])
    world.guild.set_command_permissions(command, {world.guild.default_role: True})
    result = await world.bob.slash(world.channel, "rigbot purge", user=world.alice)
    assert result.ephemeral and "administrators" in result.response.content and "operators" in result.response.content


async def test_server_admin_reload_has_a_cooldown_and_says_when_it_last_ran(servers, service, monkeypatch):
    calls = []

    async def fake_reload(progress=None):
        calls.append(1)
        return {"catalog": {"gpus": 1, "models": 2, "quants": 3}}

    monkeypatch.setattr(service, "reload", fake_reload)
    first = await servers.mallory.slash(servers.b_channel, "reload")
    assert first.ephemeral and "Last reload: none recorded" in first.response.content
    assert first.followups[-1].content.startswith("Reloaded.")

    second = await servers.mallory.slash(servers.b_channel, "reload")
    assert second.ephemeral and "last reload ran" in second.response.content
    assert "once every 10 min" in second.response.content and "operators" in second.response.content
    third = await servers.world.admin.slash(servers.world.channel, "reload")  # another server's admin too
    assert "last reload ran" in third.response.content
    assert len(calls) == 1, "one reload, not three in a row"

    await servers.world.env.advance_time(601)
    fourth = await servers.world.admin.slash(servers.world.channel, "reload")
    assert "Last reload: 11 min ago" in fourth.response.content and len(calls) == 2


async def test_operator_reloads_without_cooldown(world, service, monkeypatch):
    async def fake_reload(progress=None):
        return {}

    monkeypatch.setattr(service, "reload", fake_reload)
    service.settings.admin_user_ids = [world.bob.id]
    command = int(world.env.backend.find_command("reload", None, type=1)["id"])
    world.guild.set_command_permissions(command, {world.bob: True})
    for _ in range(2):
        result = await world.bob.slash(world.channel, "reload")
        assert result.response.content.startswith("Reloading")


async def test_member_reload_refusal_says_who_may(world):
    command = int(world.env.backend.find_command("reload", None, type=1)["id"])
    world.guild.set_command_permissions(command, {world.guild.default_role: True})
    result = await world.alice.slash(world.channel, "reload")
    text = result.response.content
    assert result.ephemeral and "administrators" in text and "operators" in text and "10 min" in text


async def test_botinfo_shows_hardware_not_versions_or_flags(world, service):
    host = await service.probe_host()
    host["os"], host["python"] = "Linux 6.1.0-secret-kernel", "3.11.99"
    host["llm"] = {"summary": "llama-server --flash-attn --api-key hunter2"}
    await service.store.record_host(host)

    result = await world.alice.slash(world.channel, "botinfo")

    embed = result.response.embeds[0] if result.response.embeds else result.followups[-1].embeds[0]
    text = embed.description
    assert "CPU:" in text and "RAM:" in text and "GPUs:" in text and "Measured:" in text
    for secret in ("Linux", "kernel", "Python", "3.11.99", "llama-server", "flash-attn", "hunter2", "OS:"):
        assert secret not in text, secret
