"""Models the catalog lacks, read from their own files online: a Hugging Face repo or file
(GGUF header over HTTP byte ranges, or config.json plus the safetensors headers) and an
Ollama tag (the registry manifest names the GGUF blob; its header is read the same way).

The result is the same header- or config-derived `ModelSpec` and quantization that
`rules/` sizes for a local file, so `rules/` stays pure; this module does the I/O.

HTTP goes straight to the endpoints with httpx2 (huggingface_hub's own client): the Hub
from huggingface_hub's `HF_ENDPOINT` (default https://huggingface.co), with `HF_TOKEN`
when set, and the Ollama registry from `RIGBOT_OLLAMA_REGISTRY`. huggingface_hub's own
calls are not used because they refuse every request under `HF_HUB_OFFLINE=1`, which
`./rigbot` and `./run-tests` export to keep the embedding model offline; flipping that
process-wide flag would let the embedding model go online too.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import time
from typing import Literal

from pydantic import BaseModel

from rules.catalog import Catalog, ModelSpec, QuantType
from rules.gguf_file import GgufError, read_gguf_stream
from rules.parse.online_ref import ModelRef

GGUF_BLOCK = 256 * 1024  # first range request; doubles up to GGUF_MAX_BLOCK while reading on
GGUF_MAX_BLOCK = 4 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024 * 1024  # a header larger than this is not read
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8, "F4": 0.5}


class LookupFailed(Exception):
    """A lookup that found no model; `reason` keys a sentence (`online_<reason>`)."""

    def __init__(self, reason: str, **params) -> None:
        super().__init__(f"{reason}: {params}")
        self.reason = reason
        self.params = params


class OnlineModel(BaseModel):
    """What a lookup found: the model as the rules size it, and where it came from."""

    key: str
    kind: Literal["gguf", "safetensors"]
    where: Literal["hub", "ollama"]
    label: str  # "owner/repo/file.gguf", "smollm2:135m"
    url: str
    spec: ModelSpec
    quant: str  # the file's quantization, or the published dtype (BF16)
    weights_bytes: int
    params: int
    file_bytes: int | None = None
    bytes_read: int = 0
    tensor_types: dict[str, int] = {}
    kv_exact: bool = True
    quant_from_file_type: bool = True
    assumed: list[str] = []  # what a config left open (a MoE's active parameters)
    fetched_at: float = 0.0

    def quant_type(self) -> QuantType:
        """The file's own bits per weight, so the weights come out as its exact bytes."""
        bits = self.weights_bytes * 8 / self.params
        return QuantType(name=self.quant, bits_per_weight=bits, bits=max(1, round(bits)), kind="file",
                         source=f"{self.kind} of {self.label}")

    def catalog_with(self, catalog: Catalog, own_quant: bool = True) -> Catalog:
        """A copy of the catalog that holds this model (and its file's quantization)."""
        update: dict = {"models": [*catalog.models, self.spec]}
        if own_quant:
            mine = self.quant_type()
            update["quants"] = [q for q in catalog.quants if q.name.upper() != mine.name.upper()] + [mine]
        return catalog.model_copy(update=update)


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


