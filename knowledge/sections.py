"""Parse the knowledge Markdown into sections with stable ids. Pure and light."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

CONTENT_DIR = Path(__file__).parent / "content"
_HEADING = re.compile(r"^## (.+?) \{#([a-z0-9-]+)\}\s*$")


class KnowledgeFormatError(ValueError):
    """A knowledge file breaks the format; the message names file and line."""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    page_title: str
    lang: str
    text: str  # the body, Markdown
    path: str

    @property
    def summary(self) -> str:
        """The first paragraph: the section's key facts, written to stand alone."""
        return self.text.strip().split("\n\n", 1)[0].replace("\n", " ").strip()


def parse_file(path: Path, lang: str) -> list[Section]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeFormatError(f"{path}: cannot read ({exc})") from exc
    if not lines or not lines[0].startswith("# "):
        raise KnowledgeFormatError(f"{path}:1: must start with '# Page title'")
    page_title = lines[0][2:].strip()
    sections: list[Section] = []
    current: tuple[str, str, list[str]] | None = None
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("## "):
            match = _HEADING.match(line)
            if not match:
                raise KnowledgeFormatError(f"{path}:{number}: section heading needs an id: '## Title {{#section-id}}'")
            if current:
                sections.append(_section(current, page_title, lang, path))
            current = (match.group(2), match.group(1).strip(), [])
        elif line.startswith("# "):
            raise KnowledgeFormatError(f"{path}:{number}: only one '# ' page title per file")
        elif current:
            current[2].append(line)
    if current:
        sections.append(_section(current, page_title, lang, path))
    if not sections:
        raise KnowledgeFormatError(f"{path}: no '## Title {{#id}}' sections")
    return sections


def _section(current, page_title, lang, path) -> Section:
    sid, title, body = current
    text = "\n".join(body).strip()
    if not text:
        raise KnowledgeFormatError(f"{path}: section '{sid}' is empty")
    return Section(id=sid, title=title, page_title=page_title, lang=lang, text=text, path=str(path))


def knowledge_files(root: Path = CONTENT_DIR) -> list[tuple[Path, str]]:
    return [(p, p.parent.name) for p in sorted(root.glob("*/*.md"))]


def load_sections(root: Path = CONTENT_DIR) -> list[Section]:
    """Every section of every language; raises KnowledgeFormatError on any flaw."""
    files = knowledge_files(root)
    if not files:
        raise KnowledgeFormatError(f"{root}: no knowledge files (expected <lang>/<page>.md)")
    sections: list[Section] = []
    seen: dict[tuple[str, str], str] = {}
    for path, lang in files:
        for s in parse_file(path, lang):
            key = (lang, s.id)
            if key in seen:
                raise KnowledgeFormatError(f"{path}: section id '{s.id}' already used in {seen[key]}")
            seen[key] = str(path)
            sections.append(s)
    return sections


def content_hash(root: Path, embedding_id: str) -> str:
    digest = hashlib.sha256(embedding_id.encode())
    for path, _ in knowledge_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]
