"""llama.cpp's server from the prebuilt `xllamacpp` wheel (PyPI, a manylinux abi3 wheel
with llama.cpp compiled in), run as RigBot's model-server child with the same command
line as `llama-server`:

    python -m knowledge.prebuilt_server -m MODEL --host 127.0.0.1 --port N -c 2048 -np 1 -t 1 -tb 1 ...

Why a child process and not the bindings in RigBot's own process: a crash in native code
(a segfault, an OOM kill) must cost one answer, not the bot; the supervisor
(knowledge/llm_server.py) restarts this process as it restarts llama-server. xllamacpp
runs llama.cpp's own HTTP server (/health, /props, /v1/chat/completions with `timings`),
so the client cannot tell the two apart. It is used to compare a prebuilt llama.cpp with
the native build (bench/prebuilt_vs_native.py)."""

from __future__ import annotations

import argparse
import signal
import threading


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m knowledge.prebuilt_server")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-c", "--ctx-size", type=int, default=2048)
    p.add_argument("-np", "--parallel", type=int, default=1)
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument("-tb", "--threads-batch", type=int, default=1)
    p.add_argument("-ngl", "--n-gpu-layers", type=int, default=0)
    p.add_argument("--no-repack", action="store_true")
    p.add_argument("--metrics", action="store_true")
    p.add_argument("--no-webui", action="store_true")  # xllamacpp serves no web UI anyway
    p.add_argument("--no-warmup", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads_batch
    params.n_gpu_layers = args.n_gpu_layers
    params.no_extra_bufts = args.no_repack  # what llama-server's --no-repack sets
    params.endpoint_metrics = args.metrics
    params.warmup = not args.no_warmup
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = xllamacpp.Server(params)  # listens until it is dropped
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    del server


if __name__ == "__main__":
    main()
