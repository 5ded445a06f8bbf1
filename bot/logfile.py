"""Where the command line's log goes: everything to `data_dir/rigbot.log` (tracebacks
included), and only one line per warning or error to the terminal. The file is
opened on the first record; when the data directory cannot be written (a common
reason a start fails), the log goes to the temporary directory instead, so the
traceback of that very failure is kept."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

LOG_NAME = "rigbot.log"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
FAILURES = "rigbot.failures"


def fallback_path() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"rigbot-{uid}.log"


class LogFile(logging.FileHandler):
    """A FileHandler that creates its directory on first use and falls back to the
    temporary directory (then to nothing) instead of printing a logging error."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, delay=True, encoding="utf-8")

    def _open(self):
        for candidate in (Path(self.baseFilename), fallback_path()):
            try:
                candidate.parent.mkdir(parents=True, exist_ok=True)
                stream = open(candidate, "a", encoding="utf-8")  # noqa: SIM115 (the handler owns it)
            except OSError:
                continue
            self.baseFilename = str(candidate)
            return stream
        self.baseFilename = os.devnull
        return open(os.devnull, "a", encoding="utf-8")  # noqa: SIM115

    @property
    def path(self) -> Path:
        return Path(self.baseFilename)


class OneLine(logging.Formatter):
    """The message only, on one line: tracebacks stay in the file."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\n", " ")
        return f"{record.levelname.lower()}: {message}"


_file: LogFile | None = None


def setup(data_dir: Path | None) -> LogFile:
    """Configure the root logger once per process; returns the file handler."""
    global _file
    root = logging.getLogger()
    if _file is not None:
        return _file
    _file = LogFile((data_dir or fallback_path().parent) / LOG_NAME)
    _file.setFormatter(logging.Formatter(FORMAT))
    _file.setLevel(logging.INFO)
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(OneLine())
    terminal.setLevel(logging.WARNING)
    root.addHandler(_file)
    root.addHandler(terminal)
    root.setLevel(logging.INFO)
    # failures the terminal already got as a sentence: to the file only, whatever
    # handlers others add to the root logger later (discord.py adds one in `run`)
    failures = logging.getLogger(FAILURES)
    failures.propagate = False
    failures.addHandler(_file)
    return _file


def failure(what: str, exc: BaseException) -> None:
    """Keep a failure's traceback in the log file (not on the terminal)."""
    logging.getLogger(FAILURES).error("%s failed", what, exc_info=exc)


def log_path() -> Path:
    """Where the log is (after the first record: where it really went)."""
    return _file.path if _file is not None else fallback_path()