# --- byte ranges -----------------------------------------------------------------------
class RangeReader:
    """A read-only, seekable file over HTTP Range requests: reads fetch blocks forward
    from the position (growing as the header goes on), seeks over skipped arrays cost
    nothing. Counts the bytes it fetched. A server that ignores Range is refused (the
    whole file would come)."""

    def __init__(self, client, url: str, deadline: float, headers: dict | None = None) -> None:
        self.client, self.url, self.deadline, self.headers = client, url, deadline, headers or {}
        self.pos = 0
        self.start = 0
        self.buf = b""
        self.block = GGUF_BLOCK
        self.bytes_read = 0
        self.size: int | None = None

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            raise ValueError("RangeReader reads sized chunks only")
        end = self.pos + n
        if not (self.start <= self.pos and end <= self.start + len(self.buf)):
            self._fetch(self.pos, max(n, self.block))
            self.block = min(self.block * 2, GGUF_MAX_BLOCK)
        out = self.buf[self.pos - self.start:end - self.start]
        self.pos += len(out)
        return out

    def _fetch(self, start: int, length: int) -> None:
        if start + length > MAX_HEADER_BYTES:
            raise LookupFailed("header_too_large", url=self.url, most=MAX_HEADER_BYTES // 2**20)
        if self.size is not None and start >= self.size:
            self.start, self.buf = start, b""
            return
        import httpx2

        headers = {**self.headers, "Range": f"bytes={start}-{start + length - 1}"}
        try:
            data = self._get_range(start, headers)
        except httpx2.TimeoutException as exc:
            raise LookupFailed("timeout", url=self.url) from exc
        except httpx2.HTTPError as exc:
            raise LookupFailed("unreachable", url=self.url, detail=type(exc).__name__) from exc
        if data is None:
            self.start, self.buf = start, b""
            return
        self.bytes_read += len(data)
        self.start, self.buf = start, data

    def _get_range(self, start: int, headers: dict) -> bytes | None:
        with _request(self.client, "GET", self.url, self.deadline, headers=headers, stream=True) as response:
            if response.status_code == 416:
                return None
            if response.status_code in (401, 403):
                raise LookupFailed("gated", url=self.url, status=response.status_code)
            if response.status_code != 206:
                _raise_for(response, self.url)
                raise LookupFailed("no_ranges", url=self.url)
            total = response.headers.get("content-range", "").rpartition("/")[2]
            if total.isdigit():
                self.size = int(total)
            return b"".join(response.iter_bytes())


class _Timed:
    """One HTTP request with the time left before the deadline as its timeout."""

    def __init__(self, client, method, url, deadline, headers, stream):
        self.client, self.method, self.url, self.deadline = client, method, url, deadline
        self.headers, self.stream, self._ctx = headers, stream, None

    def __enter__(self):
        import httpx2

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LookupFailed("timeout", url=self.url)
        try:
            request = self.client.build_request(self.method, self.url, headers=self.headers,
                                                timeout=httpx2.Timeout(left))
            self._ctx = self.client.send(request, stream=True)
            return self._ctx
        except httpx2.TimeoutException as exc:
            raise LookupFailed("timeout", url=self.url) from exc
        except httpx2.HTTPError as exc:
            raise LookupFailed("unreachable", url=self.url, detail=type(exc).__name__) from exc

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.close()


def _request(client, method, url, deadline, headers=None, stream=False) -> _Timed:
    return _Timed(client, method, url, deadline, headers or {}, stream)


def _get_json(client, url: str, deadline: float, headers: dict | None = None, missing: str = "not_found"):
    import httpx2

    with _request(client, "GET", url, deadline, headers=headers) as response:
        if response.status_code in (401, 403, 404):
            raise LookupFailed(missing, url=url, status=response.status_code)
        _raise_for(response, url)
        try:
            body = response.read()
            return json.loads(body)
        except httpx2.TimeoutException as exc:
            raise LookupFailed("timeout", url=url) from exc
        except httpx2.HTTPError as exc:
            raise LookupFailed("unreachable", url=url, detail=type(exc).__name__) from exc
        except ValueError as exc:
            raise LookupFailed("bad_reply", url=url, detail="not JSON") from exc


def _raise_for(response, url: str) -> None:
    if response.status_code >= 400:
        raise LookupFailed("http_error", url=url, status=response.status_code)


# --- the resolver ----------------------------------------------------------------------
class Resolver:
    """Resolves one `ModelRef` (synchronous: run it in a thread, time-limited)."""

    def __init__(self, ollama_registry: str, timeout_s: float = 10.0, endpoint: str | None = None,
                 token: str | None = None) -> None:
        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        self.registry = ollama_registry.rstrip("/")
        self.timeout_s = timeout_s
        token = token if token is not None else os.environ.get("HF_TOKEN")
        self.hub_headers = {"Authorization": f"Bearer {token}"} if token else {}

    def resolve(self, ref: ModelRef, quant: str | None = None) -> OnlineModel:
        import httpx2

        deadline = time.monotonic() + self.timeout_s
        with httpx2.Client(follow_redirects=True, headers={"User-Agent": "rigbot"}) as client:
            if ref.kind == "ollama":
                return self._ollama(client, ref, deadline)
            return self._hub(client, ref, quant or ref.quant, deadline)

    # Ollama -----------------------------------------------------------------------------
    def _ollama(self, client, ref: ModelRef, deadline: float) -> OnlineModel:
        base = f"{self.registry}/v2/{ref.namespace}/{ref.name}"
        manifest = _get_json(client, f"{base}/manifests/{ref.tag}", deadline,
                             headers={"Accept": MANIFEST_ACCEPT}, missing="ollama_not_found")
        layers = [layer for layer in manifest.get("layers", []) if layer.get("mediaType") == OLLAMA_MODEL_LAYER]
        if not layers:
            raise LookupFailed("ollama_no_model", label=ref.label)
        layer = layers[0]
        url = f"{base}/blobs/{layer['digest']}"
        return self._gguf(client, [url], ref, ref.label, url, layer.get("size"), deadline, where="ollama")

    # Hugging Face -----------------------------------------------------------------------
    def _hub(self, client, ref: ModelRef, quant: str | None, deadline: float) -> OnlineModel:
        repo, rev = ref.repo, ref.revision
        api = f"{self.endpoint}/api/models/{repo}" + ("" if rev == "main" else f"/revision/{rev}")
        info = _get_json(client, f"{api}?blobs=true", deadline, headers=self.hub_headers, missing="repo_not_found")
        files = {s["rfilename"]: s.get("size") for s in info.get("siblings", []) if "rfilename" in s}
        ggufs = sorted(f for f in files if f.lower().endswith(".gguf") and "mmproj" not in f.lower())
        if ref.file:
            if ref.file not in files:
                named = [f for f in ggufs if f.rsplit("/", 1)[-1] == ref.file.rsplit("/", 1)[-1]]
                if not named:
                    raise LookupFailed("file_not_found", repo=repo, file=ref.file, files=_names(ggufs))
                chosen = named[0]
            else:
                chosen = ref.file
            if not chosen.lower().endswith(".gguf"):
                raise LookupFailed("file_not_gguf", repo=repo, file=chosen)
            return self._hub_gguf(client, ref, repo, rev, chosen, files, deadline)
        if ggufs:
            firsts = [f for f in ggufs if not re.search(r"-\d{5}-of-\d{5}\.gguf$", f) or "-00001-of-" in f]
            if quant:
                pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(quant)}(?![A-Za-z0-9])", re.IGNORECASE)
                firsts = [f for f in firsts if pattern.search(f.rsplit("/", 1)[-1])]
                if not firsts:
                    raise LookupFailed("quant_not_found", repo=repo, quant=quant, files=_names(ggufs))
            if len(firsts) > 1:
                raise LookupFailed("several_gguf", repo=repo, files=_names(firsts))
            return self._hub_gguf(client, ref, repo, rev, firsts[0], files, deadline)
        if "config.json" in files and any(f.endswith(".safetensors") for f in files):
            return self._safetensors(client, ref, repo, rev, files, deadline)
        raise LookupFailed("no_weights", repo=repo)

    def _resolve_url(self, repo: str, rev: str, file: str) -> str:
        return f"{self.endpoint}/{repo}/resolve/{rev}/{file}"

    def _hub_gguf(self, client, ref, repo, rev, file, files, deadline) -> OnlineModel:
        parts = [file]
        if m := re.search(r"^(?P<stem>.*)-00001-of-(?P<n>\d{5})\.gguf$", file):
            n = int(m.group("n"))
            parts = [f"{m.group('stem')}-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1)]
            parts = [p for p in parts if p in files]
        urls = [self._resolve_url(repo, rev, p) for p in parts]
        size = sum(files.get(p) or 0 for p in parts) or None
        return self._gguf(client, urls, ref, f"{repo}/{file}", urls[0], size, deadline, where="hub",
                          headers=self.hub_headers)

    def _gguf(self, client, urls, ref, label, url, size, deadline, where, headers=None) -> OnlineModel:
        readers = [RangeReader(client, u, deadline, headers) for u in urls]
        try:
            info = read_gguf_stream(readers, label)
        except GgufError as exc:
            raise LookupFailed("not_gguf" if exc.reason == "gguf_not_gguf" else "unreadable",
                               label=label, detail=exc.detail) from exc
        spec = info.model_spec().model_copy(update={
            "name": _display_name(ref, label), "aliases": [_display_name(ref, label).lower()],
            "source": f"GGUF header of {label} ({url})"})
        return OnlineModel(key=ref.key, kind="gguf", where=where, label=label, url=url, spec=spec, quant=info.quant,
                           weights_bytes=info.weights_bytes, params=info.params, file_bytes=size,
                           bytes_read=sum(r.bytes_read for r in readers), tensor_types=info.tensor_types,
                           kv_exact=info.kv_exact, quant_from_file_type=info.quant_from_file_type,
                           fetched_at=time.time())

    def _safetensors(self, client, ref, repo, rev, files, deadline) -> OnlineModel:
        config = _get_json(client, self._resolve_url(repo, rev, "config.json"), deadline, headers=self.hub_headers)
        if "model.safetensors.index.json" in files:
            index = _get_json(client, self._resolve_url(repo, rev, "model.safetensors.index.json"), deadline,
                              headers=self.hub_headers)
            shards = sorted(set(index.get("weight_map", {}).values()))
        else:
            shards = sorted(f for f in files if f.endswith(".safetensors") and "/" not in f)
        from concurrent.futures import ThreadPoolExecutor

        def header_of(shard: str) -> tuple[dict, int]:
            reader = RangeReader(client, self._resolve_url(repo, rev, shard), deadline, self.hub_headers)
            reader.block = 100_000  # as huggingface_hub's get_safetensors_metadata: most headers fit
            (length,) = struct.unpack("<Q", reader.read(8))
            if length > MAX_HEADER_BYTES:
                raise LookupFailed("unreadable", label=f"{repo}/{shard}", detail="safetensors header too large")
            try:
                return json.loads(reader.read(length)), reader.bytes_read
            except ValueError as exc:
                raise LookupFailed("unreadable", label=f"{repo}/{shard}", detail="bad safetensors header") from exc

        counts: dict[str, int] = {}
        read = 0
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(shards)))) as pool:  # a 70B has ~30 shards
            for header, nbytes in pool.map(header_of, shards):
                read += nbytes
                for name, tensor in header.items():
                    if name != "__metadata__":
                        counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + math.prod(tensor["shape"])
        params = sum(counts.values())
        if not params:
            raise LookupFailed("no_weights", repo=repo)
        weights = round(sum(n * DTYPE_BYTES.get(d, 2) for d, n in counts.items()))
        dtype = max(counts, key=lambda d: counts[d] * DTYPE_BYTES.get(d, 2))
        spec, assumed = _spec_from_config(config, params, _display_name(ref, repo), repo)
        size = sum(files.get(s) or 0 for s in shards) or None
        return OnlineModel(key=ref.key, kind="safetensors", where="hub", label=repo,
                           url=self._resolve_url(repo, rev, "config.json"), spec=spec, quant=dtype,
                           weights_bytes=weights, params=params, file_bytes=size, bytes_read=read,
                           tensor_types=counts, assumed=assumed, fetched_at=time.time())


