"""Users' speed reports, for every adapter (Discord /report, the console's /report,
`./rigbot report`): read and checked by the rules (rules/parse/speed_report.py),
rate-limited per user, stored one per user per configuration, listed, deleted by their
owner, purged by an admin; and the learned measurements (rules/user_measurements.py)
the service passes to the rules engine, recomputed only when the reports change.

A report's raw text is neither stored nor logged: only the parsed rows are kept, and
the log names the user and what was stored or why nothing was."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

from rules.parse.speed_report import read_report
from rules.phrases import language_of, say
from rules.user_measurements import CEILING_SLACK, HARD_BAND, SpeedReport, UserMeasurements, learn

if TYPE_CHECKING:
    from bot.service import RigBotService

log = logging.getLogger(__name__)

RATE_WINDOW_S = 3600.0  # Settings.reports_per_hour counts in this window


def _tps(x: float) -> str:
    return f"{x:.0f}" if x >= 20 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


class ReportResult(BaseModel):
    text: str  # what the user is told
    stored: int = 0  # configurations stored (new or replacing the user's earlier one)
    error: str | None = None  # refused | rate_limited | no_store


def rate_key(user_id: str) -> str:
    return f"report:{user_id}"


class SpeedReports:
    def __init__(self, service: RigBotService) -> None:
        self.service = service
        self._cache: tuple[tuple, UserMeasurements] | None = None
        self._lock = asyncio.Lock()

    @property
    def store(self):
        return self.service.store

    async def submit(self, user_id: str, text: str, *, tokens_per_s: float | None = None,
                     now: float | None = None) -> ReportResult:
        """Read a report and store what it states; one sentence per outcome. `now`: the
        adapter's wall clock for the rate limit (Discord's, simulated under simcord)."""
        lang = language_of(text)
        read = await asyncio.to_thread(read_report, text, tokens_per_s)
        if read.error:
            log.info("speed report from %s refused", user_id)
            return ReportResult(text=read.error, error="refused")
        if self.store is None:
            return ReportResult(text=say(lang, "bot_internal_error"), error="no_store")
        limit = self.service.settings.reports_per_hour
        now = time.time() if now is None else now
        wait = await self.store.hit_rate_limit(rate_key(user_id), limit, RATE_WINDOW_S, now)
        if wait is not None:
            return ReportResult(text=say(lang, "report_rate_limited", limit=limit, minutes=max(1, math.ceil(wait / 60))),
                                error="rate_limited")
        lines = []
        for c in read.candidates:
            replaced = await self.store.put_speed_report(
                user_id, device=c.device, gpu_count=c.gpu_count, model=c.model, quant=c.quant,
                tokens_per_s=round(c.tokens_per_s, 2), context=c.context, source=c.source, now=now)
            low, high = c.predicted.expected_range or (c.predicted.expected_tokens_per_s,) * 2
            line = say(lang, "report_saved", tps=_tps(c.tokens_per_s), model=c.model, quant=c.quant, device=c.where,
                       expected=_tps(c.predicted.expected_tokens_per_s), low=_tps(low), high=_tps(high))
            lines.append(line + (" " + say(lang, "report_replaced_note") if replaced else ""))
            ratio = c.tokens_per_s / c.predicted.expected_tokens_per_s
            above_ceiling = c.tokens_per_s > CEILING_SLACK * c.predicted.theoretical_max_tokens_per_s
            if not HARD_BAND[0] <= ratio <= HARD_BAND[1] or above_ceiling:  # kept, shown apart, never refines
                lines.append(say(lang, "report_saved_far_off", ratio=f"{ratio:.2g}"))
            log.info("speed report from %s stored: %s × %d, %s %s, %.1f tokens/s (%s%s)", user_id, c.device,
                     c.gpu_count, c.model, c.quant, c.tokens_per_s, c.source, ", replaced" if replaced else "")
        return ReportResult(text="\n".join(lines + read.notes + [say(lang, "report_footer")]),
                            stored=len(read.candidates))

    async def listing(self, user_id: str, lang: str = "en") -> str:
        rows = await self.store.speed_reports(user_id)
        if not rows:
            return say(lang, "report_list_none")
        items = [say(lang, "report_list_item", id=r["id"], model=r["model"], quant=r["quant"],
                     tps=_tps(r["tokens_per_s"]), source=r["source"],
                     device=f"{r['gpu_count']}× {r['device']}" if r["gpu_count"] > 1 else r["device"])
                 for r in rows[:50]]
        return "\n".join([say(lang, "report_list_head", count=len(rows)), *items])

    async def delete(self, user_id: str, report_id: int | None = None, lang: str = "en") -> str:
        """The owner's own reports: all, or one by its number (another user's number deletes nothing)."""
        count = await self.store.delete_speed_reports(user_id, report_id)
        log.info("speed reports of %s deleted by their owner: %d", user_id, count)
        return say(lang, "report_deleted", count=count) if count else say(lang, "report_deleted_none")

    async def purge(self, user_id: str) -> dict[str, int]:
        """An admin's purge: everything kept about the user (Store.purge_user)."""
        return await self.store.purge_user(user_id)

    @staticmethod
    def purge_text(user: str, done: dict[str, int], lang: str = "en") -> str:
        summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done.items())
        return say(lang, "report_purged", user=user, summary=summary)

    async def measured(self) -> UserMeasurements | None:
        """Every stored report assessed against RigBot's predictions, with each device
        class's shift; recomputed (off the event loop) only when the reports changed.
        None without a store or when reading fails (answers then go without reports)."""
        if self.store is None:
            return None
        try:
            version = await self.store.speed_reports_version()
            if self._cache and self._cache[0] == version:
                return self._cache[1]
            async with self._lock:
                if self._cache and self._cache[0] == version:
                    return self._cache[1]
                rows = await self.store.speed_reports()
                reports = [SpeedReport(user_id=r["user_id"], device=r["device"], gpu_count=r["gpu_count"],
                                       model=r["model"], quant=r["quant"], context=r["context"],
                                       tokens_per_s=r["tokens_per_s"], source=r["source"]) for r in rows]
                learned = await asyncio.to_thread(learn, reports)
                self._cache = (version, learned)
                return learned
        except Exception:  # answers must not fail for the reports' sake
            log.exception("could not read speed reports; answering without them")
            return None
