"""The shape of a model reference that can be looked up online: a Hugging Face URL (repo
page, blob or resolve link, Ollama's `hf.co/OWNER/REPO:QUANT`), a repo id `OWNER/REPO`,
a file in a repo (`OWNER/REPO/FILE.gguf`, `OWNER/REPO:FILE.gguf`), or an Ollama tag
(`name:tag`, `user/name:tag`, `ollama run name`, an ollama.com/library page).

Shapes only: nothing here does I/O. The lookup itself lives in `bot/models_online.py`.
Units and pairs that share the slash ("24GB/s", "DDR5/6000", "tokens/s", "bf16/fp16",
"Vulkan/ROCm") are no repo ids.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_BEFORE = r"(?<![A-Za-z0-9_./:@\-])"  # ASCII only: Chinese text may touch the name
_URL = re.compile(
    rf"(?:https?://)?(?:www\.)?(?P<host>huggingface\.co|hf\.co)/(?P<owner>{_NAME})/(?P<repo>{_NAME})"
    rf"(?:/(?P<how>blob|resolve|tree)/(?P<rev>[A-Za-z0-9_.\-]+)(?:/(?P<file>[^\s?#]+))?)?"
    rf"(?::(?P<tag>[A-Za-z0-9_.\-]+))?",
    re.IGNORECASE)
_OLLAMA_URL = re.compile(r"(?:https?://)?(?:www\.)?ollama\.com/(?:library/|(?P<ns>[a-z0-9][a-z0-9_.\-]*)/)?"
                         r"(?P<name>[a-z][a-z0-9_.\-]*)(?::(?P<tag>[a-z0-9][a-z0-9_.\-]*))?", re.IGNORECASE)
_REPO_FILE = re.compile(rf"{_BEFORE}(?P<owner>{_NAME})/(?P<repo>{_NAME})(?:/|:)(?P<file>[A-Za-z0-9_.\-]+\.gguf)\b",
                        re.IGNORECASE)
_OLLAMA_RUN = re.compile(r"\bollama\s+(?:run|pull)\s+(?:(?P<ns>[a-z0-9][a-z0-9_.\-]*)/)?"
                         r"(?P<name>[a-z][a-z0-9_.\-]*)(?::(?P<tag>[a-z0-9][a-z0-9_.\-]*))?", re.IGNORECASE)
_OLLAMA_TAG = re.compile(rf"{_BEFORE}(?:(?P<ns>[a-z0-9][a-z0-9_.\-]*)/)?(?P<name>[a-z][a-z0-9_.\-]*)"
                         r":(?P<tag>[a-z0-9][a-z0-9_.\-]*)(?![A-Za-z0-9_/:\-])", re.IGNORECASE)
_REPO_ID = re.compile(rf"{_BEFORE}(?P<owner>{_NAME})/(?P<repo>{_NAME})(?![A-Za-z0-9_/:\-])")
# words either side of a slash that make it a unit, a pair or a ratio, not a repo id
_NOT_REPO_SIDE = re.compile(
    r"^(?:l?p?ddr\d.*|g?ddr\d.*|[iq]?q\d.*|i?q\d_.*|b?f(?:p)?\d+|fp\d+|int\d+|w\d+a\d+|\d+(?:\.\d+)?[a-z]{0,3}"
    r"|s|sec|second|h|hr|hour|tok|tokens?|t|gb|mb|gib|mib|cpu|gpu|ram|vram|and|or|x86|arm)$",
    re.IGNORECASE)
_NOT_OWNERS = {"datasets", "spaces", "docs", "blog", "papers", "collections", "api", "models", "settings",
               "login", "join", "pricing", "learn", "tasks"}
_NOT_OLLAMA_NAMES = {"localhost", "http", "https", "port", "host", "note", "e.g", "i.e", "ratio"}
_QUANT_TAG = re.compile(r"^(?:i?q\d[a-z0-9_]*|b?f16|f32|mxfp4|ud-[a-z0-9_\-]+)$", re.IGNORECASE)
_LATEST = "latest"


class ModelRef(BaseModel):
    """A model named by where it can be fetched. `explicit`: a link or a file, looked up
    even when the catalog knows a name inside it; a bare repo id or Ollama tag is looked
    up only when the catalog lacks it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["hub", "ollama"]
    text: str  # as written in the question
    start: int
    end: int
    repo: str | None = None  # hub: OWNER/REPO
    file: str | None = None  # hub: a file in the repo
    revision: str = "main"
    quant: str | None = None  # hf.co/OWNER/REPO:Q4_K_M
    namespace: str = "library"  # ollama: library or a user
    name: str | None = None  # ollama: model name
    tag: str = _LATEST
    explicit: bool = False

    @property
    def key(self) -> str:
        """The cache key: the same model however it was written."""
        if self.kind == "ollama":
            return f"ollama:{self.namespace}/{self.name}:{self.tag}".lower()
        file = f"/{self.file}" if self.file else ""
        quant = f":{self.quant.upper()}" if self.quant else ""
        return f"hub:{self.repo}@{self.revision}{file}{quant}"

    @property
    def label(self) -> str:
        if self.kind == "ollama":
            ns = "" if self.namespace == "library" else f"{self.namespace}/"
            return f"{ns}{self.name}:{self.tag}"
        return f"{self.repo}/{self.file}" if self.file else str(self.repo)


