"""The one service every adapter calls: question → `Answer`, logged.

The rules path imports nothing heavy; the knowledge runtime (torch, faiss,
the model server) is imported and started on the first knowledge question."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.answer import Answer, LlmInfo, Source
from bot.conversation import asks_why, follow_up_of, is_sizing, is_tied
from bot.paste import question_to_keep, within_limits
from bot.router import route
from bot.settings import Settings
from bot.store import Store, open_store
from rules.catalog import default_catalog
from rules.engine import answer_query
from rules.parser import parse
from rules.phrases import language_of, say
from rules.schema import Intent

log = logging.getLogger(__name__)

OnToken = Callable[[str], Awaitable[None] | None]
OnQueue = Callable[[int], Awaitable[None] | None]

_PLACEHOLDER = "Llama 2 7B"  # a catalog name the parser reads plainly, swapped for a looked-up model


def _model_ref(text: str, query, allow_local_files: bool):
    """A Hub link, repo id or Ollama tag worth looking up: links and files always; a bare
    repo id or tag only when the catalog lacks the name (never a local file that exists)."""
    if "/" not in text and ":" not in text and "ollama" not in text.lower():
        return None
    if query.run_log is not None or query.intent == Intent.DIAGNOSE:
        return None  # a pasted log names its model file (and may print a Hub URL): it is diagnosed as pasted
    from rules.parse.online_ref import find_model_ref

    ref = find_model_ref(text)
    if ref is None:
        return None
    path = query.gguf_path
    if path and allow_local_files and "://" not in path and not path.startswith(("hf.co/", "huggingface.co/")):
        from pathlib import Path

        try:
            if Path(path).expanduser().is_file():
                return None  # a file on this machine is read from the disk, as before
        except OSError:
            pass
    if ref.explicit:
        return ref
    if query.error == "unknown_model" or (not query.has_model and not query.gguf_path and not query.error):
        return ref
    return None


def _and_suggestions(sentence: str, query, ref) -> str:
    """A bare tag or repo id the catalog lacked and no lookup found: the parser's own
    "I don't know X; did you mean …" follows the sentence that says what failed."""
    if not ref.explicit and query.error == "unknown_model" and query.error_message:
        return f"{sentence}\n{query.error_message}"
    return sentence


def _online_of(state: dict, catalog):
    """The model a previous turn looked up (kept in the conversation state), as
    (model, catalog holding it, state entry); None when there is none."""
    entry = state.get("online")
    if not entry:
        return None
    try:
        from bot.models_online import OnlineModel

        model = OnlineModel(**entry["model"])
    except Exception:
        return None
    return model, model.catalog_with(catalog, own_quant=entry.get("own_quant", True)), entry


def _with_opening(opening: str, text: str) -> str:
    return f"{opening}\n\n{text}" if opening else text


class KnowledgeUnavailable(RuntimeError):
    pass


class RigBotService:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store: Store | None = None
        self._knowledge = None  # knowledge.runtime.KnowledgeRuntime, started lazily
        self._knowledge_lock = asyncio.Lock()
        self._warm_up: asyncio.Future | None = None  # resolves to the warm-up task
        from bot.reports import SpeedReports

        self.reports = SpeedReports(self)  # users' measured speeds (/report)

    # life cycle -------------------------------------------------------------
    async def start(self, probe: bool = False) -> RigBotService:
        """Open the store (and probe the host); on failure, close what was opened and
        raise, so no connection thread keeps a failed process alive."""
        try:
            self.store = await open_store(self.settings)  # let go at exit even if never closed
            if probe:  # the CLI's one-shot `ask` skips it: the probe costs about a second
                await self.probe_host()
        except BaseException:
            await self.close()
            raise
        return self

    def warm_up(self) -> None:
        """Start the knowledge runtime (embedding model, index, model server) in the
        background, so the first knowledge question does not pay for it. A failure is
        logged; the first question then tries again and answers with a sentence."""
        if self._warm_up is None:
            from knowledge.llm_server import start_detached  # light: stdlib only

            async def warm() -> None:
                try:
                    await self.knowledge()
                except Exception:
                    log.exception("knowledge warm start failed; the first knowledge question retries")

            # background work of the service, not of whichever handler called this
            self._warm_up = start_detached(warm, "rigbot knowledge warm start")

    async def close(self) -> None:
        """Stop the warm start, close the model client and the store; the store closes
        even when the model client's close fails (idempotent)."""
        if self._warm_up is not None:
            if self._warm_up.done():
                self._warm_up.result().cancel()
                await asyncio.gather(self._warm_up.result(), return_exceptions=True)
            else:
                self._warm_up.cancel()
        try:
            if self._knowledge is not None:
                runtime, self._knowledge = self._knowledge, None
                await runtime.close()
        finally:
            if self.store is not None:
                store, self.store = self.store, None
                await store.close()

    async def probe_host(self) -> dict:
        from bot.host import probe_host

        info = await asyncio.to_thread(probe_host, self.settings, self._knowledge)
        if self.store is not None:
            await self.store.record_host(info)
        return info

    async def knowledge(self):
        """The knowledge runtime, loaded on first use (imports torch and faiss, starts the model server)."""
        async with self._knowledge_lock:
            if self._knowledge is None:
                from knowledge.runtime import KnowledgeRuntime

                runtime = KnowledgeRuntime(self.settings, self.store)
                await runtime.start()
                self._knowledge = runtime
                if self.store is not None:
                    await self.probe_host()  # now with llama.cpp build info and threads
            return self._knowledge

    # questions --------------------------------------------------------------
    async def ask(
        self,
        question: str,
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
        request_id: str | None = None,
        on_token: OnToken | None = None,
        on_queue: OnQueue | None = None,
        cancel: asyncio.Event | None = None,
        allow_local_files: bool = True,
        conversation: tuple[str, str] | None = None,
        follow_up: bool = True,
        guild_id: str | None = None,
    ) -> Answer:
        """`allow_local_files`: whether a GGUF path in the question is read from this
        host's disk (console and CLI); the Discord adapter passes False.
        `conversation`: (channel, user) whose state is kept in the store; with
        `follow_up` a question may continue the previous one ("and at 32k context?"),
        without it the question starts afresh but is remembered for the next.
        `guild_id`: the Discord server asked in, kept with the logged question and the
        conversation so that server's administrators can purge what it holds."""
        started = time.perf_counter()
        answer = await self._answer(question, on_token, on_queue, cancel, allow_local_files,
                                    conversation, follow_up, user_id, guild_id)
        answer.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        # a pasted log: only the lines the answer used; an oversized question: its start
        answer.question = question_to_keep(answer.question, self.settings.max_question_chars)
        if self.store is not None:
            try:
                # a request already answered (re-delivered, or retried after a process
                # died) keeps its one row: `request_id` is unique across processes
                known = await self.store.answer_id_for(request_id)
                answer.log_id = known or await self.store.log_answer(answer, user_id, channel_id, request_id,
                                                                             guild_id=guild_id)
                if answer._generation and known is None:
                    await self.store.log_generation(answer.log_id, answer._generation)
                if answer._gate and known is None and (answer._gate["cuts"] or answer._gate["fell_back"]):
                    await self.store.log_gate_cuts(answer.log_id, answer._gate["cuts"], answer._gate["fell_back"])
            except Exception:  # logging must never cost the user their answer
                log.exception("could not log answer")
        return answer

    async def route_of(self, question: str, *, user_id: str | None = None,
                       conversation: tuple[str, str] | None = None, follow_up: bool = True) -> str:
        """Where `ask` would send this question, with its conversation and the user's
        saved rig taken into account (a follow-up such as "and at 32k context?" is
        sizing): "rules", "knowledge", or "none" (empty or too long: answered by neither).
        The adapters rate-limit by it: only "knowledge" spends the model."""
        text = (question or "").strip()
        if not text or not within_limits(text, self.settings.max_question_chars, self.settings.max_paste_chars):
            return "none"
        try:
            query = parse(text, default_catalog())
            if query.gguf_path:
                return "rules"
            query, *_ = await self._prepare(text, query, conversation, follow_up, user_id)
            return route(query)
        except Exception:  # `ask` will report the problem; count it as costly to be safe
            log.exception("could not route %r", text[:200])
            return "knowledge"

    async def _prepare(self, text, query, conversation, follow_up, user_id, catalog=None, online=None):
        """The question as it will be answered: merged with the conversation it
        follows, the saved rig standing in for hardware it does not name; a model looked
        up online in the turn it follows is sized again from the state, without a lookup."""
        catalog = catalog or default_catalog()
        state = await self._conversation_state(conversation) if conversation and follow_up else None
        extras_text, changed = text, None
        before = _online_of(state, catalog) if state and online is None else None
        if state and query.intent != Intent.DIAGNOSE and (
                merged := follow_up_of(state, text, query, before[1] if before else catalog)):
            query, extras_text, changed = merged.query, merged.question, merged.changed
            if before and query.model_name == before[2]["model"]["spec"]["name"]:
                catalog, online = before[1], before[2]  # the model looked up before, from the state
        # a follow-up is judged with the turn it follows ("my laptop" stays about the laptop)
        query, rig_line = await self._with_saved_rig(user_id, extras_text, query)
        return query, state, extras_text, changed, rig_line, catalog, online

    async def _answer(self, question, on_token, on_queue, cancel, allow_local_files=True,
                      conversation=None, follow_up=True, user_id=None, guild_id=None) -> Answer:
        text = (question or "").strip()
        if not text:
            return self._error(question, "empty_question", say("en", "bot_empty_question", help=say("en", "help")))
        lang = language_of(text)
        if not within_limits(text, self.settings.max_question_chars, self.settings.max_paste_chars):
            return self._error(question, "question_too_long", say(
                lang, "bot_question_too_long", length=len(text), most=self.settings.max_question_chars))
        try:
            query = parse(text, default_catalog())
            catalog, online = default_catalog(), None
            if (ref := _model_ref(text, query, allow_local_files)) is not None:
                outcome = await self._online_model(question, text, query, ref)
                if isinstance(outcome, Answer):
                    return outcome
                if outcome is not None:
                    query, catalog, online = outcome
            if query.gguf_path and not allow_local_files:  # never touch the disk for a chat user
                result = answer_query(query, default_catalog(), allow_local_files=False)
                return Answer(question=question, route="rules", **result.model_dump())
            query, state, extras_text, changed, rig_line, catalog, online = await self._prepare(
                text, query, conversation, follow_up, user_id, catalog, online)
            if route(query) == "rules":
                result = answer_query(query, catalog, measured=await self.reports.measured())
                answer = Answer(question=question, route="rules", **result.model_dump())
                if online and not answer.error:
                    answer.answer = f"{online['line']}\n{answer.answer}"
                if changed and not answer.error:
                    answer.answer = f"{changed}\n{answer.answer}"
                if rig_line and not answer.error:
                    answer.answer = f"{rig_line}\n{answer.answer}"
                if conversation and is_sizing(query) and not answer.error and query.intent != Intent.DIAGNOSE:
                    # a pasted log is not kept in the conversation state: only what the next turn needs
                    await self._remember_conversation(conversation, query.model_copy(update={"run_log": None}),
                                                      extras_text, answer, guild_id, online)
                return answer
            if (state and state.get("query") and "knowledge" not in state and is_tied(text)
                    and len(text) <= 80 and not asks_why(text)):
                # "what about on linux?" after a sizing answer: nothing the rules can change, and a
                # language model would invent an answer about the previous rig; say what can change
                return self._error(question, "followup_not_understood", say(lang, "bot_followup_not_understood"))
            previous_turn = state.get("knowledge") if state and is_tied(text) else None
            answer = await self._knowledge_answer(question, query, on_token, on_queue, cancel, previous_turn)
            if conversation and not answer.error:
                await self._remember_knowledge_turn(conversation, text, state, guild_id)
            return answer
        except Exception:
            log.exception("failed to answer %r", text[:200])
            return self._error(question, "internal_error", say(lang, "bot_internal_error"))

    async def _with_saved_rig(self, user_id: str | None, text: str, query):
        """The user's saved rig (/myrig) for a question that names no hardware, and the
        sentence that says so (bot.saved_rig decides); unchanged without a user or store."""
        if user_id is None or self.store is None:
            return query, None
        if query.run_log is not None and query.run_log.devices and not query.has_hardware:
            return query, None  # the log ran on a device RigBot could not size (a laptop card): not the saved rig
        from bot.saved_rig import apply_saved, saved_rig_of

        try:
            saved = await saved_rig_of(self.store, user_id, default_catalog())
        except Exception:  # a lost rig must not cost the answer
            log.exception("could not load the saved rig")
            return query, None
        return apply_saved(query, text, saved, default_catalog())

    async def _conversation_state(self, conversation: tuple[str, str]) -> dict | None:
        if self.store is None:
            return None
        try:
            return await self.store.load_conversation(*conversation)
        except Exception:  # a lost follow-up must not cost the answer
            log.exception("could not load conversation state")
            return None

    async def _remember_conversation(self, conversation: tuple[str, str], query, question: str,
                                     answer: Answer, guild_id: str | None = None, online: dict | None = None) -> None:
        resolved = {"context": answer.model.context, "quant": answer.model.quant} if answer.model else {}
        state = {"query": query.model_dump(mode="json"), "question": question[:500], "resolved": resolved}
        if online and "model" in online:  # looked up online: the follow-up sizes the same one without a lookup
            state["online"] = online
        await self._save_conversation(conversation, state, guild_id)

    # models the catalog lacks, looked up online (bot/models_online.py) ------------
    @property
    def online(self):
        from bot.models_online import OnlineLookups

        if getattr(self, "_online", None) is None or self._online.store is not self.store:
            self._online = OnlineLookups(self.settings, self.store)
        return self._online

    async def _online_model(self, question: str, text: str, query, ref):
        """The question with its Hub link or Ollama tag resolved: (query naming the looked-up
        model, a catalog copy holding it, what the conversation keeps), an Answer saying
        what failed, or None to answer as parsed (lookups off and the catalog knew a name)."""
        from bot.models_online import LookupFailed, failure_sentence, opening_line, where_of

        lang = query.lang
        if not self.settings.hub_lookup:
            if query.has_model and not query.error:  # the catalog's reading of the name stands
                if not ref.explicit:
                    return None
                return query, default_catalog(), {"line": say(lang, "online_off_catalog", ref=ref.label,
                                                              model=query.model_name or ref.label)}
            return self._error(question, "online_lookups_off", _and_suggestions(
                say(lang, "online_off", ref=ref.label, where=where_of(ref, lang)), query, ref))
        # the question read again with a catalog name in the reference's place: hardware,
        # intent, context and quant are read as for any question; the model is swapped after
        rest = f"{text[:ref.start]} {_PLACEHOLDER} {text[ref.end:]}"
        reread = parse(rest, default_catalog())
        asked = ref.quant or reread.quant
        try:
            model = await self.online.lookup(ref, asked)
        except LookupFailed as failure:
            return self._error(question, f"online_{failure.reason}",
                               _and_suggestions(failure_sentence(lang, failure, ref, self.settings), query, ref))
        own = model.kind == "gguf" or not asked or asked.upper() == model.quant.upper() \
            or asked.upper() not in {q.name.upper() for q in default_catalog().quants}
        catalog = model.catalog_with(default_catalog(), own_quant=own)
        quant = model.quant if own else asked
        options = [o.model_copy(update={"model_name": model.spec.name, "params_b": None, "quant": quant,
                                        "label": o.label.replace(_PLACEHOLDER, model.spec.name)})
                   if o.model_name == _PLACEHOLDER else o for o in reread.options]
        notes = [a for a in reread.assumptions if _PLACEHOLDER not in a]
        if model.assumed:
            notes.append(say(lang, "online_moe_active", active=model.spec.active_params_b or 0))
        query = reread.model_copy(update={
            "model_name": model.spec.name, "params_b": None, "quant": quant, "options": options,
            "unknown_model": None, "gguf_path": None, "assumptions": notes,
            "also_named": None if reread.also_named == _PLACEHOLDER else reread.also_named})
        line = opening_line(lang, model, ref, None if own else asked)
        return query, catalog, {"model": model.model_dump(mode="json"), "own_quant": own, "line": line}

    async def _remember_knowledge_turn(self, conversation: tuple[str, str], question: str,
                                       state: dict | None, guild_id: str | None = None) -> None:
        """Keep the knowledge question for a follow-up ("and why is that?") beside the last
        sizing query, which a later sizing follow-up still continues."""
        await self._save_conversation(conversation, {**(state or {}), "knowledge": {"question": question[:300]}},
                                      guild_id)

    async def _save_conversation(self, conversation: tuple[str, str], state: dict,
                                 guild_id: str | None = None) -> None:
        if self.store is None:
            return
        try:
            await self.store.save_conversation(*conversation, state, guild_id=guild_id)
        except Exception:  # a lost follow-up must not cost the answer
            log.exception("could not save conversation state")

    def _error(self, question: str, code: str, message: str, route="rules") -> Answer:
        return Answer(question=question or "", route=route, intent=Intent.EXPLAIN.value,
                      answer=message, error=code)

    async def _knowledge_answer(self, question, query, on_token, on_queue, cancel,
                                previous_turn: dict | None = None) -> Answer:
        lang = query.lang
        try:
            runtime = await self.knowledge()
        except Exception:
            log.exception("knowledge runtime failed to start")
            return self._error(question, "knowledge_unavailable", say(lang, "bot_knowledge_unavailable"),
                               route="knowledge")
        generation_question = question
        retrieval_question = question
        if previous_turn:  # "and why is that?": the previous knowledge question gives it its topic
            retrieval_question = f"{previous_turn['question']} {question}"
            generation_question = f"{question}\n({say(lang, 'previous_question')}: {previous_turn['question']})"
        hits = await runtime.retrieve(retrieval_question)
        sources = [Source(title=h.page_title, section=h.title, score=round(h.score, 4), text=h.text) for h in hits]
        if not hits:
            return Answer(question=question, route="knowledge", intent=Intent.EXPLAIN.value,
                          answer=say(lang, "bot_not_in_knowledge", help=say(lang, "help")),
                          sources=[], error="not_in_knowledge")
        facts = None
        if query.has_model and query.has_hardware:
            facts = answer_query(query, default_catalog()).answer
        from knowledge.composed import candidates, compose
        from knowledge.evidence import select_evidence
        from knowledge.faithfulness import gate
        from knowledge.gated_stream import GatedStream
        from knowledge.key_facts import key_facts_text
        from knowledge.llm_client import GenerationInterrupted, LlmUnavailable, QueueFull, call_back
        from knowledge.llm_server import LlmBuilding

        # evidence first: the opening a person reads is a sentence of the sources that
        # answers the question, in its language, with its citation; the model explains after
        evidence = await asyncio.to_thread(select_evidence, question, hits, runtime.embedder, lang)
        opening = f"{evidence.direct_answer} — *{evidence.citation}*" if evidence.direct_answer else ""
        if opening:
            await call_back(on_token, opening + "\n\n")
        prose = self.settings.knowledge_prose
        stream = GatedStream(question, evidence, hits, facts, default_catalog(), on_token) if prose else None
        options = [] if prose else candidates(evidence)
        try:
            if prose:
                gen = await runtime.generate(generation_question, hits, facts, on_token=stream.feed,
                                             on_queue=on_queue, cancel=cancel)
                await stream.close()
            elif options:  # the model chooses and orders source sentences; it writes none
                gen = await runtime.choose(question, options, on_queue=on_queue, cancel=cancel)
            else:
                gen = None
        except QueueFull:
            return Answer(question=question, route="knowledge", intent=Intent.EXPLAIN.value,
                          answer=_with_opening(opening, say(lang, "bot_busy", waiting=self.settings.queue_size)),
                          sources=sources, error="busy")
        except GenerationInterrupted as exc:  # the model server died mid-answer; it is restarting
            log.warning("generation interrupted: %s", exc)
            return Answer(question=question, route="knowledge", intent=Intent.EXPLAIN.value,
                          answer=_with_opening(opening, say(lang, "bot_llm_restarted")), sources=sources,
                          error="llm_restarted")
        except LlmBuilding as exc:  # a new machine: sizing answers meanwhile, and this one from the sources
            build = exc.build
            waiting = (say(lang, "bot_llm_building", minutes=build.minutes, percent=build.percent)
                       if build.percent is not None else say(lang, "bot_llm_building_starting", minutes=build.minutes))
            key_facts = key_facts_text(hits)
            return Answer(question=question, route="knowledge", intent=Intent.EXPLAIN.value,
                          answer=_with_opening(opening, f"{waiting}\n{key_facts}"), sources=sources,
                          error="llm_building")
        except LlmUnavailable as exc:
            log.warning("no LLM server answered: %s", exc)
            return Answer(question=question, route="knowledge", intent=Intent.EXPLAIN.value,
                          answer=_with_opening(opening, say(lang, "bot_llm_unavailable")), sources=sources,
                          error="llm_unavailable")
        cuts: set = set()
        fell_back = False
        if prose:
            # the whole text once more: the gate may distrust it as a whole (a contradiction,
            # most sentences cut) and fall back to the sources' own sentences
            report = gate(gen.text, question=question, evidence=evidence, hits=hits, facts=facts,
                          catalog=default_catalog())
            explanation = report.kept.strip()
            if not report.fell_back and stream.shown:
                explanation = ("" if lang == "zh" else " ").join(stream.shown)
            cuts = {(c.reason, c.sentence) for c in stream.cuts} | {(c.reason, c.sentence) for c in report.cuts}
            fell_back, fallback_reason = report.fell_back, report.fallback_reason
        else:
            explanation = compose(options, gen.text if gen else None).text(lang)
            if explanation:
                await call_back(on_token, explanation + "\n\n")
        if gen is not None and gen.stopped:
            explanation += f"\n\n*({gen.stopped})*"
        key_facts = key_facts_text(hits)
        body = "\n\n".join(part for part in (opening, explanation) if part) or say(lang, "bot_not_in_knowledge",
                                                                                   help=say(lang, "help"))
        answer = Answer(
            question=question,
            route="knowledge",
            intent=Intent.EXPLAIN.value,
            answer=f"{body}\n\n{say(lang, 'key_facts')}\n{key_facts}",
            sources=sources,
            llm=None if gen is None else LlmInfo(
                model=gen.stats["model"], prompt_tokens=gen.stats["prompt_tokens"],
                completion_tokens=gen.stats["completion_tokens"],
                tokens_per_s=gen.stats["tokens_per_s"], ttft_ms=gen.stats["ttft_ms"]),
        )
        answer._generation = gen.stats if gen is not None else None
        answer._gate = {"cuts": sorted(cuts), "fell_back": fell_back}
        if cuts or fell_back:
            log.info("faithfulness gate: cut %s%s", [r for r, _ in sorted(cuts)],
                     f"; fell back ({fallback_reason})" if fell_back else "")
        return answer

    # saved rig (/myrig, `rigbot rig`) -------------------------------------------
    async def set_rig(self, user_id: str, text: str, lang: str | None = None):
        """Read hardware from text or tool output and store it for this user; the raw
        text is neither stored nor logged. Returns a `bot.saved_rig.RigReply`."""
        from bot.saved_rig import set_rig

        return await set_rig(self.store, user_id, text, lang, default_catalog())

    async def show_rig(self, user_id: str, lang: str = "en"):
        from bot.saved_rig import show_rig

        return await show_rig(self.store, user_id, lang, default_catalog())

    async def clear_rig(self, user_id: str, lang: str = "en"):
        from bot.saved_rig import clear_rig

        return await clear_rig(self.store, user_id, lang, default_catalog())

    # admin and stats --------------------------------------------------------
    async def reload(self, progress=None) -> dict:
        """Reload catalogs and rebuild the knowledge index. On a broken file, raise
        ReloadError with the reason while the old catalog and index keep serving."""
        from rules.catalog import reload_default_catalog

        report: dict = {}
        catalog = reload_default_catalog()
        report["catalog"] = {"gpus": len(catalog.gpus), "models": len(catalog.models),
                             "quants": len(catalog.quants)}
        runtime = await self.knowledge()
        report["knowledge"] = await runtime.reload(progress=progress)
        return report

    async def stats(self) -> dict:
        from bot.stats import build_stats

        data = await build_stats(self)
        learned = await self.reports.measured()
        data["speed_reports"] = learned.summary() if learned else None
        return data
