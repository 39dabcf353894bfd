"""Russian text normalisation shared by training and inference.

The hot path works on whole batches joined into one string: lower-casing and the markdown pass
run once over the batch, then ``str.split`` cuts it into whitespace chunks at C speed. Each
distinct chunk ("Москве,", "https://t.me/x", "12,5%") is analysed once by ``chunk_tokens`` —
regex tokens, URLs/e-mails/numbers folded, emoji and markup dropped — and cached by the feature
space, so the per-token regex work is paid once per distinct chunk, not once per occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Joins texts of a batch, and stands for a line break: private-use characters that inputs
#: are stripped of.
SEP = "\ue000"
NL = "\ue001"
URL_TOKEN = "_url_"
EMAIL_TOKEN = "_email_"
NUM_TOKEN = "_num_"

#: The target part of a markdown link, "](https://...)"; its text stays, brackets are markup.
MD_TARGET_RE = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*\)")
EMAIL_DOMAIN_RE = re.compile(r"@[\w-]+(?:\.[\w-]+)+")
EMAIL_LOCAL_RE = re.compile(r"[\w.+-]+\Z")
#: URLs, numbers, words, single symbols and line breaks, in that order of preference.
TOKEN_RE = re.compile(
    r"https?://[^\s\ue000]+|www\.[^\s\ue000]+|t\.me/[^\s\ue000]+|\d[\d.,:]*|\w+|[^\w\s]|\n"
)
EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U00002B00-\U00002BFF\U00002300-\U000023FF"
    "\U0000FE00-\U0000FE0F\U0000200B-\U0000200F\U00002060\U000020E3\U000E0020-\U000E007F"
    "\U000000AD]"
)


def _clean(text: str) -> str:
    return text.replace(SEP, " ").replace(NL, " ")


def join_batch(texts: Iterable[str]) -> str:
    """Join texts with a free-standing ``SEP`` chunk so one pass serves the whole batch."""
    return f" {SEP} ".join(_clean(t) if SEP in t or NL in t else t for t in texts)


def fold_emails(s: str) -> str:
    """Replace e-mail addresses with ``EMAIL_TOKEN``; scans only around '@' signs."""
    if "@" not in s:
        return s
    out, last = [], 0
    for m in EMAIL_DOMAIN_RE.finditer(s):
        local = EMAIL_LOCAL_RE.search(s, max(last, m.start() - 64), m.start())
        if local is None:
            continue
        out.append(s[last:local.start()])
        out.append(f" {EMAIL_TOKEN} ")
        last = m.end()
    out.append(s[last:])
    return "".join(out)


def prepare_joined(joined: str) -> str:
    """Lower-case, ё→е, line breaks as free ``NL`` chunks: ready for ``str.split``."""
    return joined.lower().replace("ё", "е").replace("\n", f" {NL} ")


def chunk_tokens(chunk: str, *, keep_marks: bool = False) -> list[str]:
    """Folded tokens of one whitespace chunk (see ``fold_token``); a markdown link keeps its
    text only."""
    if "](" in chunk:
        chunk = MD_TARGET_RE.sub(" ", chunk)
    if "@" in chunk:
        chunk = fold_emails(chunk)
    return [f for f in (fold_token(t, keep_marks=keep_marks) for t in TOKEN_RE.findall(chunk)) if f]


def fold_token(tok: str, *, keep_marks: bool = False) -> str | None:
    """The normal form of one token: URL/number tokens folded; emoji and markdown marks dropped
    (None) unless ``keep_marks``, where they stay as symbols for the symbol features."""
    c = tok[0]
    if c.isdigit():
        return NUM_TOKEN
    if c == "h" and tok.startswith(("http://", "https://")) or tok.startswith(("www.", "t.me/")):
        return URL_TOKEN
    if c.isalnum() or c == "_":
        if tok in (EMAIL_TOKEN, URL_TOKEN, NUM_TOKEN):
            return tok
        stripped = tok.strip("_")
        return stripped or None
    if c in "[]" or not keep_marks and (EMOJI_RE.match(c) or c in "*`~"):
        return None
    return tok


def normalise(text: str) -> str:
    """Lower-case, ё→е, fold URLs/e-mails/numbers to tokens, strip markdown and emoji.

    Line breaks are kept (collapsed to one) because the first line is usually a headline.
    """
    return " ".join(tokenize(text)).replace(" \n ", "\n").replace("\n ", "\n").replace(
        " \n", "\n").strip("\n ")


def tokenize(text: str) -> list[str]:
    """Tokens of one text as the features see them: words, symbols and single line breaks."""
    out: list[str] = []
    for chunk in prepare_joined(_clean(text)).split():
        if chunk == NL:
            if out and out[-1] != "\n":
                out.append("\n")
        else:
            out.extend(chunk_tokens(chunk))
    while out and out[-1] == "\n":
        out.pop()
    return out
