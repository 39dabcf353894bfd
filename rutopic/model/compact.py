"""The compact inference form of a fitted ``TopicClassifier``: numpy arrays, no scikit-learn.

``rutopic predict`` must start in well under a second and importing scikit-learn alone takes
over one, so prediction runs on this form: the feature space (stems, prefixes, symbols,
vocabulary keys), idf, block weights, the linear weights (float32) and the calibration. Its
scores equal the scikit-learn pipeline's (tests check 1e-6). Stored as one ``.npz`` loaded
with ``allow_pickle=False``: loading never executes code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from rutopic.model.features import SCIPY_BATCH, FeatureSpace, count_matrix

OTHER = "other"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def select_labels(proba: np.ndarray, thresholds: np.ndarray, other: int | None) -> np.ndarray:
    """Multi-label decision as a 0/1 matrix: labels at or above their threshold, never none.

    With ``other`` in the taxonomy it is exclusive and it competes: a topic is chosen when its
    probability reaches its threshold and is not below ``other``'s; an item with no topic is
    ``other``. (On real news this cut false topics by a tenth at no cost in recall.) Without
    ``other``, an item with no label above threshold gets its single best label.
    """
    sel = (proba >= thresholds).astype(int)
    if other is not None:
        sel &= proba >= proba[:, [other]]
        sel[:, other] = 0
        none = sel.sum(1) == 0
        sel[none, other] = 1
    else:
        none = sel.sum(1) == 0
        sel[none, proba[none].argmax(1)] = 1
    return sel


def rank_labels(sel: np.ndarray, proba: np.ndarray, classes: Sequence[str],
                top_k: int | None = None) -> list[list[str]]:
    """Names of the selected labels per row, most probable first, at most ``top_k``."""
    names = np.asarray(classes, dtype=object)
    order = np.argsort(-proba, axis=1, kind="stable")
    chosen = np.take_along_axis(sel.astype(bool), order, axis=1)
    if chosen.sum(1).max(initial=0) <= 1:  # one label per row: no per-row work
        return [[c] for c in names[order[np.arange(len(order)), chosen.argmax(1)]].tolist()]
    ranked = names[order]
    return [row[mask].tolist()[:top_k] for row, mask in zip(ranked, chosen)]


def choose_labels(proba: np.ndarray, classes: Sequence[str], *, multilabel: bool,
                  thresholds: np.ndarray, top_k: int | None = None,
                  threshold: float | None = None, other_label: str = OTHER) -> list[list[str]]:
    """Labels per text from calibrated probabilities, for both modes.

    Single-label: the best label, or the ``top_k`` best; ``threshold`` drops those below it but
    never the best. Multi-label: every label at or above its threshold (``threshold`` overrides
    them all), ``other`` alone, never empty; ``top_k`` caps the count.
    """
    if multilabel:
        thr = thresholds if threshold is None else np.full(len(classes), float(threshold))
        other = list(classes).index(other_label) if other_label in classes else None
        return rank_labels(select_labels(proba, thr, other), proba, classes, top_k)
    k = top_k or 1
    sel = np.zeros_like(proba, dtype=int)
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    np.put_along_axis(sel, order, 1, axis=1)
    if threshold is not None:
        sel &= (proba >= threshold)
        sel[np.arange(len(proba)), order[:, 0]] = 1
    return rank_labels(sel, proba, classes, k)


def _add_rows(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """out[r] += sum of ``values`` whose row is r; ``rows`` must be sorted."""
    if rows.size == 0:
        return
    starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
    out[rows[starts]] += np.add.reduceat(values, starts, axis=0)


def _pack_strings(items: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def _unpack_strings(arr: np.ndarray) -> list[str]:
    return arr.tobytes().decode("utf-8").split("\n") if arr.size else []


class CompactModel:
    """Numpy-only predictor equal to a fitted ``TopicClassifier`` (see module docstring)."""

    def __init__(self, *, space: FeatureSpace, idf: np.ndarray, blocks: np.ndarray,
                 coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str],
                 multilabel: bool, temperature: float, platt: np.ndarray,
                 thresholds: np.ndarray, sublinear_tf: bool = True,
                 other_label: str = OTHER):
        self.space = space
        self.idf = np.asarray(idf, dtype=np.float64)
        self.blocks = np.asarray(blocks, dtype=np.float64).reshape(-1, 3)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = [str(c) for c in classes]
        self.multilabel = bool(multilabel)
        self.temperature = float(temperature)
        self.platt = np.asarray(platt, dtype=np.float64).reshape(-1, 2)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.sublinear_tf = bool(sublinear_tf)
        self.other_label = other_label
        self._block_of = self._column_blocks()
        self._coef64 = None
        self._names_cache: list[str] | None = None

    def _column_blocks(self) -> np.ndarray:
        block_of = np.full(len(self.idf), -1, dtype=np.int64)
        for b, (lo, hi, _) in enumerate(self.blocks):
            block_of[int(lo):int(hi)] = b
        return block_of

    # -- building and storing ---------------------------------------------------------------
    @classmethod
    def from_estimator(cls, clf) -> CompactModel:
        """Extract the arrays of a fitted ``TopicClassifier``."""
        vec = clf.pipeline_.named_steps["vectorizer"]
        weights = vec.block_weights()
        blocks = [(lo, hi, weights[name]) for name, (lo, hi) in vec.space_.block_bounds().items()
                  if hi > lo]
        return cls(space=vec.space_.fresh_copy(), idf=vec.tfidf_.idf_,
                   blocks=np.array(blocks, dtype=float), coef=clf.coef_.T, intercept=clf.intercept_,
                   classes=[str(c) for c in clf.classes_], multilabel=clf.multilabel_,
                   temperature=getattr(clf, "temperature_", 1.0),
                   platt=getattr(clf, "platt_", np.zeros((0, 2))),
                   thresholds=getattr(clf, "thresholds_", np.zeros(0)),
                   sublinear_tf=vec.sublinear_tf, other_label=clf.other_label)

    def save(self, path) -> None:
        """Write the arrays to ``path`` (an open binary file or a file name)."""
        sp = self.space
        config = {"stem": sp.stem, "prefix": sp.prefix, "bigrams": sp.bigrams,
                  "symbols": sp.symbols, "emoji": sp.emoji, "lines": sp.lines,
                  "classes": self.classes, "multilabel": self.multilabel,
                  "temperature": self.temperature, "sublinear_tf": self.sublinear_tf,
                  "other_label": self.other_label}
        np.savez(
            path,
            config=_pack_strings([json.dumps(config, ensure_ascii=False)]),
            stems=_pack_strings(sorted(sp.stems, key=sp.stems.get)),
            prefixes=_pack_strings(sorted(sp.prefixes, key=sp.prefixes.get)),
            symbols=_pack_strings(sorted(sp.symbol_ids, key=sp.symbol_ids.get)),
            vocab=sp.vocab, idf=self.idf, blocks=self.blocks, coef=self.coef,
            intercept=self.intercept, platt=self.platt, thresholds=self.thresholds,
        )

    @classmethod
    def load(cls, path) -> CompactModel:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        config = json.loads(_unpack_strings(arrays["config"])[0])
        space = FeatureSpace(stem=config["stem"], prefix=config["prefix"],
                             bigrams=config["bigrams"], symbols=config["symbols"],
                             emoji=config["emoji"], lines=config["lines"])
        for attr, key in (("stems", "stems"), ("prefixes", "prefixes"), ("symbol_ids", "symbols")):
            names = _unpack_strings(arrays[key])
            setattr(space, attr, dict(zip(names, range(len(names)))))
        space.set_vocabulary(arrays["vocab"])
        return cls(space=space, idf=arrays["idf"], blocks=arrays["blocks"], coef=arrays["coef"],
                   intercept=arrays["intercept"], classes=config["classes"],
                   multilabel=config["multilabel"],
                   temperature=config["temperature"], platt=arrays["platt"],
                   thresholds=arrays["thresholds"], sublinear_tf=config["sublinear_tf"],
                   other_label=config["other_label"])

    # -- inference --------------------------------------------------------------------------
    def _weighted_features(self, t: np.ndarray, n: int):
        """(doc, column, tf-idf value after block normalisation, CSR indptr) of a batch."""
        indptr, col, cnt = count_matrix(*self.space.features(t, n), n, len(self.idf))
        doc = np.repeat(np.arange(n), np.diff(indptr))
        val = (1.0 + np.log(cnt)) if self.sublinear_tf else cnt
        val = val * self.idf[col]
        nb = len(self.blocks)
        cell = doc * nb + self._block_of[col]
        sq = np.bincount(cell, weights=val * val, minlength=n * nb)
        val *= self.blocks[self._block_of[col], 2] / np.sqrt(sq[cell])
        return doc, col, val, indptr

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear scores (n_texts, n_classes)."""
        texts = list(texts)
        n = len(texts)
        scores = np.tile(self.intercept, (n, 1))
        if n == 0:
            return scores
        t = self.space.type_ids(texts)
        doc, col, val, indptr = self._weighted_features(t, n)
        if n >= SCIPY_BATCH:
            # scipy's C++ sparse x dense product; imported only for big batches, so a cold
            # single-text predict does not pay for the import
            import scipy.sparse as sp

            if self._coef64 is None:
                self._coef64 = self.coef.astype(np.float64)
            X = sp.csr_matrix((val, col, indptr), shape=(n, len(self.idf)))
            scores += X @ self._coef64
        else:
            _add_rows(scores, doc, self.coef[col] * val[:, None])
        return scores

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        if self.multilabel:
            return sigmoid(scores * self.platt[:, 0] + self.platt[:, 1])
        return softmax(scores / self.temperature)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, one column per label of ``classes``."""
        return self.calibrate(self.decision_function(texts))

    def predict_labels(self, texts: Sequence[str], *, top_k: int | None = None,
                       threshold: float | None = None) -> list[list[str]]:
        return self.labels_from_proba(self.predict_proba(texts), top_k=top_k, threshold=threshold)

    def labels_from_proba(self, proba: np.ndarray, *, top_k: int | None = None,
                          threshold: float | None = None) -> list[list[str]]:
        return choose_labels(proba, self.classes, multilabel=self.multilabel,
                             thresholds=self.thresholds, top_k=top_k, threshold=threshold,
                             other_label=self.other_label)

    def explain(self, texts: Sequence[str], labels: Sequence[Sequence[str]], *,
                top: int = 8) -> list[dict[str, list[tuple[str, float]]]]:
        """Per text and label: the terms that pushed the label up, as weight x tf-idf value."""
        texts = list(texts)
        doc, col, val, _ = self._weighted_features(self.space.type_ids(texts), len(texts))
        names = self._names()
        out = []
        for i, labs in enumerate(labels):
            sel = doc == i
            per_label = {}
            for lab in labs:
                contrib = self.coef[col[sel], self.classes.index(lab)] * val[sel]
                order = np.argsort(-contrib, kind="stable")[:top]
                per_label[lab] = [(names[col[sel][j]], round(float(contrib[j]), 4))
                                  for j in order if contrib[j] > 0]
            out.append(per_label)
        return out

    def _names(self) -> list[str]:
        if self._names_cache is None:
            self._names_cache = self.space.names()
        return self._names_cache
