"""How the default model does on REAL Russian news (development set).

    python benchmarks/realnews.py [--model DIR]

1,100 real items from ../shared/data — 300 RIA Novosti articles (autumn 2023) and
800 Telegram posts (November 2024) — were labelled by the team under the topic guidelines, by
reading each item, independently of any model. Only ids and labels are kept here
(benchmarks/data/realnews_dev_labels.jsonl); the texts stay in ../shared. The set was used
while developing the corpus and the decision rule, so it is a development set: its scores are
optimistic for unseen news. Skips cleanly when ../shared is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = ROOT / "benchmarks" / "data" / "realnews_dev_labels.jsonl"


def load_texts() -> dict[str, str]:
    texts = {}
    with gzip.open(SHARED / "ria_news_2023-10.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts[r["id"]] = f"{r['title'].strip()}\n{r['text'].strip()}"
    with gzip.open(SHARED / "tg_news_posts.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts[f"tg-{r['id']}"] = r["text"]
    return texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: train on the bundled corpus)")
    args = parser.parse_args(argv)
    if not (SHARED / "tg_news_posts.jsonl.gz").exists():
        print(f"skip: {SHARED} is absent (a clone without ../shared)")
        return 0
    sys.path.insert(0, str(ROOT))
    from rutopic.datasets import load_news
    from rutopic.model.compact import CompactModel
    from rutopic.model.estimator import TopicClassifier
    from rutopic.model.persistence import load_model
    from rutopic.training.metrics import compute_metrics, format_report

    if args.model:
        model = load_model(args.model, compact=True)
    else:
        news = load_news()
        model = CompactModel.from_estimator(TopicClassifier().fit(news.data, news.target))
    texts = load_texts()
    gold = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    gold = [g for g in gold if g["id"] in texts]
    pred = model.predict_labels([texts[g["id"]] for g in gold])
    truth = [g["labels"] for g in gold]
    out = {}
    for name, keep in (("all", lambda i: True), ("ria", lambda i: i.startswith("ria")),
                       ("telegram", lambda i: i.startswith("tg"))):
        idx = [k for k, g in enumerate(gold) if keep(g["id"])]
        m = compute_metrics([truth[k] for k in idx], [pred[k] for k in idx],
                            labels=model.classes)
        others = [k for k in idx if truth[k] == ["other"]]
        m["false_topic_rate_on_other"] = round(
            sum(pred[k] != ["other"] for k in others) / max(1, len(others)), 4)
        out[name] = m
        print(f"== {name} ({len(idx)} items; false topic on `other` items: "
              f"{m['false_topic_rate_on_other']:.1%})")
        print(format_report(m))
    (ROOT / "benchmarks" / "out").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "out" / "realnews.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
