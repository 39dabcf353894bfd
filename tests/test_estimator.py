"""TopicClassifier: scikit-learn's estimator contract, both modes, calibration, compact form."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils import estimator_checks as checks

from rutopic.model.compact import CompactModel, choose_labels
from rutopic.model.estimator import RussianVectorizer, TopicClassifier

FAST = dict(calibration_cv=0, n_jobs=1)


@pytest.mark.parametrize("check", [
    checks.check_no_attributes_set_in_init,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_parameters_default_constructible,
    checks.check_mixin_order,
    checks.check_valid_tag_types,
])
@pytest.mark.parametrize("estimator", [TopicClassifier(), RussianVectorizer()],
                         ids=["classifier", "vectorizer"])
def test_sklearn_estimator_checks(check, estimator):
    check(type(estimator).__name__, estimator)


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        TopicClassifier().predict(["текст"])


def test_fit_returns_self_and_keeps_params(small_data):
    X, y = small_data
    model = TopicClassifier(C=0.3, **FAST)
    before = model.get_params()
    assert model.fit(X, y) is model
    assert model.get_params() == before
    assert all(hasattr(model, a) for a in ("classes_", "multilabel_", "pipeline_", "thresholds_"))


def test_clone_gives_an_unfitted_copy(small_data):
    X, y = small_data
    model = TopicClassifier(**FAST).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "classes_")


@pytest.mark.parametrize(
    "y, mode",
    [
        ([["diplomacy"], ["trade"], ["other"], ["trade"]] * 5, False),
        (["diplomacy", "trade", "other", "trade"] * 5, False),
        ([["diplomacy", "trade"], ["trade"], ["other"], ["trade"]] * 5, True),
    ],
)
def test_mode_is_picked_from_the_data(y, mode):
    X = ["министр посол визит переговоры", "экспорт пошлины поставки", "футбол матч счёт",
         "товарооборот импорт"] * 5
    model = TopicClassifier(min_df=1, **FAST).fit(X, y)
    assert model.multilabel_ is mode
    labels = model.predict_labels(X[:4])
    assert all(len(labs) >= 1 for labs in labels)


def test_single_label_probabilities_sum_to_one(small_data):
    X, y = small_data
    X1 = [x for x, labs in zip(X, y) if len(labs) == 1]
    y1 = [labs[0] for labs in y if len(labs) == 1]
    model = TopicClassifier(min_df=1, calibration_cv=3).fit(X1, y1)
    proba = model.predict_proba(X1)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert model.temperature_ > 0
    assert (model.predict(X1) == np.array(y1)).mean() > 0.8


def test_cross_val_score_and_grid_search_work(small_data):
    X, y = small_data
    X1 = [x for x, labs in zip(X, y) if len(labs) == 1] * 2
    y1 = [labs[0] for labs in y if len(labs) == 1] * 2
    scores = cross_val_score(TopicClassifier(min_df=1, **FAST), X1, y1, cv=3)
    assert scores.shape == (3,) and (scores > 0.25).all()
    grid = GridSearchCV(TopicClassifier(min_df=1, **FAST), {"C": [0.1, 1.0]}, cv=2).fit(X1, y1)
    assert grid.best_params_["C"] in (0.1, 1.0)
    # multi-label: a 2-D indicator target cross-validates with plain KFold
    from sklearn.preprocessing import MultiLabelBinarizer

    Y = MultiLabelBinarizer().fit_transform(y * 2)
    ml = cross_val_score(TopicClassifier(min_df=1, **FAST), X * 2, Y, cv=KFold(3))
    assert ml.shape == (3,)


@pytest.mark.parametrize(
    "proba, expected",
    [
        ([0.9, 0.3, 0.1, 0.7], ["diplomacy", "visas"]),     # topics above threshold win
        ([0.9, 0.8, 0.1, 0.7], ["diplomacy"]),              # a topic below other's score loses
        ([0.1, 0.2, 0.1, 0.1], ["other"]),                  # nothing passes -> other
        ([0.6, 0.55, 0.1, 0.1], ["diplomacy"]),             # other never combined
    ],
)
def test_multilabel_decision_rule(proba, expected):
    classes = ["diplomacy", "other", "trade", "visas"]
    out = choose_labels(np.array([proba]), classes, multilabel=True,
                        thresholds=np.full(4, 0.5))
    assert out == [expected]


def test_without_other_the_best_label_is_the_fallback():
    out = choose_labels(np.array([[0.2, 0.4, 0.1]]), ["a", "b", "c"], multilabel=True,
                        thresholds=np.full(3, 0.5))
    assert out == [["b"]]


@pytest.mark.parametrize("top_k, threshold, expected", [
    (None, None, [["b"]]), (2, None, [["b", "a"]]), (3, 0.25, [["b", "a"]]), (None, 0.99, [["b"]])])
def test_single_label_top_k_and_threshold(top_k, threshold, expected):
    out = choose_labels(np.array([[0.3, 0.6, 0.1]]), ["a", "b", "c"], multilabel=False,
                        thresholds=None, top_k=top_k, threshold=threshold)
    assert out == expected


def test_compact_form_equals_sklearn_pipeline(news_model):
    from rutopic.datasets import load_news

    test = load_news(split="test")
    compact = CompactModel.from_estimator(news_model)
    np.testing.assert_allclose(compact.predict_proba(test.data), news_model.predict_proba(test.data),
                               atol=1e-6)
    np.testing.assert_allclose(compact.decision_function(test.data),
                               news_model.decision_function(test.data), atol=1e-5)
    assert compact.predict_labels(test.data[:50]) == news_model.predict_labels(test.data[:50])


def test_compact_form_survives_save_and_load(tmp_path, news_model):
    compact = CompactModel.from_estimator(news_model)
    compact.save(tmp_path / "c.npz")
    again = CompactModel.load(tmp_path / "c.npz")
    texts = ["Посол Китая вручил верительные грамоты", "Экспорт зерна вырос"]
    np.testing.assert_allclose(again.predict_proba(texts), compact.predict_proba(texts))


def test_explanations_name_the_terms_behind_a_label(news_model):
    [expl] = news_model.explain(["Глава МИД провёл переговоры с послом Японии в Токио"])
    assert "diplomacy" in expl
    terms = [t for t, w in expl["diplomacy"]]
    assert any("мид" in t or "посл" in t or "переговор" in t for t in terms)
    assert all(w > 0 for _, w in expl["diplomacy"])


@pytest.mark.parametrize("text, expected", [
    ("Специальный представитель ЕС по Центральной Азии встретился с президентом Казахстана "
     "Касым-Жомартом Токаевым. На брифинге МИД Казахстана сообщили, что Брюссель готов упростить "
     "выдачу шенгенских виз казахстанцам и снизить консульский сбор.", {"diplomacy", "visas"}),
    ("«Кайрат» обыграл «Тобол» со счётом 2:1 в матче чемпионата Казахстана по футболу: победный "
     "гол забит на 89-й минуте, болельщики праздновали до ночи.", {"other"}),
])
def test_sanity_examples_from_the_foundation_issue(news_model, text, expected):
    assert set(news_model.predict_labels([text])[0]) == expected


@pytest.mark.parametrize("bad", ["одна строка", [1, 2], None])
def test_bad_inputs_are_value_errors(bad, small_data):
    X, y = small_data
    model = TopicClassifier(**FAST).fit(X, y)
    with pytest.raises((ValueError, TypeError)):
        model.predict(bad)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        TopicClassifier(**FAST).fit(["а б", "в г"], ["x", "x"])
