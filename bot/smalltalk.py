"""Messages that are not questions: a request for help, a greeting, thanks, chatter
("lol nice"). They are answered without the model (help) or not at all, and spend
no one's model budget. English and Chinese. Only a classification: what to say lives
in rules/data/phrases.toml, where to say it in the adapters."""

from __future__ import annotations

import re

_END = r"[\s!！.。?？,，~～:)）(（😀-🙏👍👋🙂]*"
_NAME = r"(?:\s*(?:rigbot|bot|there|all|everyone|folks|guys|大家))?"

HELP = re.compile(
    r"^\s*(?:/?help(?:\s+me)?|commands|usage|what\s+(?:can|do)\s+you\s+do|what\s+are\s+you|who\s+are\s+you"
    r"|how\s+(?:do\s+i|to)\s+use\s+(?:you|this|it|rigbot)|what\s+can\s+i\s+ask(?:\s+you)?"
    r"|帮助|帮忙|怎么用|如何使用|你能做什么|你会做什么|你会什么|你能干什么|你是谁|能问什么|可以问什么)"
    + _NAME + _END + "$", re.IGNORECASE)
GREETING = re.compile(
    r"^\s*(?:hi+|hello+|hey+|hiya|yo|howdy|greetings|good\s+(?:morning|afternoon|evening)|你好|您好|嗨|哈喽|早上好|晚上好)"
    + _NAME + _END + "$", re.IGNORECASE)
THANKS = re.compile(
    r"^\s*(?:thanks?(?:\s+(?:a\s+lot|so\s+much|you|man|again))*|thank\s+you(?:\s+so\s+much)?|thx|ty|tysm|cheers"
    r"|谢谢(?:你|啦|了)?|多谢|感谢|辛苦了)" + _NAME + _END + "$", re.IGNORECASE)
_CHATTER_WORDS = {
    "lol", "lmao", "rofl", "haha", "hahaha", "hehe", "nice", "cool", "ok", "okay", "k", "kk", "great", "awesome",
    "wow", "gg", "yes", "no", "yeah", "yep", "nope", "sure", "neat", "sweet", "true", "same", "oh", "ah", "hmm",
    "interesting", "damn", "good", "perfect", "alright", "right", "got", "it", "makes", "sense", "i", "see", "xd",
    "哈哈", "哈哈哈", "好的", "好", "嗯", "行", "不错", "牛", "厉害", "明白", "懂了", "知道了", "收到", "可以",
}


def classify(text: str | None) -> str | None:
    """"help", "greeting", "thanks", "chatter", or None for anything that may be a
    question. Empty text is "help" (a bare mention)."""
    text = (text or "").strip()
    if not text:
        return "help"
    if HELP.match(text):
        return "help"
    if GREETING.match(text):
        return "greeting"
    if THANKS.match(text):
        return "thanks"
    words = re.findall(r"[a-z]+|[\u4e00-\u9fff]+", text.lower())
    if words and len(words) <= 5 and not re.search(r"[?？\d]", text) and all(w in _CHATTER_WORDS for w in words):
        return "chatter"
    if not words and not re.search(r"\d", text):  # emoji, punctuation alone
        return "chatter"
    return None


_QUESTION = re.compile(
    r"[?？]|^\s*(?:can|could|will|would|how|what|which|why|is|are|does|do|did|should|where|when|who|any|anyone"
    r"|recommend|compare|explain|tell|help|size|estimate)\b"
    r"|吗|呢|么|怎么|什么|多少|哪|能不能|可不可以|是否|为什么|如何|能跑|够不够|推荐",
    re.IGNORECASE)


def looks_like_question(text: str) -> bool:
    """Whether a message no one addressed to RigBot (in a channel where it answers every
    message) asks something: a question mark or question word, in either language."""
    return bool(_QUESTION.search(text or ""))