def _names(files: list[str]) -> list[str]:
    return [f.rsplit("/", 1)[-1] for f in files][:20]


def _display_name(ref: ModelRef, label: str) -> str:
    if ref.kind == "ollama":
        return ref.label
    name = ref.repo.split("/", 1)[1]
    return re.sub(r"[-_.]gguf$", "", name, flags=re.IGNORECASE) or name


def _spec_from_config(config: dict, params: int, name: str, repo: str) -> tuple[ModelSpec, list[str]]:
    """config.json's shape (the text model's, for a multimodal config) as a ModelSpec."""
    c = config.get("text_config") or config
    hidden = c.get("hidden_size") or c.get("d_model") or c.get("n_embd")
    layers = c.get("num_hidden_layers") or c.get("n_layer") or c.get("num_layers")
    heads = c.get("num_attention_heads") or c.get("n_head")
    if not (hidden and layers and heads):
        raise LookupFailed("no_shape", repo=repo)
    kv_heads = c.get("num_key_value_heads") or heads
    head_dim = c.get("head_dim") or hidden // heads
    window = c.get("sliding_window") if c.get("use_sliding_window", True) else None
    pattern = c.get("sliding_window_pattern")
    if window and not pattern and isinstance(c.get("layer_types"), list):
        kinds = c["layer_types"]
        full = [i for i, k in enumerate(kinds) if k == "full_attention"]
        pattern = full[0] + 1 if full and len(full) < len(kinds) else None
    experts = c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts")
    active_k = c.get("num_experts_per_tok")
    assumed: list[str] = []
    moe: dict = {}
    if experts and active_k and experts > 1:
        width = c.get("moe_intermediate_size") or c.get("intermediate_size") or 0
        expert_params = layers * experts * 3 * hidden * width
        active = max(params - expert_params * (1 - active_k / experts), params * active_k / experts)
        moe = {"experts": experts, "experts_active": active_k, "active_params_b": min(active, params) / 1e9}
        assumed.append("active")
    mla = {}
    if c.get("kv_lora_rank"):
        mla = {"kv_lora_rank": c["kv_lora_rank"], "qk_rope_head_dim": c.get("qk_rope_head_dim") or 64}
    spec = ModelSpec(
        name=name, family=str(c.get("model_type") or config.get("model_type") or "unknown"),
        params_b=params / 1e9, layers=layers, hidden_size=hidden, heads=heads, kv_heads=min(kv_heads, heads),
        head_dim=head_dim, native_context=c.get("max_position_embeddings") or 4096,
        sliding_window=window if window and pattern else None, swa_pattern=pattern if window and pattern else None,
        aliases=[name.lower()], source=f"config.json and safetensors headers of {repo}", **moe, **mla)
    return spec, assumed


