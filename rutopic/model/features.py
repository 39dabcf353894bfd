"""Feature extraction: stems, stem bigrams, word prefixes, symbols and headline/footer stems.

Why a featuriser of our own rather than ``TfidfVectorizer(analyzer=...)``: predict must run
without scikit-learn (importing it alone costs over a second) and faster than fastText. So the
featuriser is numpy-only and batch-wise. A batch is joined into one string, lower-cased once and
split on whitespace in C; each distinct chunk is analysed once (tokens, stems, feature keys)
and cached as a *type*; everything after the one dict lookup per chunk is numpy. The
scikit-learn vectorizer and the compact predictor both call ``FeatureSpace.features``, so
training and inference cannot drift apart.

Vocabulary keys are int64: ``kind << 56 | value``; a bigram's value is ``stem_a << 28 | stem_b``.
Keys sort by kind first, so each feature family is a contiguous block of columns.
"""

from __future__ import annotations

import numpy as np

from rutopic.model.text import NL, SEP, chunk_tokens, join_batch, prepare_joined

KIND_SHIFT = 56
STEM_SHIFT = 28
STEM_MASK = (1 << STEM_SHIFT) - 1
VALUE_MASK = (1 << KIND_SHIFT) - 1
UNI, BI, PRE, SYM, FIRST, LAST = 1, 2, 3, 4, 5, 6
KIND_PREFIX = {UNI: "", BI: "", PRE: "pre:", SYM: "sym:", FIRST: "title:", LAST: "last:"}
#: Feature families normalised together (l2) before their block weight applies.
BLOCKS = {"words": (UNI, BI, PRE), "symbols": (SYM,), "lines": (FIRST, LAST)}
#: Above this many cached chunk types the cache is dropped, so memory stays flat on huge inputs.
MAX_CACHED_TYPES = 300_000
#: Type ids reserved for the batch separator and line breaks.
T_SEP, T_NL = 0, 1
EMPTY = np.zeros(0, dtype=np.int64)


def make_stemmers():
    """Snowball stemmers from PyStemmer (C): Russian, and English for Latin-script words."""
    import Stemmer

    return Stemmer.Stemmer("russian"), Stemmer.Stemmer("english")


class _Grow:
    """A growable int64 array (amortised doubling)."""

    def __init__(self, fill: int = 0):
        self.a = np.full(1024, fill, dtype=np.int64)
        self.n = 0
        self.fill = fill

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.int64)
        need = self.n + len(values)
        if need > len(self.a):
            bigger = np.full(max(need, 2 * len(self.a)), self.fill, dtype=np.int64)
            bigger[:self.n] = self.a[:self.n]
            self.a = bigger
        self.a[self.n:need] = values
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self.a[:self.n]


class _TypeTable(dict):
    """Chunk -> type id; a miss registers the next id and remembers the chunk."""

    def __init__(self, *args):
        super().__init__(*args)
        self.new: list[str] = []

    def __missing__(self, chunk: str) -> int:
        idx = self[chunk] = len(self)
        self.new.append(chunk)
        return idx


