"""The model server's choices, as pure functions: the AMX repack path, which endpoint of
a pool serves next, base URLs, the llama-server command line, and which evidence
sentences reach the prompt."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from knowledge.index import Hit
from knowledge.llm_client import Endpoint, choose_endpoint, normalise_base_url, parse_urls
from knowledge.llm_server import ServerSpec, has_amx, repack_choice
from knowledge.prompt import SYSTEM_PROMPT, build_messages, select_evidence

EPYC = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb " \
       "rdtscp lm constant_tsc rep_good nopl cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 " \
       "sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy avx2 sha_ni"
SAPPHIRE_RAPIDS = EPYC + " avx512f avx512dq avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8 arch_capabilities"


def test_amx_cpu_turns_repacking_off_by_default():
    no_repack, why = repack_choice(SAPPHIRE_RAPIDS, None)
    assert no_repack and "AMX" in why and "RIGBOT_LLM_AMX_REPACK=1" in why


def test_cpu_without_amx_keeps_llama_cpp_default():
    no_repack, why = repack_choice(EPYC, None)
    assert not no_repack and "no AMX" in why


def test_setting_overrides_the_choice_both_ways():
    assert repack_choice(SAPPHIRE_RAPIDS, True)[0] is False
    assert repack_choice(EPYC, False)[0] is True


def test_amx_is_a_whole_flag_not_a_substring():
    assert not has_amx("amx_tilefoo xamx_int8")
    assert has_amx("sse amx_int8")


def test_no_repack_reaches_the_command_line():
    spec = ServerSpec(binary=Path("/x/llama-server"), model=Path("/m.gguf"), n_ctx=2048, slots=2,
                      threads=1, threads_batch=2, no_repack=True)
    cmd = spec.command(8080)
    assert cmd[cmd.index("-t") + 1] == "1" and cmd[cmd.index("-tb") + 1] == "2"
    assert cmd[cmd.index("-np") + 1] == "2" and cmd[cmd.index("-c") + 1] == "4096", "n_ctx is per slot"
    assert "--no-repack" in cmd and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--no-repack" not in ServerSpec(binary=Path("b"), model=Path("m")).command(1, cpu_flags=EPYC)


def test_the_host_choice_applies_when_no_one_chose(monkeypatch):
    spec = ServerSpec(binary=Path("b"), model=Path("m"))  # no_repack left to the host
    assert "--no-repack" in spec.command(1, cpu_flags=SAPPHIRE_RAPIDS)
    assert "--no-repack" not in spec.command(1, cpu_flags=EPYC)
    assert "--no-repack" not in ServerSpec(binary=Path("b"), model=Path("m"), no_repack=False).command(
        1, cpu_flags=SAPPHIRE_RAPIDS), "RIGBOT_LLM_AMX_REPACK=1 wins over the host"
    import knowledge.llm_server as llm_server

    monkeypatch.setattr(llm_server, "cpu_flags_text", lambda: SAPPHIRE_RAPIDS)
    assert "--no-repack" in spec.command(1), "without flags given, this machine's are read"


def test_the_tests_own_server_goes_through_the_same_choice():
    """The external_server fixture of test_llm_server.py: on an AMX host it crashed while
    starting (-11) when it built its command without the AMX choice."""
    from llm_servers import external_process

    amx = external_process(Path("/x/llama-server"), Path("/m.gguf"), None, cpu_flags=SAPPHIRE_RAPIDS)
    plain = external_process(Path("/x/llama-server"), Path("/m.gguf"), None, cpu_flags=EPYC)
    assert "--no-repack" in amx.command and "--no-repack" not in plain.command
    assert amx.command[amx.command.index("-np") + 1] == "2"


def test_urls_are_split_and_normalised():
    assert parse_urls(" http://a:8080/v1/ , http://b:11434 ,") == ["http://a:8080", "http://b:11434"]
    assert parse_urls(None) == [] and parse_urls("") == []
    assert normalise_base_url("http://h/v1") == "http://h"


def test_least_busy_endpoint_that_is_up_serves_next():
    a, b, c = Endpoint("http://a"), Endpoint("http://b"), Endpoint("http://c")
    a.in_flight, b.in_flight, c.in_flight = 2, 1, 0
    c.mark_failed(now=100.0)
    assert choose_endpoint([a, b, c], now=100.0) is b, "c is backing off"
    assert choose_endpoint([a, b, c], now=200.0) is c, "c is tried again after its back-off"
    c.restarting = True
    b.restarting = True
    assert choose_endpoint([a, b, c], now=200.0) is a
    a.restarting = True
    assert choose_endpoint([a, b, c], now=200.0) is None


def test_busy_share_counts_slots():
    big, small = Endpoint("http://big", slots=4), Endpoint("http://small", slots=1)
    big.in_flight, small.in_flight = 2, 1
    assert choose_endpoint([small, big], now=0.0) is big, "2 of 4 slots busy beats 1 of 1"


@given(st.integers(min_value=1, max_value=20))
def test_backoff_grows_and_is_capped(failures):
    e = Endpoint("http://x")
    for _ in range(failures):
        e.mark_failed(now=0.0)
    assert 5.0 <= e.down_until <= 60.0
    e.mark_ok()
    assert e.up(0.0)


def _hit(text: str, title: str = "T", rank_score: float = 0.5) -> Hit:
    return Hit(section_id="s", lang="en", title=title, page_title="P", text=text, summary=text.split(".")[0],
               score=rank_score, dense=rank_score, lexical=0.0)


def test_evidence_keeps_sentences_that_answer_the_question():
    hit = _hit("Bandwidth sets the speed ceiling. Quokkas enjoy cooling fans. "
               "Every token reads all weights, so memory bandwidth limits tokens per second.")
    (chosen_hit, picked), = select_evidence("why does memory bandwidth limit tokens per second?", [hit])
    assert picked[0] == "Bandwidth sets the speed ceiling.", "the summary sentence first"
    assert any("memory bandwidth limits" in s for s in picked)
    assert not any("Quokkas" in s for s in picked)


def test_evidence_stays_within_the_budget():
    long = " ".join(f"Memory bandwidth fact number {i} about tokens." for i in range(60))
    picked = [s for _, ss in select_evidence("memory bandwidth tokens", [_hit(long), _hit(long)], 300)
              for s in ss]
    assert 1 <= len(picked) and sum(len(s) + 1 for s in picked) <= 300 + 60


def test_system_prompt_is_first_and_the_same_for_every_question():
    hit = _hit("VRAM holds the weights. A 3090 has 24 GB.")
    en = build_messages("how much VRAM does a 3090 have?", [hit])
    zh = build_messages("3090 有多少显存？", [hit])
    assert en[0] == zh[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "Answer in English." in en[1]["content"] and "Answer in Chinese." in zh[1]["content"]