# --- the service's side: cache, time limit, sentences ------------------------------------
GIB = 2**30


def _count(n: float) -> str:
    """Parameters as people write them: 135M, 7.6B, 64K."""
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def _size(n: int | None) -> str:
    if not n:
        return "?"
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


class OnlineLookups:
    """Resolves references for the service: from the store's cache when fresh, else online
    in a worker thread under the time limit; failures are cached briefly too."""

    def __init__(self, settings, store=None) -> None:
        self.settings = settings
        self.store = store
        self._memory: dict[str, tuple[float, bool, dict]] = {}  # without a store
        self.lookups = 0  # online lookups made (tests)

    def cache_key(self, ref: ModelRef, quant: str | None) -> str:
        chosen = quant if ref.kind == "hub" and not ref.file and not ref.quant and quant else None
        return f"{ref.key}#{chosen.upper()}" if chosen else ref.key

    async def lookup(self, ref: ModelRef, quant: str | None = None) -> OnlineModel:
        import asyncio
        import logging

        key = self.cache_key(ref, quant)
        cached = await self._cached(key)
        if cached is not None:
            ok, value = cached
            if ok:
                return OnlineModel(**value)
            raise LookupFailed(value["reason"], **value.get("params", {}))
        resolver = Resolver(self.settings.ollama_registry, self.settings.hub_lookup_timeout_s)
        self.lookups += 1
        try:
            model = await asyncio.wait_for(asyncio.to_thread(resolver.resolve, ref, quant),
                                           self.settings.hub_lookup_timeout_s + 0.5)
        except TimeoutError:
            failure = LookupFailed("timeout", url=ref.text)
        except LookupFailed as exc:
            failure = exc
        except Exception as exc:  # a lookup must never cost the answer its sentence
            logging.getLogger(__name__).exception("online lookup of %s failed", ref.key)
            failure = LookupFailed("failed", detail=type(exc).__name__)
        else:
            await self._put(key, model.model_dump(mode="json"), True, self.settings.hub_cache_ttl_s, model.url)
            return model
        transient = failure.reason in {"timeout", "unreachable", "http_error", "failed"}
        ttl = min(60.0, self.settings.hub_failure_ttl_s) if transient else self.settings.hub_failure_ttl_s
        await self._put(key, {"reason": failure.reason, "params": _jsonable(failure.params)}, False, ttl, None)
        raise failure

    async def _cached(self, key: str) -> tuple[bool, dict] | None:
        if self.store is not None:
            try:
                return await self.store.get_online_model(key)
            except Exception:
                return None
        hit = self._memory.get(key)
        return (hit[1], hit[2]) if hit and hit[0] > time.time() else None

    async def _put(self, key: str, value: dict, ok: bool, ttl: float, url: str | None) -> None:
        if self.store is not None:
            try:
                await self.store.put_online_model(key, value, ok, ttl, url)
                return
            except Exception:
                pass
        self._memory[key] = (time.time() + ttl, ok, value)


