"""Load: N simulated users ask a mix of sizing and knowledge questions at once,
through the service the adapters call (`RigBotService.ask`), to two bot processes
sharing one PostgreSQL database. Each user sends their next question when the
previous one is answered (as people do in a channel); users are split between the
processes as Discord shards would split them.

Reported: questions answered, p50/p99 latency per route (from the user's side: sent to
answer received; error answers such as "busy" timed apart), error answers by kind, and the database check: every question has
exactly one answer row (by its request id), none lost, none doubled. With
`--kill-after F`, one bot process is killed (SIGKILL) once a fraction F of the
questions are answered; its users move to the other process, which is asked again
what was in flight (the same request ids, so nothing is logged twice).

    ./rigbot-bench load [--users 200 --questions 5 --knowledge-share 0.1 --kill-after 0.3]

`RIGBOT_DATABASE_URL` names the PostgreSQL database; unset, a throwaway server is
started (tests/postgres_server.py) and removed afterwards. Knowledge answers use the
LLM path of this checkout (at the time of writing: llama-cpp-python in each bot
process, the default SmolLM2 GGUF)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SIZING = [
    "can a 3060 12GB run 13B 4-bit?",
    "can 2x3090 run llama 2 70b q4_k_m?",
    "how fast is a 4090 with llama 3 8b q8_0?",
    "can an M2 Max 64GB run mixtral?",
    "what's the max context for llama 3 8b on a 4060 ti 16gb?",
    "can I run 70b on 64GB DDR5 without a GPU?",
    "两张3090能跑70B吗？",
    "can an rtx 9999 run 7b?",
]
KNOWLEDGE = [
    "why does memory bandwidth matter for LLM speed?",
    "does the SSD matter for tokens per second?",
    "what is the KV cache?",
    "why doesn't a second GPU double the speed?",
]


# the bot process ------------------------------------------------------------------
async def worker(warm_knowledge: bool) -> None:
    """One bot process: questions in on stdin (JSON lines), answered concurrently by
    the service, results out on stdout (JSON lines). Exits at the end of stdin."""
    from bot import logfile
    from bot.service import RigBotService
    from bot.settings import Settings

    settings = Settings()
    logfile.setup(settings.data_dir)
    service = await RigBotService(settings).start()
    out = sys.stdout
    try:
        if warm_knowledge:
            await service.knowledge()
        out.write(json.dumps({"ready": os.getpid()}) + "\n")
        out.flush()
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks = set()

        async def answer(item: dict) -> None:
            result = await service.ask(item["question"], user_id=item["user"], channel_id="load",
                                       request_id=item["id"])
            out.write(json.dumps({"id": item["id"], "route": result.route, "error": result.error,
                                  "log_id": result.log_id}) + "\n")
            out.flush()

        while line := await reader.readline():
            task = asyncio.create_task(answer(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    finally:
        await service.close()


# the simulated users ------------------------------------------------------------------
@dataclass
class BotProcess:
    name: str
    proc: asyncio.subprocess.Process
    pending: dict[str, asyncio.Future] = field(default_factory=dict)
    alive: bool = True

    async def read(self) -> None:
        while line := await self.proc.stdout.readline():
            reply = json.loads(line)
            future = self.pending.pop(reply.get("id"), None)
            if future is not None and not future.done():
                future.set_result(reply)
        self.alive = False
        for future in self.pending.values():  # died: what it held goes unanswered
            if not future.done():
                future.set_exception(ConnectionError(f"{self.name} ended"))
        self.pending.clear()

    def ask(self, item: dict) -> asyncio.Future:
        if not self.alive:  # checked and registered in one step: `read` fails what it held
            raise ConnectionError(f"{self.name} ended")
        future = asyncio.get_running_loop().create_future()
        self.pending[item["id"]] = future
        self.proc.stdin.write((json.dumps(item) + "\n").encode())
        return future


async def start_bot(name: str, env: dict, warm: bool) -> BotProcess:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.load", "--worker", *(["--warm"] if warm else []), cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        limit=2**20)
    ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 600) or b'{"ready": null}')
    if not ready.get("ready"):
        raise RuntimeError(f"bot process {name} did not start (see its data directory's rigbot.log)")
    return BotProcess(name, proc)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def run_load(url: str, users: int, questions: int, knowledge_share: float, kill_after: float | None,
                   data_dir: Path, max_tokens: int, seed: int = 1) -> dict:
    run = uuid.uuid4().hex[:8]
    env = dict(os.environ, RIGBOT_DATABASE_URL=url, RIGBOT_DATA_DIR=str(data_dir), RIGBOT_N_THREADS="1",
               RIGBOT_MAX_TOKENS=str(max_tokens), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    warm = knowledge_share > 0
    # one after the other: the first builds the knowledge index, the second loads it from disk
    bots = [await start_bot("bot-1", env, warm), await start_bot("bot-2", env, warm)]
    readers = [asyncio.create_task(b.read()) for b in bots]
    rng = random.Random(seed)
    plan = {u: [KNOWLEDGE[rng.randrange(len(KNOWLEDGE))] if rng.random() < knowledge_share
                else SIZING[rng.randrange(len(SIZING))] for _ in range(questions)] for u in range(users)}
    total = users * questions
    latencies: dict[str, list[float]] = {"rules": [], "knowledge": []}  # by route (and error)
    errors: dict[str, int] = {}
    answered = 0
    resent = 0
    after_kill = 0
    asked_again: set[str] = set()
    killed: dict | None = None
    kill_at = int(total * kill_after) if kill_after is not None else None

    def bot_for(user: int) -> BotProcess:
        home = bots[user % len(bots)]
        return home if home.alive else next(b for b in bots if b.alive)

    async def user_session(user: int) -> None:
        nonlocal answered, resent, killed, after_kill
        for k, question in enumerate(plan[user]):
            item = {"id": f"load-{run}-{user}-{k}", "user": f"user-{run}-{user}", "question": question}
            sent = time.perf_counter()
            while True:
                try:
                    reply = await bot_for(user).ask(item)
                    break
                except ConnectionError:  # its process died: ask the other, same request id
                    resent += 1
                    asked_again.add(item["id"])
            # an error answer (unknown GPU, "busy" when the LLM queue is full) is timed apart
            kind = reply["route"] + (f" ({reply['error']})" if reply["error"] else "")
            latencies.setdefault(kind, []).append((time.perf_counter() - sent) * 1000)
            if reply["error"]:
                errors[reply["error"]] = errors.get(reply["error"], 0) + 1
            answered += 1
            if killed is not None:
                after_kill += 1
            if kill_at is not None and killed is None and answered >= kill_at:
                victim = bots[1]
                killed = {"process": victim.name, "pid": victim.proc.pid, "after_answers": answered,
                          "at": time.time()}
                victim.proc.send_signal(signal.SIGKILL)

    started = time.perf_counter()
    await asyncio.gather(*(user_session(u) for u in range(users)))
    wall_s = time.perf_counter() - started
    for bot in bots:
        if bot.alive:
            bot.proc.stdin.close()
    for bot in bots:
        await bot.proc.wait()
    await asyncio.gather(*readers)

    check, first_logged = await count_rows(url, f"load-{run}-")
    # asked again, but the killed process had logged it already: the request id kept it to one row
    saved = sum(1 for rid in asked_again if killed and first_logged.get(rid, float("inf")) < killed["at"])
    expected = {f"load-{run}-{u}-{k}" for u in range(users) for k in range(questions)}
    lost = sorted(expected - set(check))
    doubled = sorted(rid for rid, n in check.items() if n != 1)
    return {
        "users": users, "questions_per_user": questions, "knowledge_share": knowledge_share,
        "max_tokens": max_tokens, "bot_processes": len(bots), "store": "postgresql",
        "asked": total, "answered": answered, "wall_s": round(wall_s, 1),
        "answers_per_s": round(answered / wall_s, 1) if wall_s else None,
        "latency_ms": {route: {"n": len(v), "p50": percentile(v, 0.50), "p99": percentile(v, 0.99),
                               "mean": round(statistics.fmean(v), 1) if v else None}
                       for route, v in latencies.items()},
        "error_answers": errors,
        "killed": killed, "asked_again_after_kill": resent, "asked_again_but_already_logged": saved,
        "answered_after_kill": after_kill,
        "db_rows": sum(check.values()), "lost": len(lost), "doubled": len(doubled),
        "exactly_one_row_each": not lost and not doubled and sum(check.values()) == total,
    }


async def count_rows(url: str, prefix: str) -> tuple[dict[str, int], dict[str, float]]:
    """Answer rows per request id, and when each was first logged."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT request_id, COUNT(*) AS n, MIN(ts) AS ts FROM answers"
                                " WHERE request_id LIKE $1 GROUP BY request_id", prefix + "%")
    finally:
        await conn.close()
    return {r["request_id"]: r["n"] for r in rows}, {r["request_id"]: r["ts"] for r in rows}


