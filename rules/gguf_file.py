"""Sizes from a GGUF file's own header: exact weight bytes from its tensor infos, and the
attention geometry (layers, KV heads, head size, sliding window, MLA) from its metadata.

Only the header is read, never the weights. The value and tensor types, block sizes and
file types come from the `gguf` package; the header is walked here with `struct` because
gguf's GGUFReader builds a numpy object for every array element, and a 262k-token
vocabulary (Gemma 3) then takes about 20 s on a 2-core host instead of a fraction of one.
A split GGUF ("-00001-of-00003.gguf") is read part by part.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from rules.catalog import ModelSpec

# llama.cpp's default "every n-th layer is global" for sliding-window architectures when the
# file carries no per-layer pattern (models/gemma2.cpp, gemma3.cpp, openai-moe.cpp,
# llama4.cpp, cohere2.cpp); Llama 4's chunk is fixed at 8192 in models/llama4.cpp.
SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2, "llama4": 4, "cohere2": 4}
SWA_WINDOW_DEFAULT = {"gemma2": 4096, "llama4": 8192}
# Architectures whose state is not (only) an attention KV cache: the KV figure would mislead.
RECURRENT_ARCHS = {"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7", "jamba",
                   "falcon-h1", "granitehybrid", "lfm2", "nemotron_h", "qwen3next", "plamo2"}
_SPLIT = re.compile(r"^(?P<stem>.*)-(?P<i>\d{5})-of-(?P<n>\d{5})\.gguf$")


class GgufError(ValueError):
    """The path is missing, unreadable or not a GGUF model; `reason` is machine-readable."""

    def __init__(self, reason: str, path: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {path} {detail}".strip())
        self.reason = reason
        self.path = path
        self.detail = detail


class GgufInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    name: str
    architecture: str
    quant: str  # "Q4_K_M", from general.file_type (or the dominant tensor type)
    quant_from_file_type: bool
    weights_bytes: int  # sum of the tensors' data: what llama.cpp reports as "file size"
    params: int  # sum of the tensors' elements
    tensor_types: dict[str, int]  # ggml type -> number of tensors (the quant mix)
    type_bytes: dict[str, int]  # ggml type -> bytes
    expert_bytes: int  # routed-expert tensors (ffn_*_exps)
    layers: int  # blocks with a KV cache (MTP/nextn layers excluded)
    context_length: int
    hidden_size: int
    heads: int
    kv_heads: int
    key_length: int
    value_length: int
    vocab_size: int | None
    sliding_window: int | None
    swa_pattern: int | None
    kv_lora_rank: int | None
    rope_dim: int | None
    experts: int | None
    experts_active: int | None
    parts_read: int
    parts_total: int
    kv_exact: bool  # False for recurrent/hybrid architectures and unknown SWA layouts

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def read_bytes_per_token(self) -> float:
        """Weights read per generated token: everything but the unused routed experts."""
        if self.experts and self.experts_active:
            return self.weights_bytes - self.expert_bytes * (1 - self.experts_active / self.experts)
        return float(self.weights_bytes)

    def model_spec(self) -> ModelSpec:
        """The file as a ModelSpec, so the memory and speed math can run on it."""
        active = self.params * self.read_bytes_per_token / self.weights_bytes if self.experts else None
        return ModelSpec(
            name=self.name,
            family=self.architecture,
            params_b=self.params / 1e9,
            active_params_b=active / 1e9 if active else None,
            layers=self.layers,
            hidden_size=self.hidden_size,
            heads=self.heads,
            kv_heads=min(self.kv_heads, self.heads),
            head_dim=self.key_length,
            v_head_dim=self.value_length if self.value_length != self.key_length or self.is_mla else None,
            vocab_size=None,  # weights come from the file's tensors, not from the figures
            native_context=self.context_length,
            sliding_window=self.sliding_window if self.swa_pattern else None,
            swa_pattern=self.swa_pattern if self.sliding_window else None,
            kv_lora_rank=self.kv_lora_rank,
            qk_rope_head_dim=(self.rope_dim or 0) if self.is_mla else None,
            experts=self.experts,
            experts_active=self.experts_active,
            aliases=[self.name.lower() or "gguf"],
            source=f"GGUF header of {self.path}",
        )


class _Header:
    """Metadata (arrays of strings kept only as their length) and tensor infos of one file."""

    def __init__(self, source: Path | BinaryIO) -> None:
        """`source`: a path, or any binary file-like object with read() and a relative
        seek() (an HTTP range reader): only the header's bytes are read, arrays skipped."""
        self.fields: dict[str, object] = {}
        self.tensors: list[tuple[str, int, str, int]] = []  # name, elements, type, bytes
        if isinstance(source, Path):
            with source.open("rb") as f:
                self._walk(f)
        else:
            self._walk(source)

    def _walk(self, f: BinaryIO) -> None:
        import gguf  # constants only; imported when a file is named

        self._f = f
        magic, version = f.read(4), self._u32()
        if magic != b"GGUF" or version < 2:
            raise ValueError(f"not a GGUF v2+ file (version {version})")
        n_tensors, n_kv = self._u64(), self._u64()
        for _ in range(n_kv):
            key = self._str()
            self.fields[key] = self._value(gguf.GGUFValueType(self._u32()), gguf)
        for _ in range(n_tensors):
            name = self._str()
            dims = [self._u64() for _ in range(self._u32())]
            qtype = gguf.GGMLQuantizationType(self._u32())
            self._u64()  # data offset
            elements = math.prod(dims)
            block, size = gguf.GGML_QUANT_SIZES[qtype]
            self.tensors.append((name, elements, qtype.name, elements // block * size))

    def _read(self, n: int) -> bytes:
        data = self._f.read(n)
        if len(data) != n:
            raise ValueError("the header ends early (truncated file)")
        return data

    def _u32(self) -> int:
        return struct.unpack("<I", self._read(4))[0]

    def _u64(self) -> int:
        return struct.unpack("<Q", self._read(8))[0]

    def _str(self) -> str:
        return self._read(self._u64()).decode("utf-8", errors="replace")

    _SCALARS = {"UINT8": "<B", "INT8": "<b", "UINT16": "<H", "INT16": "<h", "UINT32": "<I",
                "INT32": "<i", "FLOAT32": "<f", "BOOL": "<?", "UINT64": "<Q", "INT64": "<q",
                "FLOAT64": "<d"}

    def _value(self, vtype, gguf):
        if vtype == gguf.GGUFValueType.STRING:
            return self._str()
        if vtype == gguf.GGUFValueType.ARRAY:
            itype, count = gguf.GGUFValueType(self._u32()), self._u64()
            if itype == gguf.GGUFValueType.STRING:  # vocabularies: skip, keep the length
                for _ in range(count):
                    self._f.seek(self._u64(), 1)
                return _Skipped(count)
            if itype == gguf.GGUFValueType.ARRAY:
                return [self._value(itype, gguf) for _ in range(count)]
            fmt = self._SCALARS[itype.name]
            size = struct.calcsize(fmt)
            if count > 4096:  # large numeric arrays (token scores, types): skip
                self._f.seek(count * size, 1)
                return _Skipped(count)
            raw = self._read(count * size)
            return [v[0] for v in struct.iter_unpack(fmt, raw)]
        fmt = self._SCALARS[vtype.name]
        return struct.unpack(fmt, self._read(struct.calcsize(fmt)))[0]


class _Skipped(int):
    """An array not kept in memory: only its length."""


def _field(reader: _Header, key: str, default=None):
    value = reader.fields.get(key)
    return default if value is None or isinstance(value, _Skipped) else value


def _int(reader, key: str, default=None):
    value = _field(reader, key, default)
    if isinstance(value, list):  # per-layer arrays (head counts): the largest bounds the cache
        numbers = [v for v in value if isinstance(v, int | float)]
        return int(max(numbers)) if numbers else default
    return int(value) if value is not None else default


def _parts(path: Path) -> tuple[list[Path], int]:
    match = _SPLIT.match(path.name)
    if not match:
        return [path], 1
    total = int(match.group("n"))
    parts = [path.with_name(f"{match.group('stem')}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1)]
    return [p for p in parts if p.is_file()], total


def _swa_pattern(reader, arch: str, layers: int) -> tuple[int | None, bool]:
    """(every n-th layer global, known). A per-layer bool array in the file wins."""
    layout = _field(reader, f"{arch}.attention.sliding_window_pattern")
    if isinstance(layout, list) and layout:
        for n in range(2, 9):
            if all(bool(v) == (i % n < n - 1) for i, v in enumerate(layout[:layers])):
                return n, True
        return None, False
    return SWA_PATTERN.get(arch), True


def read_gguf(path: str | Path) -> GgufInfo:
    """Read a GGUF header; raises GgufError with a reason (missing, not_gguf, no_model)."""
    resolved = Path(path).expanduser().resolve()
    if resolved.suffix.lower() != ".gguf":  # never probe other files (a path can come from a chat)
        raise GgufError("gguf_not_gguf", str(resolved))
    try:
        stat = resolved.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    return _read(str(resolved), stamp)


@lru_cache(maxsize=16)
def _read(resolved: str, _stamp: tuple[int, int] | None) -> GgufInfo:  # re-read when the file changes
    path = Path(resolved)
    if not path.is_file():
        raise GgufError("gguf_missing", resolved)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise GgufError("gguf_unreadable", resolved, str(exc)) from exc
    if magic != b"GGUF":
        raise GgufError("gguf_not_gguf", resolved)
    parts, total = _parts(path)
    return _info(parts, total, resolved, path.stem)


def read_gguf_stream(files: list[BinaryIO], label: str, parts_total: int | None = None) -> GgufInfo:
    """A GGUF read from file-like objects (the parts of a split file, in order), e.g. byte
    ranges over HTTP: the same header walk and figures as `read_gguf`. `label` names it in
    the answer (a URL, "repo/file.gguf"). Raises GgufError like `read_gguf`."""
    for f in files[:1]:
        magic = f.read(4)
        if magic != b"GGUF":
            raise GgufError("gguf_not_gguf", label)
        f.seek(-4, 1)
    stem = re.sub(r"(-\d{5}-of-\d{5})?\.gguf$", "", label.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    return _info(files, parts_total or len(files), label, stem)


def _info(parts: list, total: int, resolved: str, stem: str) -> GgufInfo:
    from gguf import LlamaFileType

    types: Counter[str] = Counter()
    type_bytes: Counter[str] = Counter()
    weights = params = experts_bytes = 0
    first = None
    try:
        for part in parts:
            reader = _Header(part)
            first = first or reader
            for name, elements, qtype, nbytes in reader.tensors:
                types[qtype] += 1
                type_bytes[qtype] += nbytes
                weights += nbytes
                params += elements
                if "_exps" in name:
                    experts_bytes += nbytes
    except (ValueError, OSError, KeyError, IndexError, UnicodeDecodeError, struct.error) as exc:
        raise GgufError("gguf_unreadable", resolved, str(exc)) from exc
    reader = first
    arch = _field(reader, "general.architecture")
    blocks = _int(reader, f"{arch}.block_count") if arch else None
    heads = _int(reader, f"{arch}.attention.head_count") if arch else None
    hidden = _int(reader, f"{arch}.embedding_length") if arch else None
    if not arch or not blocks or not hidden:
        raise GgufError("gguf_no_model", resolved, "no architecture, block count or width in its header")
    heads = heads or 1
    nextn = _int(reader, f"{arch}.nextn_predict_layers", 0)
    layers = blocks - nextn
    kv_heads = _int(reader, f"{arch}.attention.head_count_kv", heads)
    per_layer_heads = isinstance(_field(reader, f"{arch}.attention.head_count_kv"), list)
    key_length = _int(reader, f"{arch}.attention.key_length", hidden // heads)
    value_length = _int(reader, f"{arch}.attention.value_length", key_length)
    kv_lora = _int(reader, f"{arch}.attention.kv_lora_rank")
    rope_dim = _int(reader, f"{arch}.rope.dimension_count")
    window = _int(reader, f"{arch}.attention.sliding_window") or SWA_WINDOW_DEFAULT.get(arch)
    pattern, pattern_known = _swa_pattern(reader, arch, layers) if window else (None, True)
    vocab = _int(reader, f"{arch}.vocab_size")
    if vocab is None and "tokenizer.ggml.tokens" in reader.fields:
        vocab = int(reader.fields["tokenizer.ggml.tokens"])
    file_type = _int(reader, "general.file_type")
    try:
        quant = LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        from_file_type = True
    except (ValueError, TypeError):
        quant = max((t for t in type_bytes if t not in {"F32"}), key=type_bytes.get, default="F32")
        from_file_type = False
    if kv_lora:  # MLA: one latent "head" of kv_lora_rank + the RoPE part
        key_length = kv_lora + (rope_dim or 0)
    return GgufInfo(
        path=resolved,
        name=str(_field(reader, "general.name") or stem),
        architecture=arch,
        quant=quant,
        quant_from_file_type=from_file_type,
        weights_bytes=weights,
        params=params,
        tensor_types=dict(types),
        type_bytes=dict(type_bytes),
        expert_bytes=experts_bytes,
        layers=layers,
        context_length=_int(reader, f"{arch}.context_length", 4096),
        hidden_size=hidden,
        heads=heads,
        kv_heads=kv_heads,
        key_length=key_length,
        value_length=value_length,
        vocab_size=vocab,
        sliding_window=window if pattern else None,
        swa_pattern=pattern,
        kv_lora_rank=kv_lora,
        rope_dim=rope_dim,
        experts=_int(reader, f"{arch}.expert_count") or None,
        experts_active=_int(reader, f"{arch}.expert_used_count") or None,
        parts_read=len(parts),
        parts_total=total,
        kv_exact=arch not in RECURRENT_ARCHS and pattern_known and not per_layer_heads,
    )


# --- a GGUF known only by its file name (a Discord attachment) ---------------------------
_ORG_PREFIX = re.compile(r"^(?:meta-llama|meta|google|mistralai|qwen|microsoft|deepseek-ai|openai|"
                         r"moonshotai|zai-org|thudm|unsloth|bartowski|thebloke|lmstudio-community)_",
                         re.IGNORECASE)


def _canon(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class FileNameMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    model: str | None  # catalog model name, None when the name holds no model we know
    quant: str | None  # catalog quant name found in the file name


def match_file_name(file_name: str, catalog) -> FileNameMatch:
    """'Qwen2.5-7B-Instruct-Q4_K_M.gguf' -> Qwen2.5 7B, Q4_K_M. The longest catalog alias
    contained in the name wins, so 'DeepSeek-R1-Distill-Llama-8B' is the distill, not
    Llama 3.1 8B; a name with no known alias gives model None (never a guess)."""
    stem = re.sub(r"(-\d{5}-of-\d{5})?\.gguf$", "", Path(file_name).name, flags=re.IGNORECASE)
    quant = None
    quant_names = sorted((q.name for q in catalog.quants), key=len, reverse=True)
    for name in quant_names:
        hit = re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", stem, re.IGNORECASE)
        if hit:
            quant = name
            stem = stem[:hit.start()] + stem[hit.end():]
            break
    text = _canon(_ORG_PREFIX.sub("", stem))
    best: tuple[int, str] | None = None
    for model in catalog.models:
        for alias in [model.name, *model.aliases]:
            key = _canon(alias)
            if len(key) >= 4 and key in text and (best is None or len(key) > best[0]):
                best = (len(key), model.name)
    return FileNameMatch(file=Path(file_name).name, model=best[1] if best else None, quant=quant)


def attachment_question(question: str, file_name: str, catalog, lang: str) -> tuple[str, str]:
    """The question with the model and quant read from an attached GGUF's file name, and
    the sentence that says so (shown with the answer)."""
    from rules.phrases import say

    match = match_file_name(file_name, catalog)
    if match.model is None:
        detail = f" ({match.quant})" if match.quant else ""
        return question, say(lang, "gguf_attachment_unknown", file=match.file, detail=detail)
    quant = match.quant or catalog.model(match.model).default_quant or "Q4_K_M"
    note = say(lang, "gguf_attachment_matched", file=match.file, model=match.model, quant=quant)
    return f"{question} {match.model} {quant}".strip(), note
