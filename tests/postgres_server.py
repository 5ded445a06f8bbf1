"""A throwaway PostgreSQL server for tests and benchmarks: `initdb` a cluster in a
temporary directory, start it on a free loopback port (and a unix socket in that
directory), create databases, stop and delete it at the end. Run as the `postgres`
user when we are root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    """The directory of `initdb` and `pg_ctl`: on the PATH, or Debian's versioned one."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def require_bindir() -> Path:
    """The binaries, or stop the test: a skip with the reason on a developer's machine,
    a failure in CI (CI=true), where .ci/run installs them and their absence is a bug."""
    import pytest

    bindir = find_bindir()
    if bindir is None:
        message = ("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                   "apt-get install postgresql, or run .ci/run, which installs it")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return bindir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root: Path | None = None
        self.port: int | None = None
        self.run_as = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True,
                              text=True, timeout=timeout, user=self.run_as,
                              env=dict(os.environ, LC_ALL="C", LANG="C"))

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def start(self, max_connections: int = 150) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="rigbot-pg-"))
        if self.run_as:
            shutil.chown(self.root, user=self.run_as)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        self.port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
                   f" -c synchronous_commit=off -c max_connections={max_connections}")
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                      "-o", options, "start")
        except subprocess.CalledProcessError as exc:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log}") from exc
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