def render(report: dict) -> str:
    lines = [f"load: {report['users']} users × {report['questions_per_user']} questions "
             f"({report['knowledge_share']:.0%} knowledge), {report['bot_processes']} bot processes, PostgreSQL"]
    lines.append(f"answered {report['answered']}/{report['asked']} in {report['wall_s']} s "
                 f"({report['answers_per_s']} answers/s)")
    for route, figures in report["latency_ms"].items():
        if figures["n"]:
            lines.append(f"  {route:24} n={figures['n']:4}  p50 {figures['p50']} ms  p99 {figures['p99']} ms")
    if report["error_answers"]:
        lines.append(f"error answers: {report['error_answers']}")
    if report["killed"]:
        lines.append(f"killed {report['killed']['process']} after {report['killed']['after_answers']} answers;"
                     f" {report['asked_again_after_kill']} questions asked again of the other process"
                     f" ({report['asked_again_but_already_logged']} of them already logged by the killed one)")
    lines.append(f"database: {report['db_rows']} answer rows; lost {report['lost']}, doubled {report['doubled']}"
                 f" -> {'exactly one row per question' if report['exactly_one_row_each'] else 'MISMATCH'}")
    return "\n".join(lines)


async def _main(args) -> dict:
    url = os.environ.get("RIGBOT_DATABASE_URL")
    server = None
    with tempfile.TemporaryDirectory(prefix="rigbot-load-") as tmp:
        if not url:
            sys.path.insert(0, str(ROOT / "tests"))
            from postgres_server import PostgresServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("load: PostgreSQL binaries not found; set RIGBOT_DATABASE_URL or install postgresql")
            server = PostgresServer(bindir).start()
            url = server.create_database("rigbot_load")
        try:
            return await run_load(url, args.users, args.questions, args.knowledge_share, args.kill_after,
                                  Path(tmp) / "data", args.max_tokens)
        finally:
            if server is not None:
                server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rigbot-bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--knowledge-share", type=float, default=0.1, help="fraction of knowledge questions")
    parser.add_argument("--max-tokens", type=int, default=32, help="generated tokens per knowledge answer")
    parser.add_argument("--kill-after", type=float, default=None,
                        help="kill one bot process after this fraction of answers (e.g. 0.3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(worker(args.warm))
        return
    report = asyncio.run(_main(args))
    print(json.dumps(report, indent=2) if args.json else render(report))


if __name__ == "__main__":
    main()