def _jsonable(params: dict) -> dict:
    return {k: v if isinstance(v, int | float | str | list) or v is None else str(v) for k, v in params.items()}


def where_of(ref: ModelRef, lang: str) -> str:
    from rules.phrases import say

    return say(lang, "online_where_ollama" if ref.kind == "ollama" else "online_where_hub")


def failure_sentence(lang: str, failure: LookupFailed, ref: ModelRef, settings) -> str:
    """One sentence in the question's language saying what failed."""
    from urllib.parse import urlparse

    from rules.phrases import say

    p = failure.params
    base = settings.ollama_registry if ref.kind == "ollama" else hub_endpoint()
    host = urlparse(p.get("url") or base).netloc or base
    files = p.get("files") or []
    fields = {"ref": ref.label, "host": host, "seconds": settings.hub_lookup_timeout_s, "repo": p.get("repo", ref.repo),
              "file": p.get("file", ref.file), "files": ", ".join(f"`{f}`" for f in files) or "—",
              "quant": p.get("quant"), "label": p.get("label", ref.label), "detail": p.get("detail", ""),
              "status": p.get("status"), "most": p.get("most"), "where": where_of(ref, lang)}
    key = f"online_{failure.reason}"
    try:
        return say(lang, key, **fields)
    except KeyError:
        return say(lang, "online_failed", **fields)


def opening_line(lang: str, model: OnlineModel, ref: ModelRef, asked_quant: str | None) -> str:
    """The answer's first line: where the figures came from."""
    from rules.phrases import say

    where = where_of(ref, lang)
    if model.kind == "gguf":
        mix = say(lang, "list_sep").join(f"{n}× {t}" for t, n in sorted(model.tensor_types.items(), key=lambda x: -x[1]))
        return say(lang, "online_from_gguf", label=model.label, where=where, size=_size(model.file_bytes),
                   read=_size(model.bytes_read), name=model.spec.name, arch=model.spec.family,
                   tensors=sum(model.tensor_types.values()), weights=model.weights_bytes / GIB, mix=mix)
    dtypes = say(lang, "list_sep").join(f"{d} {_count(n)}" for d, n in sorted(model.tensor_types.items(),
                                                                               key=lambda x: -x[1]))
    line = say(lang, "online_from_safetensors", label=model.label, where=where, params=_count(model.params),
               dtypes=dtypes, weights=model.weights_bytes / GIB, dtype=model.quant)
    if asked_quant and asked_quant.upper() != model.quant.upper():
        line += " " + say(lang, "online_at_quant", quant=asked_quant, params=_count(model.params))
    return line
