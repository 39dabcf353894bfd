"""Feature extraction: stems, stem bigrams, word prefixes, symbols and headline/footer stems.

Why a featuriser of our own rather than ``TfidfVectorizer(analyzer=...)``: predict must run
without scikit-learn (importing it alone costs over a second) and faster than fastText. So the
featuriser is numpy-only and batch-wise: one regex pass over a whole batch, one dict lookup per
token (surface form -> cached type), and everything after that in numpy. The scikit-learn
transformer and the compact predictor both call ``FeatureSpace.features``, so training and
inference cannot drift apart.

Vocabulary keys are int64: ``kind << 56 | value``; a bigram's value is ``stem_a << 28 | stem_b``.
Keys sort by kind first, so each feature family is a contiguous block of columns.
"""

from __future__ import annotations

import numpy as np

from rutopic.model.text import SEP, TOKEN_RE, fold_token, join_batch, prepare_joined

KIND_SHIFT = 56
STEM_SHIFT = 28
STEM_MASK = (1 << STEM_SHIFT) - 1
VALUE_MASK = (1 << KIND_SHIFT) - 1
UNI, BI, PRE, SYM, FIRST, LAST = 1, 2, 3, 4, 5, 6
KIND_PREFIX = {UNI: "", BI: "", PRE: "pre:", SYM: "sym:", FIRST: "title:", LAST: "last:"}
#: Feature families normalised together (l2) before their block weight applies.
BLOCKS = {"words": (UNI, BI, PRE), "symbols": (SYM,), "lines": (FIRST, LAST)}
#: Above this many cached surface forms the cache is dropped, so memory stays flat on huge inputs.
MAX_CACHED_TYPES = 300_000
#: Type ids reserved for the batch separator and line breaks.
T_SEP, T_NL = 0, 1
PER_TYPE = ("stem", "pre", "sym", "char", "f_uni", "f_pre", "f_sym", "f_first", "f_last")


def make_stemmers():
    """Snowball stemmers from PyStemmer (C): Russian, and English for Latin-script words."""
    import Stemmer

    return Stemmer.Stemmer("russian"), Stemmer.Stemmer("english")


def char_ngrams(word: str, lo: int, hi: int) -> list[str]:
    """Character n-grams of `` word `` (padded with spaces), as scikit-learn's ``char_wb``."""
    w = f" {word} "
    out = []
    for n in range(lo, hi + 1):
        if len(w) <= n:
            out.append(w)
            continue
        out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