def _trim(text: str) -> str:
    return text.rstrip(".,;!?)]}>'\"-_")


def _repo_like(owner: str, repo: str) -> bool:
    if _NOT_REPO_SIDE.match(owner) or _NOT_REPO_SIDE.match(repo) or owner.lower() in _NOT_OWNERS:
        return False
    if len(owner) < 2 or len(repo) < 3 or not re.search(r"[A-Za-z]", owner) or not re.search(r"[A-Za-z]", repo):
        return False
    # a repo name joins words ("Qwen2.5-7B-Instruct-GGUF", "gemma-3-270m-it"); single words
    # on both sides ("Vulkan/ROCm", "busy/idle") are pairs
    return bool(re.search(r"[\-_.]", repo) or re.search(r"\d", repo) and re.search(r"[\-_.]", owner))


def find_model_ref(question: str) -> ModelRef | None:
    """The first model reference in the question, by shape (no I/O), or None."""
    if m := _URL.search(question):
        owner, repo = m.group("owner"), _trim(m.group("repo"))
        if owner.lower() not in _NOT_OWNERS:
            file = _trim(m.group("file")) if m.group("file") else None
            tag = _trim(m.group("tag")) if m.group("tag") else None
            if tag and tag.lower().endswith(".gguf"):
                file, tag = tag, None
            if file and m.group("how") == "tree":  # a folder page: the repo
                file = None
            end = m.start() + len(_trim(m.group(0)))
            return ModelRef(kind="hub", text=question[m.start():end], start=m.start(), end=end,
                            repo=f"{owner}/{repo}", file=file, revision=m.group("rev") or "main",
                            quant=tag.upper() if tag and _QUANT_TAG.match(tag) else tag, explicit=True)
    if (m := _OLLAMA_URL.search(question)) and m.group("name").lower() not in {"library", "search", "download", "blog"}:
        return _ollama(question, m, explicit=True, start=m.start())
    if (m := _REPO_FILE.search(question)) and _repo_like(m.group("owner"), m.group("repo")) \
            and question[max(0, m.start() - 1):m.start()] not in {"/", "~", "."}:
        return ModelRef(kind="hub", text=m.group(0), start=m.start(), end=m.end(),
                        repo=f"{m.group('owner')}/{m.group('repo')}", file=m.group("file"), explicit=True)
    if m := _OLLAMA_RUN.search(question):  # "ollama run gemma3:270m": the catalog may know it
        return _ollama(question, m, explicit=False)
    if m := _OLLAMA_TAG.search(question):
        name, tag = m.group("name"), m.group("tag")
        if not (tag.lower().endswith(".gguf") or _NOT_REPO_SIDE.match(name) or _QUANT_TAG.match(name)
                or name.lower() in _NOT_OLLAMA_NAMES or re.fullmatch(r"\d{3,}", tag)):  # a port
            return _ollama(question, m, explicit=False)
    for m in _REPO_ID.finditer(question):
        owner, repo = m.group("owner"), _trim(m.group("repo"))
        if _repo_like(owner, repo) and not repo.lower().endswith(".gguf"):
            end = m.start() + len(owner) + 1 + len(repo)
            return ModelRef(kind="hub", text=question[m.start():end], start=m.start(), end=end,
                            repo=f"{owner}/{repo}")
    return None


def _ollama(question: str, m: re.Match, explicit: bool, start: int | None = None) -> ModelRef:
    tag = _trim(m.group("tag")) if m.group("tag") else _LATEST
    name = _trim(m.group("name"))
    if start is None:
        start = m.start("ns") if m.group("ns") else m.start("name")
    end = m.end("tag") if m.group("tag") else m.end("name")
    text = question[start:end]
    return ModelRef(kind="ollama", text=_trim(text), start=start, end=start + len(_trim(text)),
                    namespace=(m.group("ns") or "library").lower(), name=name.lower(), tag=tag.lower(),
                    explicit=explicit)
