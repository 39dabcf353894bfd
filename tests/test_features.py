"""The numpy featuriser: feature families, lines, vocabulary pruning, bounded cache."""

import numpy as np
import pytest

from rutopic.model import features as F
from rutopic.model.estimator import RussianVectorizer


def names_of(texts, **params):
    vec = RussianVectorizer(min_df=1, **params).fit(texts)
    X = vec.transform(texts)
    names = vec.get_feature_names_out()
    return [set(names[X[i].indices]) for i in range(X.shape[0])]


def test_stems_bigrams_prefixes_symbols_and_lines():
    (feats,) = names_of(["Визовый режим отменён!\nПосольство сообщило"])
    assert {"визов", "визов реж", "pre:визо", "sym:!", "title:визов", "last:посольств"} <= feats
    assert "title:посольств" not in feats and "last:визов" not in feats


@pytest.mark.parametrize(
    "text, first, last",
    [
        ("\n\nВизы\n\nЭкспорт\n", "title:виз", "last:экспорт"),
        ("Одна строка без переносов", "title:одн", None),
    ],
)
def test_blank_lines_do_not_shift_first_and_last_line(text, first, last):
    (feats,) = names_of([text, "другой текст"])[:1]
    assert first in feats
    lasts = {f for f in feats if f.startswith("last:")}
    assert lasts == ({last} if last else set())


def test_families_can_be_switched_off():
    (feats,) = names_of(["Визовый режим отменён!"], bigrams=False, symbols=False, lines=False,
                        prefix=0)
    assert feats == {"визов", "реж", "отмен"}


def test_transform_ignores_unknown_words_and_is_batch_independent():
    vec = RussianVectorizer(min_df=1).fit(["визы отменены", "экспорт вырос", "экспорт упал"])
    one = vec.transform(["экспорт вырос неожиданно"]).toarray()
    many = vec.transform(["визы", "экспорт вырос неожиданно", ""]).toarray()
    np.testing.assert_allclose(one[0], many[1])
    assert not many[2].any()


def test_type_cache_is_bounded(monkeypatch):
    vec = RussianVectorizer(min_df=1).fit(["визы отменены", "экспорт вырос"])
    monkeypatch.setattr(F, "MAX_CACHED_TYPES", 50)
    space = vec.space_
    for i in range(20):
        space.type_ids([" ".join(f"слово{i}x{j}" for j in range(30))])
        assert space._n <= 50 + 30 + 2
    # ids stay correct after a reset
    np.testing.assert_allclose(vec.transform(["экспорт вырос"]).toarray(),
                               vec.transform(["экспорт вырос"]).toarray())


def test_min_df_and_max_features_select_the_vocabulary():
    texts = ["визы визы", "визы экспорт", "экспорт пошлины", "саммит"]
    vec = RussianVectorizer(min_df=2, bigrams=False, prefix=0, symbols=False, lines=False).fit(texts)
    assert set(vec.get_feature_names_out()) == {"виз", "экспорт"}
    vec = RussianVectorizer(min_df=1, max_features=1, bigrams=False, prefix=0, symbols=False,
                            lines=False).fit(texts)
    assert len(vec.get_feature_names_out()) == 1


def test_no_shared_words_is_a_clear_error():
    with pytest.raises(ValueError, match="no features"):
        RussianVectorizer(min_df=2).fit(["один", "два"])


def test_training_cache_remap_equals_a_fresh_transform():
    """fit_transform re-keys its chunk cache instead of re-analysing; a pickled copy starts
    from scratch: both must give the same matrix."""
    import pickle

    texts = ["Визовый режим отменён!\nПосольство сообщило", "Экспорт пшеницы вырос на 5%",
             "Посольство сообщило об экспорте", "визовый экспорт"] * 3
    vec = RussianVectorizer(min_df=2)
    fitted = vec.fit_transform(texts).toarray()
    fresh = pickle.loads(pickle.dumps(vec)).transform(texts).toarray()
    np.testing.assert_allclose(fitted, fresh)
    np.testing.assert_allclose(vec.transform(texts).toarray(), fresh)


def test_int_index_matches_sorted_search():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**55, 5000))
    index = F.IntIndex(keys)
    queries = np.concatenate([keys[rng.integers(0, len(keys), 3000)], rng.integers(0, 2**55, 3000)])
    expected = np.searchsorted(keys, queries)
    expected = np.where(keys[np.minimum(expected, len(keys) - 1)] == queries, expected, -1)
    np.testing.assert_array_equal(index.lookup(queries), expected)
