"""QA of the bundled corpus. These tests fail when the corpus breaks its own rules."""

import collections
import re

import pytest

from rutopic.datasets import TAXONOMY, _read_news
from rutopic.datasets.stats import START, card_path, corpus_stats, refresh_card

WORD = re.compile(r"\w+")
MIN_PER_LABEL = {"diplomacy": 350, "visas": 300, "trade": 350, "other": 500}


@pytest.fixture(scope="module")
def rows():
    return _read_news()


def full(r):
    return f"{r['title']}\n{r['text']}" if r.get("title") else r["text"]


def shingles(text, n=5):
    words = WORD.findall(text.lower().replace("ё", "е"))
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def first_sentence(text):
    t = re.sub(r"\s+", " ", text.strip().lower())
    return re.split(r"(?<=[.!?…])\s", t, maxsplit=1)[0][:200]


def near_duplicates(texts, threshold=0.5):
    """Pairs with word-5-gram shingle Jaccard >= threshold (inverted index, exact)."""
    sets = [shingles(t) for t in texts]
    index = collections.defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            index[sh].append(i)
    shared = collections.Counter()
    for items in index.values():
        if len(items) > 1:
            for a in range(len(items)):
                for b in range(a + 1, len(items)):
                    shared[items[a], items[b]] += 1
    return [(i, j, n / (len(sets[i]) + len(sets[j]) - n)) for (i, j), n in shared.items()
            if n / (len(sets[i]) + len(sets[j]) - n) >= threshold]


def test_near_duplicate_detector_catches_a_copy():
    a = "Министр иностранных дел Казахстана провёл переговоры с послом Японии в Астане сегодня"
    b = a + " утром"
    c = "Экспорт пшеницы из России в Египет вырос на двадцать процентов за год"
    assert [(i, j) for i, j, _ in near_duplicates([a, b, c])] == [(0, 1)]


def test_no_near_duplicates(rows):
    pairs = near_duplicates([full(r) for r in rows])
    assert not pairs, [(rows[i]["id"], rows[j]["id"], round(s, 2)) for i, j, s in pairs[:10]]


def test_no_repeated_first_sentence(rows):
    seen = collections.defaultdict(list)
    for r in rows:
        seen[first_sentence(full(r))].append(r["id"])
    repeated = {s: ids for s, ids in seen.items() if len(ids) > 1}
    assert not repeated, list(repeated.items())[:5]


def test_ids_unique_labels_known_other_alone(rows):
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert r["labels"] and set(r["labels"]) <= set(TAXONOMY), r["id"]
        assert len(set(r["labels"])) == len(r["labels"]), r["id"]
        assert "other" not in r["labels"] or r["labels"] == ["other"], r["id"]
        assert r["split"] in ("train", "test") and r.get("kind"), r["id"]


def test_minimum_counts(rows):
    stats = corpus_stats(rows)
    assert stats["n"] >= 1500
    for label, minimum in MIN_PER_LABEL.items():
        assert stats["per_label"][label] >= minimum, label
    assert stats["multi_label"] >= 150


def test_forms_and_lengths(rows):
    lengths = [len(full(r)) for r in rows]
    assert sum(n < 200 for n in lengths) / len(rows) >= 0.20
    assert sum(n > 800 for n in lengths) / len(rows) >= 0.20
    kinds = collections.Counter(r["kind"] for r in rows)
    assert {"headline", "brief", "article", "post", "analysis"} <= set(kinds)


def test_other_covers_many_subject_areas(rows):
    areas = collections.Counter(r.get("area") for r in rows if r["labels"] == ["other"])
    assert sum(n >= 20 for area, n in areas.items() if area) >= 15, areas
    near = collections.Counter(r.get("near") for r in rows if r.get("near"))
    assert all(near[t] >= 50 for t in ("diplomacy", "visas", "trade")), near


def test_texts_are_mostly_cyrillic(rows):
    for r in rows:
        letters = [c for c in full(r) if c.isalpha()]
        cyr = sum("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters)
        assert cyr / len(letters) >= 0.7, r["id"]


def test_split_is_stratified(rows):
    stats = corpus_stats(rows)
    assert stats["splits"]["test"] / stats["n"] >= 0.20
    for combo, share in stats["test_share"].items():
        if stats["combinations"][combo] >= 20:
            assert 0.18 <= share <= 0.32, (combo, share)


def test_dataset_card_counts_are_current(rows):
    text = card_path().read_text(encoding="utf-8")
    assert START in text
    assert refresh_card(text, corpus_stats(rows)) == text, \
        "stale counts: run python -m rutopic.datasets.stats --write"
