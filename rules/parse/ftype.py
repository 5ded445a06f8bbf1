"""llama.cpp's file-type names (`llama_ftype_name`, printed in load logs as "file type"
and by llama-bench as the end of its model column: "llama 8B Q4_K - Medium") → the GGUF
quant names the catalog uses. Older builds prefix "mostly " ("llama 7B mostly Q4_0")
and printed k-quants without their size ("llama2 7B Q4_K")."""

from __future__ import annotations

import re

FTYPE_NAMES = {
    "all f32": "F32", "f32": "F32", "f16": "F16", "bf16": "BF16",
    "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0", "q5_1": "Q5_1", "q8_0": "Q8_0",
    "mxfp4 moe": "MXFP4",
    "q2_k - medium": "Q2_K", "q2_k - small": "Q2_K_S",
    "q3_k - small": "Q3_K_S", "q3_k - medium": "Q3_K_M", "q3_k - large": "Q3_K_L",
    "q4_k - small": "Q4_K_S", "q4_k - medium": "Q4_K_M",
    "q5_k - small": "Q5_K_S", "q5_k - medium": "Q5_K_M", "q6_k": "Q6_K",
    "tq1_0 - 1.69 bpw ternary": "TQ1_0", "tq2_0 - 2.06 bpw ternary": "TQ2_0",
    "iq2_xxs - 2.0625 bpw": "IQ2_XXS", "iq2_xs - 2.3125 bpw": "IQ2_XS", "iq2_s - 2.5 bpw": "IQ2_S",
    "iq2_m - 2.7 bpw": "IQ2_M", "iq3_xs - 3.3 bpw": "IQ3_XS", "iq3_xxs - 3.0625 bpw": "IQ3_XXS",
    "iq1_s - 1.5625 bpw": "IQ1_S", "iq1_m - 1.75 bpw": "IQ1_M", "iq4_nl - 4.5 bpw": "IQ4_NL",
    "iq4_xs - 4.25 bpw": "IQ4_XS", "iq3_s - 3.4375 bpw": "IQ3_S", "iq3_s mix - 3.66 bpw": "IQ3_M",
}
# the end of a llama-bench model column: one of the names above (longest first)
_FTYPE_TAIL = re.compile(
    r"(?:\(guessed\)\s*)?(?:mostly\s+)?("
    + "|".join(re.escape(n) for n in sorted(FTYPE_NAMES, key=len, reverse=True))
    + r"|q[2-6]_k)\s*$", re.IGNORECASE)


def quant_from_ftype(text: str) -> str | None:
    """"Q4_K - Medium" → "Q4_K_M"; "mostly Q4_0" → "Q4_0"; an i-quant name it does not list
    by its first word ("IQ4_XS - 4.25 bpw" → "IQ4_XS"); None when it is not a file type.
    A bare "Q4_K" (old builds) is ambiguous between S and M: None."""
    raw = re.sub(r"^\s*(?:\(guessed\)\s*)?(?:mostly\s+)?", "", text.strip(), flags=re.IGNORECASE).lower()
    if raw in FTYPE_NAMES:
        return FTYPE_NAMES[raw]
    if re.match(r"iq\d_\w+", raw):
        return raw.split()[0].upper()
    return None


def split_model_type(model_type: str) -> tuple[str, str | None, str | None]:
    """llama-bench's model column → (architecture and size words, file type text, quant).
    "qwen3moe 30B.A3B Q4_K - Medium" → ("qwen3moe 30B.A3B", "Q4_K - Medium", "Q4_K_M")."""
    m = _FTYPE_TAIL.search(model_type)
    if not m:
        return model_type.strip(), None, None
    return model_type[:m.start()].strip(), m.group(1), quant_from_ftype(m.group(0))