class FeatureSpace:
    """Maps surface tokens to stem/prefix/symbol ids and, once a vocabulary is set, to columns.

    While not frozen (fitting) unseen stems, prefixes and symbols get new ids; once frozen they
    map to -1 and produce no features. Per surface form everything is computed once and cached.
    """

    def __init__(self, *, stem: bool = True, prefix: int = 4, bigrams: bool = True,
                 symbols: bool = True, emoji: bool = True, lines: bool = True,
                 chars: tuple[int, int] | None = (2, 5)):
        self.stem, self.prefix, self.bigrams = stem, prefix, bigrams
        self.symbols, self.emoji, self.lines = symbols, emoji, lines
        self.chars = tuple(chars) if chars else None
        #: Word -> row of the char-n-gram matrix, for the words that have one (set after fit).
        self.char_rows: dict[str, int] | None = None
        self.stems: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}
        self.symbol_ids: dict[str, int] = {}
        self.frozen = False
        self.vocab: np.ndarray | None = None
        self._stemmers = None
        self.reset_cache()

    def __getstate__(self):
        keep = ("stem", "prefix", "bigrams", "symbols", "emoji", "lines", "chars", "stems",
                "prefixes", "symbol_ids", "frozen", "vocab", "char_rows")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._stemmers = None
        self.set_vocabulary(self.vocab) if self.vocab is not None else self.reset_cache()

    # -- type cache -------------------------------------------------------------------------
    def reset_cache(self) -> None:
        """Forget cached surface forms (ids stay); also done when the cache grows too large."""
        self._types = _TypeTable({SEP: T_SEP, "\n": T_NL})
        self._words: list[str | None] = [None, None]
        self._n = 2
        self._t = {name: np.full(1024, -1, dtype=np.int64) for name in PER_TYPE}
        self._t_word = np.zeros(1024, dtype=bool)

    def _grow(self, need: int) -> None:
        size = len(self._t_word)
        if need <= size:
            return
        new = max(need, 2 * size)
        for name, arr in self._t.items():
            self._t[name] = np.concatenate([arr, np.full(new - size, -1, dtype=np.int64)])
        self._t_word = np.concatenate([self._t_word, np.zeros(new - size, dtype=bool)])

    def _id(self, table: dict, key: str) -> int:
        idx = table.get(key)
        if idx is None:
            if self.frozen:
                return -1
            idx = table[key] = len(table)
        return idx

    def _add_types(self, tokens: list[str]) -> None:
        """Describe newly registered surface forms: fold, stem (one call per script), columns."""
        if self._stemmers is None:
            self._stemmers = make_stemmers()
        folded = [fold_token(t, keep_marks=self.emoji) for t in tokens]
        words = {f for f in folded if f and (f[0].isalnum() or f[0] == "_")}
        stemmed = {w: w for w in words}
        if self.stem:
            ru, en = self._stemmers
            special = [w for w in words if w[0] == "_"]
            cyr = [w for w in words if not w.isascii()]
            lat = [w for w in words if w.isascii() and w[0] != "_"]
            stemmed.update(zip(cyr, ru.stemWords(cyr)))
            stemmed.update(zip(lat, en.stemWords(lat)))
            stemmed.update((w, w) for w in special)
        start = self._n  # _TypeTable gave these tokens the ids start, start + 1, ...
        self._grow(start + len(tokens))
        stem_a, pre_a, sym_a, char_a = (self._t[k] for k in ("stem", "pre", "sym", "char"))
        char_get = self.char_rows.get if self.char_rows is not None else None
        for i, (tok, f) in enumerate(zip(tokens, folded), start):
            self._words.append(f if f in stemmed else None)
            if f is None:
                continue
            if f in stemmed:
                self._t_word[i] = True
                stem_a[i] = self._id(self.stems, stemmed[f])
                if self.prefix and f[0] != "_":
                    pre_a[i] = self._id(self.prefixes, f[: self.prefix])
                if char_get is not None:
                    char_a[i] = char_get(f, -1)
            elif self.symbols:
                sym_a[i] = self._id(self.symbol_ids, f)
        self._n = start + len(tokens)
        if self.vocab is not None:
            self._map_columns(start, self._n)

    def type_ids(self, texts: list[str]) -> np.ndarray:
        """Type ids of every token of a batch, with ``T_SEP`` between texts."""
        tokens = TOKEN_RE.findall(prepare_joined(join_batch(texts)))
        if self._n > MAX_CACHED_TYPES:
            self.reset_cache()
            if self.vocab is not None:
                self._map_columns(2, 2)
        types = self._types
        # C-level loop; unseen tokens get provisional ids from _TypeTable.__missing__
        ids = np.fromiter(map(types.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        if types.new:
            self._add_types(types.new)
            types.new = []
        return ids

    # -- vocabulary -------------------------------------------------------------------------
    def set_vocabulary(self, vocab: np.ndarray) -> None:
        """Freeze the space on sorted vocabulary keys; columns are positions in ``vocab``."""
        self.vocab = np.asarray(vocab, dtype=np.int64)
        self.frozen = True
        kinds = self.vocab >> KIND_SHIFT
        lo, hi = np.searchsorted(kinds, BI), np.searchsorted(kinds, BI, side="right")
        self._bi_lo, self._bi_keys = lo, self.vocab[lo:hi] & VALUE_MASK
        self.reset_cache()

    def _column(self, kind: int, values: np.ndarray) -> np.ndarray:
        keys = (kind << KIND_SHIFT) | values
        pos = np.searchsorted(self.vocab, keys)
        pos[pos >= len(self.vocab)] = 0
        ok = (values >= 0) & (self.vocab[pos] == keys) if len(self.vocab) else values < -1
        return np.where(ok, pos, -1)

    def _map_columns(self, start: int, stop: int) -> None:
        t = self._t
        sl = slice(start, stop)
        t["f_uni"][sl] = self._column(UNI, t["stem"][sl])
        t["f_pre"][sl] = self._column(PRE, t["pre"][sl])
        t["f_sym"][sl] = self._column(SYM, t["sym"][sl])
        t["f_first"][sl] = self._column(FIRST, t["stem"][sl])
        t["f_last"][sl] = self._column(LAST, t["stem"][sl])

    # -- extraction -------------------------------------------------------------------------
    def _positions(self, t: np.ndarray, n_docs: int):
        """Per token: document index, word flag, and first-line / last-line flags.

        A line break counts once, and only between content of the same text, so blank lines
        and leading or trailing breaks do not shift the first and last line.
        """
        is_sep = t == T_SEP
        doc = np.cumsum(is_sep)
        word = self._t_word[t]
        if not self.lines:
            return doc, word, None, None
        nl = t == T_NL
        content = ~nl & ~is_sep
        per_doc = np.bincount(doc, weights=content, minlength=n_docs)
        start = np.cumsum(per_doc) - per_doc
        seen = np.cumsum(content) - start[doc]
        prev_nl = np.concatenate([[False], nl[:-1]])
        brk = nl & ~prev_nl & (seen > 0) & (seen < per_doc[doc])
        line = np.cumsum(brk)
        line -= (np.cumsum(np.bincount(doc, weights=brk, minlength=n_docs)) -
                 np.bincount(doc, weights=brk, minlength=n_docs)).astype(np.int64)[doc]
        n_breaks = np.bincount(doc, weights=brk, minlength=n_docs).astype(np.int64)
        first = word & (line == 0)
        last = word & (n_breaks[doc] > 0) & (line == n_breaks[doc])
        return doc, word, first, last

    def _bigram_values(self, t: np.ndarray, doc: np.ndarray, word: np.ndarray):
        pos = np.flatnonzero(word)
        a, b = pos[:-1], pos[1:]
        same = doc[a] == doc[b]
        a, b = a[same], b[same]
        sa, sb = self._t["stem"][t[a]], self._t["stem"][t[b]]
        ok = (sa >= 0) & (sb >= 0)
        return doc[a][ok], (sa[ok] << STEM_SHIFT) | sb[ok]

    def keys(self, t: np.ndarray, n_docs: int):
        """``(doc, key)`` of every feature occurrence in type ids ``t``, to fit a vocabulary."""
        doc, word, first, last = self._positions(t, n_docs)
        stem = self._t["stem"][t]
        docs, keys = [], []

        def add(mask, values, kind):
            sel = mask & (values >= 0)
            docs.append(doc[sel])
            keys.append((kind << KIND_SHIFT) | values[sel])

        add(word, stem, UNI)
        if self.prefix:
            add(word, self._t["pre"][t], PRE)
        if self.symbols:
            add(~word, self._t["sym"][t], SYM)
        if self.lines:
            add(first, stem, FIRST)
            add(last, stem, LAST)
        if self.bigrams:
            d, v = self._bigram_values(t, doc, word)
            docs.append(d)
            keys.append((BI << KIND_SHIFT) | v)
        return np.concatenate(docs), np.concatenate(keys)

    def features(self, t: np.ndarray, n_docs: int):
        """``(doc, column)`` of every feature occurrence in type ids ``t`` (per-type cache)."""
        doc, word, first, last = self._positions(t, n_docs)
        cols = [self._t["f_uni"][t], self._t["f_pre"][t], self._t["f_sym"][t]]
        docs = [doc, doc, doc]
        if self.lines:
            cols += [self._t["f_first"][t][first], self._t["f_last"][t][last]]
            docs += [doc[first], doc[last]]
        if self.bigrams and len(self._bi_keys):
            d, v = self._bigram_values(t, doc, word)
            pos = np.searchsorted(self._bi_keys, v)
            pos[pos >= len(self._bi_keys)] = 0
            ok = self._bi_keys[pos] == v
            cols.append(pos[ok] + self._bi_lo)
            docs.append(d[ok])
        col = np.concatenate(cols)
        keep = col >= 0
        return np.concatenate(docs)[keep], col[keep]

    # -- word-level character n-grams -------------------------------------------------------
    def _word_pairs(self, t: np.ndarray, values: np.ndarray):
        """Unique (doc, value) pairs over word tokens with value >= 0, and their counts."""
        doc = np.cumsum(t == T_SEP)
        sel = self._t_word[t] & (values >= 0)
        cap = int(values.max()) + 1 if values.size else 1
        flat = doc[sel] * cap + values[sel]
        flat.sort()
        if flat.size == 0:
            return flat, flat, np.zeros(0)
        starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
        counts = np.diff(np.append(starts, flat.size)).astype(np.float64)
        return flat[starts] // cap, flat[starts] % cap, counts

    def word_doc_frequencies(self, t: np.ndarray) -> dict[str, int]:
        """How many texts of the batch contain each (folded) word."""
        _, types, _ = self._word_pairs(t, t)
        uniq, df = np.unique(types, return_counts=True)
        return {self._words[i]: int(c) for i, c in zip(uniq.tolist(), df.tolist())}

    def set_char_rows(self, rows: dict[str, int]) -> None:
        self.char_rows = rows
        self.reset_cache()

    def char_pairs(self, t: np.ndarray):
        """(doc, char-matrix row, count) for the words of a batch that have a char row."""
        return self._word_pairs(t, self._t["char"][t])

    # -- fitting helpers --------------------------------------------------------------------
    def prune(self, vocab: np.ndarray) -> np.ndarray:
        """Keep only the stems/prefixes/symbols that vocabulary keys use; re-key and freeze.

        Returns the re-keyed vocabulary, sorted, and sets it as this space's vocabulary.
        """
        kind, value = vocab >> KIND_SHIFT, vocab & VALUE_MASK
        bi = kind == BI
        stem_kinds = np.isin(kind, [UNI, FIRST, LAST])
        used = np.unique(np.concatenate([value[stem_kinds], value[bi] >> STEM_SHIFT,
                                         value[bi] & STEM_MASK]))
        self.stems, stem_map = _subset(self.stems, used)
        self.prefixes, pre_map = _subset(self.prefixes, np.unique(value[kind == PRE]))
        self.symbol_ids, sym_map = _subset(self.symbol_ids, np.unique(value[kind == SYM]))
        new = value.copy()
        new[stem_kinds] = stem_map[value[stem_kinds]]
        new[kind == PRE] = pre_map[value[kind == PRE]]
        new[kind == SYM] = sym_map[value[kind == SYM]]
        new[bi] = (stem_map[value[bi] >> STEM_SHIFT] << STEM_SHIFT) | stem_map[value[bi] & STEM_MASK]
        keys = np.sort((kind << KIND_SHIFT) | new)
        self.set_vocabulary(keys)
        return keys

    def block_bounds(self) -> dict[str, tuple[int, int]]:
        """Column range of each block of ``BLOCKS`` (empty ranges included)."""
        kinds = self.vocab >> KIND_SHIFT
        out = {}
        for name, members in BLOCKS.items():
            lo = int(np.searchsorted(kinds, min(members)))
            hi = int(np.searchsorted(kinds, max(members), side="right"))
            out[name] = (lo, hi)
        return out

    def names(self) -> list[str]:
        """Readable names of all columns, for explanations and ``get_feature_names_out``."""
        stems, pres, syms = _invert(self.stems), _invert(self.prefixes), _invert(self.symbol_ids)
        out = []
        for key in self.vocab.tolist():
            kind, value = key >> KIND_SHIFT, key & VALUE_MASK
            if kind == BI:
                out.append(f"{stems[value >> STEM_SHIFT]} {stems[value & STEM_MASK]}")
            elif kind == PRE:
                out.append("pre:" + pres[value])
            elif kind == SYM:
                out.append("sym:" + syms[value])
            else:
                out.append(KIND_PREFIX[kind] + stems[value])
        return out


class _TypeTable(dict):
    """Surface form -> type id; a miss registers the next id and remembers the form."""

    def __init__(self, *args):
        super().__init__(*args)
        self.new: list[str] = []

    def __missing__(self, token: str) -> int:
        idx = self[token] = len(self)
        self.new.append(token)
        return idx


def _subset(table: dict, used: np.ndarray) -> tuple[dict, np.ndarray]:
    """Keep the entries of ``table`` whose ids are in ``used``; map old ids to new ones."""
    names = _invert(table)
    mapping = np.full(len(table) + 1, -1, dtype=np.int64)
    mapping[used] = np.arange(len(used))
    return {names[i]: j for j, i in enumerate(used.tolist())}, mapping


def _invert(table: dict) -> list[str]:
    out = [""] * len(table)
    for name, idx in table.items():
        out[idx] = name
    return out


def doc_frequencies(doc: np.ndarray, keys: np.ndarray):
    """Unique keys of a batch and how many of its documents contain each."""
    if keys.size == 0:
        return keys, np.zeros(0, np.int64)
    order = np.lexsort((keys, doc))
    k, d = keys[order], doc[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = (k[1:] != k[:-1]) | (d[1:] != d[:-1])
    return np.unique(k[first], return_counts=True)


def select_vocabulary(keys: np.ndarray, df: np.ndarray, n_docs: int, *, min_df: int,
                      max_df: float | int, max_features: int | None) -> np.ndarray:
    """Sorted vocabulary keys from unique ``keys`` and their document frequencies ``df``.

    Keeps df within [min_df, max_df] (a float max_df is a share of documents); when
    ``max_features`` caps it the most frequent win, ties broken by key so the result is stable.
    """
    limit = max_df * n_docs if isinstance(max_df, float) else max_df
    keep = (df >= min_df) & (df <= limit)
    keys, df = keys[keep], df[keep]
    if max_features is not None and len(keys) > max_features:
        order = np.lexsort((keys, -df))[:max_features]
        keys = np.sort(keys[order])
    return keys


def count_matrix(doc: np.ndarray, col: np.ndarray, n_docs: int, n_cols: int):
    """CSR parts (indptr, indices, counts) of the document x column count matrix."""
    flat = doc * max(n_cols, 1) + col
    flat.sort()
    if flat.size:
        starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
        counts = np.diff(np.append(starts, flat.size)).astype(np.float64)
        uniq = flat[starts]
    else:
        uniq, counts = flat, np.zeros(0)
    rows = uniq // max(n_cols, 1)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    return indptr, uniq % max(n_cols, 1), counts
