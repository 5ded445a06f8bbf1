"""Nothing a user typed becomes RigBot's markup (issue 24): a masked link, a mention,
a heading or a code fence in a name, a question, pasted hardware, a report or a file
name is shown as the characters typed, in embeds, message content and replies; every
echo path, through discord.py and simcord."""

from __future__ import annotations

import re

import pytest

from bot.answer import Answer
from bot.discord import render
from bot.discord.markup import ZWSP, code, defuse

LINK = "[Verify your account here](https://evil.example/login)"
NASTY = [LINK, "# FREE NITRO", "-# tiny print", "```\n@everyone\n```", "`@everyone`", "<@&123456789012345678>",
         "@here"]

_LIVE_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(")
_LIVE_HEADING = re.compile(r"^\s*(?:>+\s*)?-?#{1,3}\s", re.MULTILINE)


def assert_inert(text: str | None, own_subtext: bool = False) -> None:
    """No masked link, heading, code fence, or mention left live in `text`."""
    text = text or ""
    assert not _LIVE_LINK.search(text), text
    lines = [line for line in text.splitlines() if not (own_subtext and line.startswith("-# ") and "tokens/s" in line)]
    assert not _LIVE_HEADING.search("\n".join(lines)), text
    assert not re.search(r"(?<!\\)```", text), text
    assert not re.search(r"@(everyone|here)", text), text
    assert not re.search(r"<[@#]", text), text


def _all_text(message) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


# the escaping itself ---------------------------------------------------------------
@pytest.mark.parametrize("nasty", NASTY)
def test_defuse_neutralises_and_is_idempotent(nasty):
    once = defuse(f"I don't know a model called '{nasty}'.\n{nasty}")
    assert_inert(once)
    assert defuse(once) == once, "no double escaping"


def test_defuse_leaves_rigbots_own_markdown_alone():
    own = "✅ **Yes**: *Llama 3 8B* fits.\n• Q4_K_M `llama-server -m x.gguf -c 8192`\n#3: a report"
    assert defuse(own) == own


def test_an_escaped_backslash_does_not_hide_a_live_link():
    assert_inert(defuse("\\\\" + LINK))


def test_a_backtick_cannot_close_the_command_span():
    assert "`" not in code("llama-server -m `@everyone` x") and ZWSP in code("@everyone")


def test_rule_and_knowledge_renderings_defuse_every_echo():
    text = "\n".join(f"I don't know a GPU called '{n}'." for n in NASTY)
    answer = Answer(question="q", route="rules", intent="can_run", answer=text, command="llama-server -m `x`")
    for embed in render.rule_embeds(answer):
        assert_inert(embed.description)
        assert_inert(embed.title)
    generated = Answer(question="q", route="knowledge", intent="explain", answer=text)
    assert_inert(render.knowledge_text(generated), own_subtext=True)
    assert_inert(render.streaming_text(text))


# through Discord -------------------------------------------------------------------
async def test_compare_does_not_post_a_masked_link(world):
    result = await world.alice.slash(world.channel, "compare", model=LINK)
    content = result.response.content
    assert "don't know a model" in content and "Verify your account here" in content
    assert_inert(content)


@pytest.mark.parametrize("nasty", ["`@everyone`", "# FREE NITRO", "```\n@everyone\n```"])
async def test_compare_echo_of_mentions_in_code_and_headings(world, nasty):
    result = await world.alice.slash(world.channel, "compare", model=nasty)
    assert_inert(result.response.content)


async def test_unknown_gpu_in_a_mention_is_inert(world):
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> can an RTX 9999 @everyone run llama 3 8b?")
    replies = world.replies_to(sent.id)
    assert replies
    for message in replies:
        assert_inert(_all_text(message))


async def test_gguf_file_name_is_inert(world):
    me = world.env.bot.user
    name = "[Free Nitro](https://evil.example) @everyone.gguf"
    sent = await world.alice.send(world.channel, f"<@{me.id}> can I run this on a 3090?",
                                  attachments=[(name, b"GGUF")])
    replies = world.replies_to(sent.id)
    assert replies
    for message in replies:
        assert_inert(_all_text(message))


async def test_oversized_log_name_is_inert(world, service):
    service.settings.max_paste_chars = 10
    me = world.env.bot.user
    sent = await world.alice.send(world.channel, f"<@{me.id}> why slow?",
                                  attachments=[("# [log](https://evil.example).txt", b"x" * 100)])
    replies = world.replies_to(sent.id)
    assert replies and "bytes" in replies[0].content
    assert_inert(replies[0].content)


async def test_myrig_echo_is_inert(world):
    pasted = f"# FREE NITRO\n{LINK}\nRTX 3090 and 64GB DDR5 @everyone"
    result = await world.alice.slash(world.channel, "myrig set", text=pasted)
    assert_inert(result.response.content)
    shown = await world.alice.slash(world.channel, "myrig show")
    assert_inert(shown.response.content)


async def test_report_echo_is_inert(world):
    result = await world.alice.slash(world.channel, "report add", text=f"{LINK} # big\n@everyone 112 tok/s")
    text = result.response.content if result.response else result.followups[-1].content
    assert_inert(text)
