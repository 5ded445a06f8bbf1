"""A model's parameters by where runtimes other than llama.cpp put them: the token
embedding, the output head, the routed experts and the rest (attention, dense and shared
FFN, norms). ExLlama keeps the embedding in system RAM, bitsandbytes leaves the
embedding and head unquantized, ktransformers keeps routed experts in CPU RAM: each
needs the split, not one bits-per-weight figure. Pure: from the model's config figures."""

from __future__ import annotations

from dataclasses import dataclass

from rules.catalog import ModelSpec
from rules.memory import tensor_groups


@dataclass(frozen=True)
class ParamSplit:
    embedding: float  # parameters, not bytes
    head: float  # 0 when tied to the embedding
    experts: float  # routed-expert tensors
    rest: float  # everything else, including what the figures do not model (biases, an MTP layer)

    @property
    def total(self) -> float:
        return self.embedding + self.head + self.experts + self.rest


_cache: dict[int, tuple[ModelSpec, ParamSplit]] = {}


def split(model: ModelSpec) -> ParamSplit:
    hit = _cache.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    embedding = head = experts = modelled = 0.0
    for g in tensor_groups(model):
        modelled += g.params
        if g.cls == "token_embd":
            embedding += g.params
        elif g.cls == "output":
            head += g.params
        elif g.expert:
            experts += g.params
    total = model.params_b * 1e9
    rest = max(0.0, total - embedding - head - experts)
    out = ParamSplit(embedding=embedding, head=head, experts=experts, rest=rest)
    if len(_cache) > 512:
        _cache.clear()
    _cache[id(model)] = (model, out)
    return out
