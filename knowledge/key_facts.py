"""Key facts: the summaries of the retrieved sections that answer the question, not
three padded ones (issue 23: the CPU-fallback log section listed for "What CPU should I
buy?").

The first hit is always one. A later hit must score (retrieval's hybrid score) at least
MIN_SHARE_OF_TOP of the first and at least MIN_SCORE. Chosen on the retrieval set
(tests/data/retrieval_questions_*.toml, 109 answered questions, 218 later hits of which
38 are the sections the set names): all later hits kept, 17% of them are those
sections; with these thresholds 50 are kept, 46% of them are (23 of the 38), the best
precision-weighted F(0.5) of the grid (ratio 0.60-0.98, score 0.30-0.78)."""

from __future__ import annotations

from knowledge.index import Hit

MIN_SHARE_OF_TOP = 0.84
MIN_SCORE = 0.50


def key_fact_hits(hits: list[Hit]) -> list[Hit]:
    if not hits:
        return []
    top = hits[0].score
    return [hits[0], *(h for h in hits[1:] if h.score >= MIN_SCORE and h.score >= MIN_SHARE_OF_TOP * top)]


def key_facts_text(hits: list[Hit]) -> str:
    return "\n".join(f"• {h.summary} — *{h.title}*" for h in key_fact_hits(hits))
