"""What RigBot runs on: CPU, RAM, GPUs (NVML), OS, Python, and the model server that
serves its generations (embedded llama-server or external URL hosts and models)."""

from __future__ import annotations

import logging
import os
import platform
import sys

log = logging.getLogger(__name__)


def probe_cpu() -> dict:
    import cpuinfo
    import psutil

    info = cpuinfo.get_cpu_info()
    flags = info.get("flags", [])
    wanted = ("avx", "avx2", "avx512f", "avx512_vnni", "f16c", "fma", "neon", "sve", "amx_tile", "amx_int8",
              "amx_bf16")
    return {
        "model": info.get("brand_raw") or platform.processor(),
        "arch": info.get("arch_string_raw") or platform.machine(),
        "cores": psutil.cpu_count(logical=False),
        "threads": psutil.cpu_count(logical=True),
        "usable_threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
    }


def probe_gpus() -> list[dict]:
    """NVIDIA GPUs through NVML; an empty list where there is no driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append({
                "name": pynvml.nvmlDeviceGetName(handle),
                "vram_gib": round(mem.total / 2**30, 2),
                "driver": driver if isinstance(driver, str) else driver.decode(),
            })
        return gpus
    except Exception:
        log.exception("NVML probe failed")
        return []
    finally:
        pynvml.nvmlShutdown()


def probe_llama_cpp() -> dict:
    """Build facts, only if llama_cpp is already imported: the probe must not make a
    rules-only start load libllama."""
    if "llama_cpp" not in sys.modules:
        return {"loaded": False}
    import llama_cpp

    info = {"loaded": True, "version": llama_cpp.__version__}
    try:
        info["gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
        info["system_info"] = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    except Exception:
        log.exception("llama.cpp build probe failed")
    return info


def measure_performance(array_mib: int = 64, repeats: int = 5) -> dict:
    """RAM read bandwidth and matmul FLOP/s of this host, measured in about half a second.

    One thread, like llama.cpp's decode on small hosts: a sum over an array larger than
    the caches (read bandwidth) and a 512×512 float32 matmul (compute). Best of `repeats`,
    because other processes only ever make a run slower."""
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    data = np.ones(array_mib * 2**20 // 4, dtype=np.float32)
    data.sum()  # touch the pages once
    best = min(_timed(data.sum) for _ in range(repeats))
    read_gbs = data.nbytes / best / 1e9
    del data
    n = 512
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    with threadpool_limits(limits=1):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(repeats))
    gflops = 2 * n**3 / best / 1e9
    return {"ram_read_gbs": round(read_gbs, 2), "matmul_gflops_1thread": round(gflops, 1),
            "method": f"numpy sum over {array_mib} MiB and {n}x{n} float32 matmul, 1 thread, best of {repeats}",
            "seconds": round(time.perf_counter() - started, 3)}


def _timed(fn) -> float:
    import time

    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def probe_host(settings=None, runtime=None) -> dict:
    import psutil

    info = {
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpu": probe_cpu(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 2),
        "gpus": probe_gpus(),
        "llama_cpp": probe_llama_cpp(),
    }
    try:
        info["measured"] = measure_performance()
        log.info("host measured: %s", info["measured"])
    except Exception:  # a host we cannot measure still answers; stats then says so
        log.exception("host performance measurement failed")
        info["measured"] = None
    if settings is not None:
        info["model_path"] = str(settings.model_path) if settings.model_path else "default (SmolLM2-135M)"
        info["n_gpu_layers"] = settings.n_gpu_layers
        info["n_threads"] = settings.n_threads  # None until measured at the model's first start
    if runtime is not None and getattr(runtime, "client", None) is not None:
        # what actually serves generations, once the knowledge runtime has started: the
        # embedded llama-server (its binary, threads, repack choice) or the external
        # server(s) (URL host and model, from /v1/models and /props)
        info["llm"] = runtime.llm_info
        if runtime.model_path is not None:
            info["model_file"] = str(runtime.model_path)
            info["model_file_bytes"] = runtime.model_path.stat().st_size
        info["n_threads"] = runtime.llm_info.get("n_threads")
        info["n_threads_batch"] = runtime.llm_info.get("n_threads_batch")
        info["n_gpu_layers"] = runtime.llm_info.get("n_gpu_layers", info.get("n_gpu_layers"))
        info["n_ctx"] = runtime.settings.n_ctx
        info["thread_measurements"] = runtime.thread_measurements or None
    return info