class IntIndex:
    """Vectorised open-addressing hash of non-negative int64 keys to their positions.

    Looking up ~100 bigrams per text in a sorted array of 10^5 keys costs a binary search
    each; this hash answers in about 1.5 vectorised probes.
    """

    MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, dtype=np.int64)
        bits = max(4, int(2 * len(keys)).bit_length())
        self.mask, self.shift = (1 << bits) - 1, np.uint64(64 - bits)
        self.keys = np.full(1 << bits, -1, dtype=np.int64)
        self.pos = np.full(1 << bits, -1, dtype=np.int64)
        slot, pending = self._hash(keys), np.arange(len(keys))
        while pending.size:
            s = slot[pending]
            free = self.keys[s] == -1
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken], self.pos[taken] = keys[winners], winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _hash(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((values.astype(np.uint64) * self.MULT) >> self.shift).astype(np.int64)

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """Position of each value among the keys, -1 where absent."""
        out = np.full(values.size, -1, dtype=np.int64)
        slot, pending = self._hash(values), np.arange(values.size)
        while pending.size:
            s = slot[pending]
            found = self.keys[s]
            hit = found == values[pending]
            out[pending[hit]] = self.pos[s[hit]]
            go_on = ~hit & (found != -1)
            pending = pending[go_on]
            slot[pending] = (s[go_on] + 1) & self.mask
        return out


def expand(ptr: np.ndarray, flat: np.ndarray, types: np.ndarray, doc: np.ndarray):
    """(doc, value) for every entry of the CSR rows ``types`` (rows of ``ptr``/``flat``)."""
    starts = ptr[types]
    counts = ptr[types + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return EMPTY, EMPTY
    before = np.cumsum(counts) - counts
    offsets = np.repeat(starts - before, counts) + np.arange(total)
    return np.repeat(doc, counts), flat[offsets]


class FeatureSpace:
    """Maps chunks to stem/prefix/symbol ids and, once a vocabulary is set, to columns.

    While not frozen (fitting) unseen stems, prefixes and symbols get new ids; once frozen they
    map to -1 and produce no features. Per distinct chunk everything is computed once.
    """

    def __init__(self, *, stem: bool = True, prefix: int = 4, bigrams: bool = True,
                 symbols: bool = True, emoji: bool = True, lines: bool = True):
        self.stem, self.prefix, self.bigrams = stem, prefix, bigrams
        self.symbols, self.emoji, self.lines = symbols, emoji, lines
        self.stems: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}
        self.symbol_ids: dict[str, int] = {}
        self.frozen = False
        self.vocab: np.ndarray | None = None
        self._stemmers = None
        self.reset_cache()

    def __getstate__(self):
        keep = ("stem", "prefix", "bigrams", "symbols", "emoji", "lines", "stems", "prefixes",
                "symbol_ids", "frozen", "vocab")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._stemmers = None
        self.set_vocabulary(self.vocab) if self.vocab is not None else self.reset_cache()

    def fresh_copy(self) -> "FeatureSpace":
        """The same (frozen) space with an empty chunk cache: a predictor should not carry the
        training texts' cache, whose size slows every lookup."""
        copy = FeatureSpace.__new__(FeatureSpace)
        copy.__setstate__(self.__getstate__())
        return copy

    # -- type cache -------------------------------------------------------------------------
    def reset_cache(self) -> None:
        """Forget cached chunks (ids stay); also done when the cache grows too large."""
        self._types = _TypeTable({SEP: T_SEP, NL: T_NL})
        self._n = 2
        self._first_stem, self._last_stem, self._has_word = _Grow(-1), _Grow(-1), _Grow(0)
        self._first_stem.extend([-1, -1])
        self._last_stem.extend([-1, -1])
        self._has_word.extend([0, 0])
        # per type CSR rows: body features (uni, pre, sym, in-chunk bigrams) and word stems
        self._body_ptr, self._body = _Grow(), _Grow()
        self._stem_ptr, self._stem_ids = _Grow(), _Grow()
        # columns of the FIRST / LAST keys of each word stem (set once a vocabulary exists)
        self._first_cols, self._last_cols = _Grow(-1), _Grow(-1)
        self._body_ptr.extend([0, 0, 0])
        self._stem_ptr.extend([0, 0, 0])

    def _stem_map(self, words: set[str]) -> dict[str, str]:
        if not self.stem:
            return {w: w for w in words}
        if self._stemmers is None:
            self._stemmers = make_stemmers()
        ru, en = self._stemmers
        cyr = [w for w in words if not w.isascii()]
        lat = [w for w in words if w.isascii() and w[0] != "_"]
        out = {w: w for w in words if w[0] == "_"}
        out.update(zip(cyr, ru.stemWords(cyr)))
        out.update(zip(lat, en.stemWords(lat)))
        return out

    def _add_types(self, chunks: list[str]) -> None:
        """Describe newly registered chunks: tokens, stems and their feature keys/columns."""
        keep = self.emoji
        tokens = [[c] if c.isalpha() else chunk_tokens(c, keep_marks=keep) for c in chunks]
        stemmed = self._stem_map({t for toks in tokens for t in toks if t[0].isalnum() or
                                  t[0] == "_"})
        frozen, prefix = self.frozen, self.prefix
        stems, prefixes, symbols = self.stems, self.prefixes, self.symbol_ids
        uni, pre, sym, bi = UNI << KIND_SHIFT, PRE << KIND_SHIFT, SYM << KIND_SHIFT, BI << KIND_SHIFT
        body, body_len, stem_rows, stem_len = [], [], [], []
        first, last, has = [], [], []
        for toks in tokens:
            sids, keys = [], []
            for tok in toks:
                if tok[0].isalnum() or tok[0] == "_":
                    st = stemmed[tok]
                    sid = stems.get(st, -1) if frozen else stems.setdefault(st, len(stems))
                    sids.append(sid)
                    if sid >= 0:
                        keys.append(uni | sid)
                    if prefix and tok[0] != "_":
                        p = tok[:prefix]
                        pid = prefixes.get(p, -1) if frozen else prefixes.setdefault(p, len(prefixes))
                        if pid >= 0:
                            keys.append(pre | pid)
                elif self.symbols:
                    yid = symbols.get(tok, -1) if frozen else symbols.setdefault(tok, len(symbols))
                    if yid >= 0:
                        keys.append(sym | yid)
            if self.bigrams and len(sids) > 1:
                keys.extend(bi | (a << STEM_SHIFT) | b for a, b in zip(sids, sids[1:])
                            if a >= 0 and b >= 0)
            body.extend(keys)
            body_len.append(len(keys))
            stem_rows.extend(sids)
            stem_len.append(len(sids))
            if sids:
                first.append(sids[0])
                last.append(sids[-1])
                has.append(1)
            else:
                first.append(-1)
                last.append(-1)
                has.append(0)
        body_arr = np.array(body, dtype=np.int64)
        if self.vocab is not None:
            body_arr = self._columns(body_arr)
        self._body.extend(body_arr)
        self._body_ptr.extend(self._body_ptr.view[-1] + np.cumsum(body_len))
        self._stem_ids.extend(stem_rows)
        self._stem_ptr.extend(self._stem_ptr.view[-1] + np.cumsum(stem_len))
        if self.vocab is not None and self.lines:
            self._add_line_columns(np.array(stem_rows, dtype=np.int64))
        self._first_stem.extend(first)
        self._last_stem.extend(last)
        self._has_word.extend(has)
        self._n += len(chunks)

    def _add_line_columns(self, stems: np.ndarray) -> None:
        ok = stems >= 0
        for kind, arr in ((FIRST, self._first_cols), (LAST, self._last_cols)):
            arr.extend(np.where(ok, self._columns((kind << KIND_SHIFT) | np.maximum(stems, 0)), -1))

    def type_ids(self, texts: list[str]) -> np.ndarray:
        """Type ids of every chunk of a batch, with ``T_SEP`` between texts."""
        chunks = prepare_joined(join_batch(texts)).split()
        if self._n > MAX_CACHED_TYPES:
            self.reset_cache()
        types = self._types
        # C-level loop; unseen chunks get provisional ids from _TypeTable.__missing__
        ids = np.fromiter(map(types.__getitem__, chunks), dtype=np.int64, count=len(chunks))
        if types.new:
            new, types.new = types.new, []
            self._add_types(new)
        return ids

    # -- vocabulary -------------------------------------------------------------------------
    def set_vocabulary(self, vocab: np.ndarray) -> None:
        """Freeze the space on sorted vocabulary keys; columns are positions in ``vocab``."""
        self._freeze(vocab)
        self.reset_cache()

    def _freeze(self, vocab: np.ndarray) -> None:
        self.vocab = np.asarray(vocab, dtype=np.int64)
        self.frozen = True
        kinds = self.vocab >> KIND_SHIFT
        lo, hi = np.searchsorted(kinds, BI), np.searchsorted(kinds, BI, side="right")
        self._bi_lo, self._bigrams = int(lo), IntIndex(self.vocab[lo:hi] & VALUE_MASK)

    def _columns(self, keys: np.ndarray) -> np.ndarray:
        """Column of each key in the vocabulary, -1 where absent."""
        if len(self.vocab) == 0 or keys.size == 0:
            return np.full(keys.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.vocab, keys)
        pos[pos >= len(self.vocab)] = 0
        return np.where(self.vocab[pos] == keys, pos, -1)

    # -- extraction -------------------------------------------------------------------------
    def _positions(self, t: np.ndarray, n_docs: int):
        """Per chunk: document index, and first-line / last-line flags (None without lines).

        A line break counts once, and only between content of the same text, so blank lines
        and leading or trailing breaks do not shift the first and last line.
        """
        is_sep = t == T_SEP
        doc = np.cumsum(is_sep)
        if not self.lines:
            return doc, None, None
        nl = t == T_NL
        content = ~nl & ~is_sep
        per_doc = np.bincount(doc, weights=content, minlength=n_docs)
        start = np.cumsum(per_doc) - per_doc
        seen = np.cumsum(content) - start[doc]
        prev_nl = np.concatenate([[False], nl[:-1]])
        brk = nl & ~prev_nl & (seen > 0) & (seen < per_doc[doc])
        breaks_per_doc = np.bincount(doc, weights=brk, minlength=n_docs).astype(np.int64)
        line = np.cumsum(brk) - (np.cumsum(breaks_per_doc) - breaks_per_doc)[doc]
        first = content & (line == 0)
        last = content & (breaks_per_doc[doc] > 0) & (line == breaks_per_doc[doc])
        return doc, first, last

    def _bigram_pairs(self, t: np.ndarray, doc: np.ndarray):
        """(doc, value) of bigrams across chunks: last word of one, first word of the next."""
        pos = np.flatnonzero(self._has_word.view[t])
        a, b = pos[:-1], pos[1:]
        same = doc[a] == doc[b]
        a, b = a[same], b[same]
        sa, sb = self._last_stem.view[t[a]], self._first_stem.view[t[b]]
        ok = (sa >= 0) & (sb >= 0)
        return doc[a][ok], (sa[ok] << STEM_SHIFT) | sb[ok]

    def _line_stems(self, t, doc, mask):
        d, s = expand(self._stem_ptr.view, self._stem_ids.view, t[mask], doc[mask])
        return d[s >= 0], s[s >= 0]

    def keys(self, t: np.ndarray, n_docs: int):
        """``(doc, key)`` of every feature occurrence in type ids ``t``, to fit a vocabulary."""
        doc, first, last = self._positions(t, n_docs)
        docs, keys = [], []
        d, k = expand(self._body_ptr.view, self._body.view, t, doc)
        docs.append(d)
        keys.append(k)
        if self.lines:
            for mask, kind in ((first, FIRST), (last, LAST)):
                d, s = self._line_stems(t, doc, mask)
                docs.append(d)
                keys.append((kind << KIND_SHIFT) | s)
        if self.bigrams:
            d, v = self._bigram_pairs(t, doc)
            docs.append(d)
            keys.append((BI << KIND_SHIFT) | v)
        return np.concatenate(docs), np.concatenate(keys)

    def features(self, t: np.ndarray, n_docs: int):
        """``(doc, column)`` of every feature occurrence in type ids ``t`` (vocabulary set)."""
        doc, first, last = self._positions(t, n_docs)
        docs, cols = [], []
        d, c = expand(self._body_ptr.view, self._body.view, t, doc)
        docs.append(d)
        cols.append(c)
        if self.lines:
            for mask, arr in ((first, self._first_cols), (last, self._last_cols)):
                d, c = expand(self._stem_ptr.view, arr.view, t[mask], doc[mask])
                docs.append(d)
                cols.append(c)
        if self.bigrams:
            d, v = self._bigram_pairs(t, doc)
            pos = self._bigrams.lookup(v)
            ok = pos >= 0
            docs.append(d[ok])
            cols.append(pos[ok] + self._bi_lo)
        col = np.concatenate(cols)
        keep = col >= 0
        return np.concatenate(docs)[keep], col[keep]

    # -- fitting helpers --------------------------------------------------------------------
    def prune(self, vocab: np.ndarray) -> np.ndarray:
        """Keep only the stems/prefixes/symbols that vocabulary keys use; re-key and freeze.

        The cached chunks are re-keyed too (not dropped), so transforming the training texts
        right after fitting costs no second analysis. Returns the re-keyed sorted vocabulary.
        """
        kind, value = vocab >> KIND_SHIFT, vocab & VALUE_MASK
        bi = kind == BI
        stem_kinds = np.isin(kind, [UNI, FIRST, LAST])
        used = np.unique(np.concatenate([value[stem_kinds], value[bi] >> STEM_SHIFT,
                                         value[bi] & STEM_MASK]))
        self.stems, stem_map = _subset(self.stems, used)
        self.prefixes, pre_map = _subset(self.prefixes, np.unique(value[kind == PRE]))
        self.symbol_ids, sym_map = _subset(self.symbol_ids, np.unique(value[kind == SYM]))
        maps = {UNI: stem_map, FIRST: stem_map, LAST: stem_map, PRE: pre_map, SYM: sym_map}
        keys = np.sort(_rekey(vocab, maps, stem_map))
        self._freeze(keys)
        body = self._body.view
        self._body.a[:body.size] = self._columns(_rekey(body, maps, stem_map))
        for arr in (self._stem_ids, self._first_stem, self._last_stem):
            v = arr.view
            arr.a[:v.size] = np.where(v >= 0, stem_map[np.maximum(v, 0)], -1)
        if self.lines:
            self._add_line_columns(self._stem_ids.view)
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


def _rekey(keys: np.ndarray, maps: dict, stem_map: np.ndarray) -> np.ndarray:
    """Keys with their ids mapped to new ones; -1 where a part was dropped."""
    kind, value = keys >> KIND_SHIFT, keys & VALUE_MASK
    new = np.full(keys.shape, -1, dtype=np.int64)
    for k, mapping in maps.items():
        sel = kind == k
        new[sel] = mapping[value[sel]]
    sel = kind == BI
    hi, lo = stem_map[value[sel] >> STEM_SHIFT], stem_map[value[sel] & STEM_MASK]
    new[sel] = np.where((hi >= 0) & (lo >= 0), (hi << STEM_SHIFT) | lo, -1)
    return np.where(new >= 0, (kind << KIND_SHIFT) | new, -1)


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


#: From this many texts per call, counting and scoring use scipy.sparse (C++; its import costs
#: ~0.2 s, which a single-text predict should not pay).
SCIPY_BATCH = 256


def count_matrix(doc: np.ndarray, col: np.ndarray, n_docs: int, n_cols: int):
    """CSR parts (indptr, indices sorted per row, counts) of the document x column counts."""
    if n_docs >= SCIPY_BATCH:
        import scipy.sparse as sp

        m = sp.csr_matrix((np.ones(col.size), (doc, col)), shape=(n_docs, n_cols))
        m.sum_duplicates()
        return m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data
    width = max(n_cols, 1)
    flat = doc * width + col
    flat.sort()
    if flat.size:
        starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
        counts = np.diff(np.append(starts, flat.size)).astype(np.float64)
        uniq = flat[starts]
    else:
        uniq, counts = flat, np.zeros(0)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(uniq // width, minlength=n_docs), out=indptr[1:])
    return indptr, uniq % width, counts
