"""The Discord adapter: the only code in RigBot that imports `discord`.

`create_bot(settings)` builds the (not yet started) bot the same way for tests and
deployments; `run_bot(settings)` connects it with DISCORD_TOKEN."""

from bot.discord.client import MissingToken, RigBotClient, ShardedRigBotClient, create_bot, run_bot

__all__ = ["MissingToken", "RigBotClient", "ShardedRigBotClient", "create_bot", "run_bot"]
