"""``TopicClassifier``: TF-IDF over Russian stems and friends, a linear SVM, calibrated scores.

Follows scikit-learn's estimator contract so it works in ``cross_val_score``, ``GridSearchCV``
and ``clone``. The mode is picked from ``y``: one label per item -> single-label (softmax over
classes, one label out); any item with several labels, or a 2-D indicator ``y`` -> multi-label
(one calibrated probability per label, every label above its threshold out).
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from rutopic.model.compact import OTHER, choose_labels, select_labels, sigmoid, softmax
from rutopic.model.features import (
    FeatureSpace,
    count_matrix,
    doc_frequencies,
    select_vocabulary,
)

#: Texts featurised per call: bounds the memory of key arrays on large corpora.
CHUNK = 8192


def as_texts(X) -> list[str]:
    """Texts as a list of str; a 2-D single column (DataFrame, array) is accepted too."""
    if hasattr(X, "ndim") and getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1:
            raise ValueError(f"expected a 1-D sequence of texts, got shape {X.shape}")
        X = X.iloc[:, 0] if hasattr(X, "iloc") else X[:, 0]
    if isinstance(X, str):
        raise ValueError("expected a sequence of texts, got a single string; wrap it in a list")
    texts = list(X)
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"texts must be str, got {type(bad).__name__}: {bad!r:.60}")
    return texts


class RussianVectorizer(TransformerMixin, BaseEstimator):
    """Texts -> TF-IDF matrix over stems, stem bigrams, prefixes, symbols and line stems.

    Blocks of feature families (words; symbols; first and last line) are l2-normalised on
    their own and then scaled by their weight, so style and headline cues add to the words
    instead of drowning in them.
    """

    def __init__(self, *, stem=True, prefix=4, bigrams=True, symbols=True, emoji=True,
                 lines=True, min_df=2, max_df=1.0, max_features=None, sublinear_tf=True,
                 symbol_weight=0.6, lines_weight=0.7):
        self.stem = stem
        self.prefix = prefix
        self.bigrams = bigrams
        self.symbols = symbols
        self.emoji = emoji
        self.lines = lines
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.symbol_weight = symbol_weight
        self.lines_weight = lines_weight

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        texts = as_texts(X)
        self._fit_vocabulary(texts)
        self.tfidf_ = TfidfTransformer(norm=None, sublinear_tf=self.sublinear_tf)
        return self._normalise(self.tfidf_.fit_transform(self._counts(texts)))

    def _fit_vocabulary(self, texts: list[str]) -> None:
        space = FeatureSpace(stem=self.stem, prefix=self.prefix, bigrams=self.bigrams,
                             symbols=self.symbols, emoji=self.emoji, lines=self.lines)
        parts_k, parts_df = [], []
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start:start + CHUNK]
            k, df = doc_frequencies(*space.keys(space.type_ids(chunk), len(chunk)))
            parts_k.append(k)
            parts_df.append(df)
        keys = np.concatenate(parts_k) if parts_k else np.zeros(0, np.int64)
        dfs = np.concatenate(parts_df) if parts_df else np.zeros(0, np.int64)
        uniq, inv = np.unique(keys, return_inverse=True)
        df = np.bincount(inv, weights=dfs).astype(np.int64)
        vocab = select_vocabulary(uniq, df, len(texts), min_df=self.min_df, max_df=self.max_df,
                                  max_features=self.max_features)
        if len(vocab) == 0:
            raise ValueError("no features: the texts share no words (lower min_df or add data)")
        space.prune(vocab)
        self.space_ = space
        self.n_features_out_ = len(space.vocab)

    def _counts(self, texts: list[str]):
        """Document x vocabulary count matrix, built chunk by chunk."""
        space, n = self.space_, self.n_features_out_
        blocks = []
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start:start + CHUNK]
            t = space.type_ids(chunk)
            indptr, indices, cnt = count_matrix(*space.features(t, len(chunk)), len(chunk), n)
            blocks.append(sp.csr_matrix((cnt, indices, indptr), shape=(len(chunk), n)))
        if not blocks:
            return sp.csr_matrix((0, n))
        return sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]

    def block_weights(self) -> dict[str, float]:
        return {"words": 1.0, "symbols": self.symbol_weight, "lines": self.lines_weight}

    def _normalise(self, X):
        """Per-block l2 normalisation times the block weight (an empty block stays 0)."""
        X = sp.csr_matrix(X, dtype=np.float64)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        weights = self.block_weights()
        for name, (lo, hi) in self.space_.block_bounds().items():
            in_block = (X.indices >= lo) & (X.indices < hi)
            sq = np.bincount(rows[in_block], weights=X.data[in_block] ** 2, minlength=X.shape[0])
            factor = weights[name] / np.sqrt(np.where(sq > 0, sq, 1.0))
            X.data[in_block] *= factor[rows[in_block]]
        return X

    def transform(self, X):
        check_is_fitted(self, "tfidf_")
        return self._normalise(self.tfidf_.transform(self._counts(as_texts(X))))

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "space_")
        return np.asarray(self.space_.names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def fit_temperature(d: np.ndarray, y: np.ndarray) -> float:
    """Temperature T minimising the log loss of softmax(d / T) (golden-section on log T)."""
    idx = np.arange(len(y))

    def loss(log_t):
        p = softmax(d / np.exp(log_t))
        return -np.mean(np.log(np.clip(p[idx, y], 1e-12, None)))

    lo, hi = np.log(0.01), np.log(100.0)
    g = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if loss(a) < loss(b):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def macro_f1_of(pred: np.ndarray, y: np.ndarray, k: int) -> float:
    """Macro-F1 of integer predictions (fast: one bincount)."""
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)
    return float(np.mean(np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)))


def tune_biases(held: np.ndarray, y: np.ndarray, *, rounds: int = 2) -> np.ndarray:
    """Per-class additive biases that raise macro-F1 on held-out scores (coordinate ascent).

    Balanced class weights over-correct for small classes; a bias per class, learnt on folds
    the SVM did not see, moves the decision boundary back. Ties go to the smallest bias.
    """
    k = held.shape[1]
    grid = np.round(np.linspace(-0.4, 0.4, 33), 3)
    grid = grid[np.argsort(np.abs(grid), kind="stable")]  # prefer small biases on ties
    bias = np.zeros(k)
    best = macro_f1_of((held + bias).argmax(1), y, k)
    for _ in range(rounds):
        for j in range(k):
            trial = bias.copy()
            for g in grid:
                trial[j] = g
                score = macro_f1_of((held + trial).argmax(1), y, k)
                if score > best + 1e-9:
                    best, bias = score, trial.copy()
    return bias


def fit_platt(d: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a*d + b), fitted by Newton's method with Platt's targets."""
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(100):
        p = sigmoid(a * d + b)
        w = np.clip(p * (1 - p), 1e-12, None)
        g = np.array([np.sum((p - t) * d), np.sum(p - t)])
        h = np.array([[np.sum(w * d * d), np.sum(w * d)], [np.sum(w * d), np.sum(w)]])
        h += 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def best_threshold(p: np.ndarray, y: np.ndarray, beta: float, *, slack: float = 0.005) -> float:
    """Probability threshold for F-beta on held-out scores: the middle of the plateau of
    thresholds within ``slack`` of the best F-beta (0.5 when undefined).

    Taking the middle of the near-best plateau rather than its noisy peak keeps thresholds
    stable from one retraining to the next.
    """
    if y.sum() == 0:
        return 0.5
    grid = np.arange(0.05, 0.951, 0.01)
    pred = p[:, None] >= grid[None, :]
    tp = (pred & (y[:, None] == 1)).sum(0)
    fp = (pred & (y[:, None] == 0)).sum(0)
    fn = (~pred & (y[:, None] == 1)).sum(0)
    b2 = beta * beta
    f = (1 + b2) * tp / np.clip((1 + b2) * tp + b2 * fn + fp, 1, None)
    near = np.flatnonzero(f >= f.max() - slack)
    return float(np.round(np.median(grid[near]), 2))


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF (sublinear tf) over Russian features + linear SVM with calibrated probabilities.

    Parameters mirror the feature families (``stem``, ``prefix``, ``bigrams``, ``symbols``,
    ``lines``), vocabulary limits (``min_df``, ``max_df``, ``max_features``), the SVM (``C``,
    ``class_weight``), calibration folds (``calibration_cv``), the mode (``multilabel``: 'auto',
    True or False), decision tuning (``threshold``: 'auto' tunes, on held-out folds, one
    threshold per label for F-``threshold_beta`` in multi-label mode and one bias per class
    for macro-F1 in single-label mode; a float fixes the multi-label thresholds) and the
    exclusive ``other_label``.
    """

    def __init__(self, *, stem=True, prefix=4, bigrams=True, symbols=True, emoji=True,
                 lines=True, min_df=2, max_df=1.0, max_features=None, sublinear_tf=True,
                 symbol_weight=0.6, lines_weight=0.7, C=0.5,
                 class_weight="balanced", calibration_cv=2, multilabel="auto",
                 threshold="auto", threshold_beta=1.0, other_label=OTHER, n_jobs=None,
                 random_state=0):
        self.stem = stem
        self.prefix = prefix
        self.bigrams = bigrams
        self.symbols = symbols
        self.emoji = emoji
        self.lines = lines
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.symbol_weight = symbol_weight
        self.lines_weight = lines_weight
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.multilabel = multilabel
        self.threshold = threshold
        self.threshold_beta = threshold_beta
        self.other_label = other_label
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- construction -----------------------------------------------------------------------
    def _make_pipeline(self, multilabel: bool) -> Pipeline:
        svm = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        vectorizer = RussianVectorizer(**{name: getattr(self, name)
                                          for name in RussianVectorizer._get_param_names()})
        return Pipeline([("vectorizer", vectorizer),
                         ("svm", OneVsRestClassifier(svm) if multilabel else svm)])

    def _encode_targets(self, y):
        """Return (multilabel, classes, target) where target is indices or an indicator."""
        if hasattr(y, "ndim") and y.ndim == 2:
            names = list(y.columns) if hasattr(y, "columns") else list(range(y.shape[1]))
            Y = np.asarray(y).astype(int)
            if not np.isin(Y, [0, 1]).all():
                raise ValueError("a 2-D y must be a 0/1 indicator matrix")
            if self.multilabel is False:
                if not (Y.sum(1) == 1).all():
                    raise ValueError("multilabel=False but some rows have several labels")
                return False, np.asarray(names, dtype=object), Y.argmax(1)
            return True, np.asarray(names, dtype=object), Y
        y = list(y)
        sets = [isinstance(v, (list, tuple, set, frozenset, np.ndarray)) for v in y]
        if any(sets):
            if not all(sets):
                raise ValueError("y mixes single labels and label lists")
            label_lists = [list(v) for v in y]
            if any(len(v) == 0 for v in label_lists):
                raise ValueError("an item has an empty label list")
            multi = self.multilabel if self.multilabel != "auto" else any(len(v) > 1 for v in label_lists)
            if not multi:
                if any(len(v) != 1 for v in label_lists):
                    raise ValueError("multilabel=False but some items have several labels")
                y = [v[0] for v in label_lists]
            else:
                mlb = MultiLabelBinarizer()
                Y = mlb.fit_transform(label_lists)
                return True, mlb.classes_.astype(object), Y
        if self.multilabel is True:
            classes = np.unique(np.asarray(y, dtype=object))
            Y = (np.asarray(y, dtype=object)[:, None] == classes[None, :]).astype(int)
            return True, classes, Y
        classes, idx = np.unique(np.asarray(y), return_inverse=True)
        return False, classes, idx

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit features, SVM and calibration; held-out folds give calibration and thresholds.

        The vectorizer is fitted once on all texts (it never sees labels); then the SVM of the
        final model and those of the calibration folds train (in ``n_jobs`` processes).
        """
        texts = as_texts(X)
        if len(texts) != len(y):
            raise ValueError(f"X has {len(texts)} texts but y has {len(y)} labels")
        multi, classes, target = self._encode_targets(y)
        if len(classes) < 2:
            raise ValueError(f"need at least 2 classes to train, got {len(classes)}: {list(classes)}")
        self.multilabel_ = multi
        self.classes_ = classes
        vectorizer, svm = (step for _, step in self._make_pipeline(multi).steps)
        Xt = vectorizer.fit_transform(texts)
        splits = self._calibration_splits(target, multi)
        fits = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_svm)(clone(svm), Xt, target, rows) for rows in [None] + [tr for tr, _ in splits])
        self.pipeline_ = Pipeline([("vectorizer", vectorizer), ("svm", fits[0])])
        held = None
        if splits:
            held = np.zeros((len(texts), len(classes)))
            for model, (_, te) in zip(fits[1:], splits):
                held[te] = _as_2d(model.decision_function(Xt[te]))
        if multi:
            self._calibrate_multilabel(held, target)
        else:
            tune = held is not None and self.threshold == "auto"
            self.class_bias_ = tune_biases(held, target) if tune else np.zeros(len(classes))
            self.temperature_ = (1.0 if held is None else
                                 fit_temperature(held + self.class_bias_, target))
        self.n_features_ = vectorizer.n_features_out_
        return self

    def _calibration_splits(self, target, multi: bool) -> list:
        """Folds for held-out decision values; none when a fold would miss a class."""
        cv = int(self.calibration_cv or 0)
        if cv < 2:
            return []
        if multi:
            splits = list(KFold(cv, shuffle=True, random_state=self.random_state).split(target))
            if any((target[tr].sum(0) == 0).any() for tr, _ in splits):
                return []
            return splits
        if np.bincount(target).min() < cv:
            return []
        return list(StratifiedKFold(cv, shuffle=True, random_state=self.random_state)
                    .split(np.zeros(len(target)), target))

    def _calibrate_multilabel(self, held, Y) -> None:
        """Platt scaling per label on held-out scores; thresholds tuned for F-beta there."""
        k = Y.shape[1]
        if held is None:
            self.platt_ = np.tile([1.0, 0.0], (k, 1))
            self.thresholds_ = np.full(k, 0.5)
            return
        self.platt_ = np.array([fit_platt(held[:, j], Y[:, j]) for j in range(k)])
        if isinstance(self.threshold, str):
            probs = sigmoid(held * self.platt_[:, 0] + self.platt_[:, 1])
            self.thresholds_ = np.array([best_threshold(probs[:, j], Y[:, j], self.threshold_beta)
                                         for j in range(k)])
        else:
            self.thresholds_ = np.full(k, float(self.threshold))

    # -- inference --------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Linear scores (n_texts, n_classes), class biases included."""
        check_is_fitted(self, "pipeline_")
        d = _as_2d(self.pipeline_.decision_function(as_texts(X)))
        return d if self.multilabel_ else d + self.class_bias_

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, one column per class in ``classes_`` order."""
        d = self.decision_function(X)
        if self.multilabel_:
            return sigmoid(d * self.platt_[:, 0] + self.platt_[:, 1])
        return softmax(d / self.temperature_)

    def predict(self, X):
        """Labels (single-label) or a 0/1 indicator matrix (multi-label), as scikit-learn does."""
        proba = self.predict_proba(X)
        if not self.multilabel_:
            return self.classes_[proba.argmax(1)]
        return select_labels(proba, self.thresholds_, self._other_index())

    def predict_labels(self, X, *, top_k: int | None = None,
                       threshold: float | None = None) -> list[list[str]]:
        """Label names per text in both modes, best first: the friendly form of ``predict``."""
        return choose_labels(self.predict_proba(X), [str(c) for c in self.classes_],
                             multilabel=self.multilabel_,
                             thresholds=getattr(self, "thresholds_", None), top_k=top_k,
                             threshold=threshold, other_label=self.other_label)

    def score(self, X, y, sample_weight=None):
        """Accuracy; subset accuracy (every label right) in multi-label mode."""
        if not getattr(self, "multilabel_", False):
            return super().score(X, y, sample_weight=sample_weight)
        ok = (self.predict(X) == indicator_for(y, self.classes_)).all(1).astype(float)
        return float(np.average(ok, weights=sample_weight))

    def _other_index(self) -> int | None:
        names = [str(c) for c in self.classes_]
        return names.index(self.other_label) if self.other_label in names else None

    # -- explanations and persistence -------------------------------------------------------
    def explain(self, texts, *, top: int = 8) -> list[dict[str, list[tuple[str, float]]]]:
        """Per text, the terms that pushed each predicted label up (weight x tf-idf value)."""
        from rutopic.model.compact import CompactModel

        texts = as_texts(texts)
        return CompactModel.from_estimator(self).explain(texts, self.predict_labels(texts), top=top)

    @property
    def coef_(self) -> np.ndarray:
        """Weights as (n_classes, n_features); for binary single-label, +/- half the SVM's."""
        svm = self.pipeline_.named_steps["svm"]
        if self.multilabel_:
            return np.vstack([e.coef_ for e in svm.estimators_])
        if svm.coef_.shape[0] == 1:
            return np.vstack([-svm.coef_ / 2, svm.coef_ / 2])
        return svm.coef_

    @property
    def intercept_(self) -> np.ndarray:
        """Intercepts as (n_classes,), single-label class biases included."""
        svm = self.pipeline_.named_steps["svm"]
        if self.multilabel_:
            return np.concatenate([e.intercept_ for e in svm.estimators_])
        if svm.intercept_.shape[0] == 1:
            base = np.concatenate([-svm.intercept_ / 2, svm.intercept_ / 2])
        else:
            base = svm.intercept_
        return base + self.class_bias_

    def save(self, path, **kwargs):
        """Save to a model directory atomically; see ``rutopic.model.persistence.save_model``."""
        from rutopic.model.persistence import save_model

        return save_model(self, path, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        return tags


def _as_2d(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim == 1:
        return np.column_stack([-d / 2, d / 2])
    return d


def indicator_for(y, classes) -> np.ndarray:
    """0/1 matrix of ``y`` (labels, label lists or an indicator) over ``classes``."""
    pos = {str(c): i for i, c in enumerate(classes)}
    if hasattr(y, "ndim") and y.ndim == 2:
        names = list(y.columns) if hasattr(y, "columns") else list(range(y.shape[1]))
        Y = np.asarray(y).astype(int)
        out = np.zeros((Y.shape[0], len(classes)), dtype=int)
        for j, name in enumerate(names):
            if str(name) in pos:
                out[:, pos[str(name)]] = Y[:, j]
        return out
    out = np.zeros((len(y), len(classes)), dtype=int)
    for i, v in enumerate(y):
        for lab in (v if isinstance(v, (list, tuple, set, frozenset, np.ndarray)) else [v]):
            if str(lab) in pos:
                out[i, pos[str(lab)]] = 1
    return out


def _fit_svm(svm, X, target, rows):
    """Fit one SVM on all rows or a subset (a joblib job)."""
    return svm.fit(X, target) if rows is None else svm.fit(X[rows], target[rows])
