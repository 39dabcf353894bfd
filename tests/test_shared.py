"""Checks on the real Telegram benchmark data in ../shared/data (skipped where absent)."""

import numpy as np
import pytest

from conftest import SHARED_DATA

TELEGRAM = SHARED_DATA / "tg_news_posts.jsonl.gz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared,
    pytest.mark.skipif(not TELEGRAM.exists(), reason=f"{TELEGRAM} is absent (no ../shared)"),
]


@pytest.fixture(scope="module")
def telegram():
    import pandas as pd

    df = pd.read_json(TELEGRAM, lines=True)
    return df[df.split == "train"], df[df.split == "test"]


def test_compact_form_equals_sklearn_on_the_whole_telegram_test_split(telegram):
    from rutopic.model.compact import CompactModel
    from rutopic.model.estimator import TopicClassifier

    train, test = telegram
    model = TopicClassifier().fit(train.text.tolist(), train.label.tolist())
    texts = test.text.tolist()
    reference = model.predict_proba(texts)
    compact = CompactModel.from_estimator(model)
    np.testing.assert_allclose(compact.predict_proba(texts), reference, atol=1e-6)
    # one text at a time takes the numpy-only path (no scipy): same scores
    np.testing.assert_allclose(compact.predict_proba(texts[:50]), reference[:50], atol=1e-6)
    single = np.vstack([compact.predict_proba([t]) for t in texts[:20]])
    np.testing.assert_allclose(single, reference[:20], atol=1e-6)
    assert (compact.predict_proba(texts).argmax(1) == reference.argmax(1)).all()
