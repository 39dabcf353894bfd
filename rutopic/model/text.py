"""Russian text normalisation shared by training and inference.

The hot path works on whole batches joined into one string: a few regex passes over one big
string run at C speed, where the same passes per text would dominate predict time. URLs,
numbers and emoji are recognised as whole tokens by ``TOKEN_RE`` and folded per token type
(see ``rutopic.model.features``), so they cost no extra pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Joins texts of a batch; a private-use character that inputs are stripped of.
SEP = "\ue000"
URL_TOKEN = "_url_"
EMAIL_TOKEN = "_email_"
NUM_TOKEN = "_num_"

MD_LINK_RE = re.compile(r"\[([^\]\ue000\n]*)\]\((?:[^()\s\ue000]|\([^()\s\ue000]*\))*\)")
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
SPACES_RE = re.compile(r"[^\S\n]+")
NEWLINES_RE = re.compile(r" ?\n\s*")


def join_batch(texts: Iterable[str]) -> str:
    """Join texts with ``SEP`` so one regex pass serves the whole batch."""
    return SEP.join(t.replace(SEP, " ") if SEP in t else t for t in texts)


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
    """Lower-case, ё→е, markdown links to their text, e-mails folded: input of ``TOKEN_RE``."""
    s = joined.lower().replace("ё", "е")
    if "](" in s:
        s = MD_LINK_RE.sub(r"\1", s)
    return fold_emails(s)


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
    if not keep_marks and (EMOJI_RE.match(c) or c in "*`~"):
        return None
    return tok


def normalise(text: str) -> str:
    """Lower-case, ё→е, fold URLs/e-mails/numbers to tokens, strip markdown and emoji.

    Line breaks are kept (collapsed to one) because the first line is usually a headline.
    """
    tokens = TOKEN_RE.findall(prepare_joined(text.replace(SEP, " ")))
    folded = (fold_token(t) if t != "\n" else "\n" for t in tokens)
    s = " ".join(t for t in folded if t)
    return NEWLINES_RE.sub("\n", SPACES_RE.sub(" ", s)).strip()


def tokenize(text: str) -> list[str]:
    """Tokens of one text as the features see them: words, symbols and line breaks."""
    tokens = TOKEN_RE.findall(prepare_joined(text.replace(SEP, " ")))
    return [f for f in (t if t == "\n" else fold_token(t) for t in tokens) if f]
