"""Side-by-side benchmark: rutopic's default pipeline vs fastText and scikit-learn anchors.

    python benchmarks/run.py                 # every system on every available data set
    python benchmarks/run.py --quick         # the bundled corpus only
    python benchmarks/run.py --scaling       # also rutopic train cost at 1x/4x/16x Telegram
    python benchmarks/run.py --flat-memory   # also predict memory on a 10 MB vs 1 GB input

Every system runs in its own subprocess (so peak RSS is its own) on the same fixed split in the
same run. Data: ../shared/data/tg_news_posts.jsonl.gz when present (skipped with a message when
absent), and the bundled corpus always. fastText is a benchmark-only extra (pip install
fasttext); without it its rows are skipped. Results: benchmarks/out/results.json and
results.md; RESULTS.md records a run with its date and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TELEGRAM = SHARED / "tg_news_posts.jsonl.gz"
OUT = ROOT / "benchmarks" / "out"
SYSTEMS = ["rutopic", "fasttext_bigrams", "fasttext_subwords", "sklearn_naive", "sklearn_svc"]
BASELINE = "fasttext_bigrams"
#: predict throughput is timed on at least this many documents (the test set repeated)
THROUGHPUT_DOCS = 20_000


# -- data -------------------------------------------------------------------------------------
def load(dataset: str, repeat: int = 1):
    """(train_texts, train_labels, test_texts, test_labels, multilabel) of a data set."""
    if dataset == "telegram":
        import pandas as pd

        df = pd.read_json(TELEGRAM, lines=True)
        tr, te = df[df.split == "train"], df[df.split == "test"]
        return (tr.text.tolist() * repeat, [[y] for y in tr.label] * repeat, te.text.tolist(),
                [[y] for y in te.label], False)
    sys.path.insert(0, str(ROOT))
    from rutopic.datasets import load_news

    tr, te = load_news(split="train"), load_news(split="test")
    return tr.data * repeat, tr.target * repeat, te.data, te.target, True


def macro_scores(true, pred, labels):
    sys.path.insert(0, str(ROOT))
    from rutopic.training.metrics import compute_metrics

    m = compute_metrics(true, pred, labels=labels, multilabel=True)
    return m["macro_f1"], m["accuracy"]


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- systems ----------------------------------------------------------------------------------
class Rutopic:
    def fit(self, X, y, multilabel):
        sys.path.insert(0, str(ROOT))
        from rutopic.model.estimator import TopicClassifier

        self.model = TopicClassifier().fit(X, y if multilabel else [labs[0] for labs in y])

    def compact(self):
        from rutopic.model.compact import CompactModel

        if not hasattr(self, "_compact"):
            self._compact = CompactModel.from_estimator(self.model)
        return self._compact

    def predict(self, X):
        c = self.compact()
        out = []
        for start in range(0, len(X), 2048):
            out.extend(c.predict_labels(X[start:start + 2048]))
        return out

    def save(self, path: Path) -> dict:
        from rutopic.model.persistence import COMPACT_FILE, save_model

        save_model(self.model, path)
        return {"model_mb": dir_size(path) / 2**20,
                "compact_mb": (path / COMPACT_FILE).stat().st_size / 2**20}


class FastText:
    def __init__(self, subwords: bool):
        self.subwords = subwords

    def fit(self, X, y, multilabel):
        import fasttext

        self.multilabel = multilabel
        fd, self.train_file = tempfile.mkstemp(suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for text, labs in zip(X, y):
                f.write(" ".join(f"__label__{lab}" for lab in labs) + " " + _one_line(text) + "\n")
        kw = dict(epoch=25, lr=0.5, wordNgrams=2, thread=os.cpu_count(), verbose=0)
        if self.subwords:
            kw.update(minn=3, maxn=5)
        if multilabel:
            kw["loss"] = "ova"
        self.model = fasttext.train_supervised(self.train_file, **kw)
        os.unlink(self.train_file)

    def predict(self, X):
        lines = [_one_line(t) for t in X]
        if self.multilabel:  # every label above 0.5; never empty
            labels, probs = self.model.predict(lines, k=-1, threshold=0.0)
            return [[lab[9:] for lab, p in zip(ls, ps) if p >= 0.5] or [ls[0][9:]]
                    for ls, ps in zip(labels, probs)]
        labels, _ = self.model.predict(lines)  # a list: numpy 2 breaks the single-text path
        return [[ls[0][9:]] for ls in labels]

    def save(self, path: Path) -> dict:
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_model(str(path / "model.bin"))
        return {"model_mb": dir_size(path) / 2**20}


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Sklearn:
    def __init__(self, tuned: bool):
        self.tuned = tuned

    def fit(self, X, y, multilabel):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import FeatureUnion, make_pipeline
        from sklearn.preprocessing import MultiLabelBinarizer
        from sklearn.svm import LinearSVC

        self.multilabel = multilabel
        if self.tuned:
            features = FeatureUnion([
                ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3,
                                         sublinear_tf=True)),
            ])
            clf = LinearSVC(C=0.5)
        else:
            features, clf = TfidfVectorizer(), LogisticRegression()
        if multilabel:
            self.mlb = MultiLabelBinarizer()
            target = self.mlb.fit_transform(y)
            clf = OneVsRestClassifier(clf)
        else:
            target = [labs[0] for labs in y]
        self.model = make_pipeline(features, clf).fit(X, target)

    def predict(self, X):
        import numpy as np

        if not self.multilabel:
            return [[p] for p in self.model.predict(X)]
        d = self.model.decision_function(X)
        sel = d > 0
        sel[np.arange(len(X)), d.argmax(1)] |= ~sel.any(1)
        return [list(self.mlb.classes_[row]) for row in sel]

    def save(self, path: Path) -> dict:
        import joblib

        path.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.model, path / "model.joblib")
        return {"model_mb": dir_size(path) / 2**20}


def make(system: str):
    return {"rutopic": lambda: Rutopic(), "fasttext_bigrams": lambda: FastText(False),
            "fasttext_subwords": lambda: FastText(True),
            "sklearn_naive": lambda: Sklearn(False), "sklearn_svc": lambda: Sklearn(True)}[system]()


def worker(system: str, dataset: str, repeat: int, out: Path, cli: bool) -> None:
    """Train, score, time and size one system on one data set; write a JSON result."""
    Xtr, ytr, Xte, yte, multilabel = load(dataset, repeat)
    labels = sorted({lab for labs in ytr for lab in labs})
    model = make(system)
    start = time.perf_counter()
    model.fit(Xtr, ytr, multilabel)
    train_s = time.perf_counter() - start
    pred = model.predict(Xte)
    macro_f1, accuracy = macro_scores(yte, pred, labels)
    big = (Xte * (THROUGHPUT_DOCS // len(Xte) + 1))[:max(THROUGHPUT_DOCS, len(Xte))]
    model.predict(big[:2048])  # warm caches (fastText and rutopic both build them lazily)
    start = time.perf_counter()
    model.predict(big)
    docs_per_s = len(big) / (time.perf_counter() - start)
    result = {"system": system, "dataset": dataset, "repeat": repeat, "n_train": len(Xtr),
              "n_test": len(Xte), "macro_f1": round(macro_f1, 4), "accuracy": round(accuracy, 4),
              "train_s": round(train_s, 2), "predict_docs_per_s": round(docs_per_s),
              "peak_rss_mb": round(peak_rss_mb(), 1)}
    tmp = Path(tempfile.mkdtemp())
    try:
        result.update({k: round(v, 2) for k, v in model.save(tmp / "model").items()})
        if cli and system == "rutopic":
            result.update(cli_timings(tmp / "model", Xte))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.write_text(json.dumps(result))


def rutopic_bin() -> str:
    found = Path(sys.executable).parent / "rutopic"
    return str(found) if found.exists() else shutil.which("rutopic") or "rutopic"


def cli_timings(model_dir: Path, texts) -> dict:
    """Wall time of whole `rutopic predict` processes: one text cold, and 10,000 lines."""
    cmd = rutopic_bin()
    one = texts[0]
    walls = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([cmd, "predict", "--model", str(model_dir), "--format", "jsonl", one],
                       check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    lines = [_one_line(t) or "-" for t in (texts * (10_000 // len(texts) + 1))[:10_000]]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    start = time.perf_counter()
    subprocess.run([cmd, "predict", "--model", str(model_dir), "--input", f.name, "--format",
                    "jsonl"], check=True, stdout=subprocess.DEVNULL)
    input_s = time.perf_counter() - start
    os.unlink(f.name)
    return {"cli_cold_predict_s": round(statistics.median(walls), 3),
            "cli_predict_10k_lines_s": round(input_s, 2)}


# -- orchestration ----------------------------------------------------------------------------
def run_worker(system: str, dataset: str, repeat: int = 1, cli: bool = False) -> dict | None:
    if system.startswith("fasttext"):
        try:
            import fasttext  # noqa: F401
        except ImportError:
            print(f"  skip {system}: fasttext not installed (pip install fasttext)", flush=True)
            return None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    cmd = [sys.executable, __file__, "--worker", system, "--dataset", dataset,
           "--repeat", str(repeat), "--out", str(out)] + (["--cli"] if cli else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {system} on {dataset} failed:\n{proc.stderr[-2000:]}", flush=True)
        return None
    result = json.loads(out.read_text())
    out.unlink()
    print(f"  {system:18s} {dataset:9s} x{repeat:<2d} macro-F1 {result['macro_f1']:.4f}  "
          f"train {result['train_s']:6.1f} s  predict {result['predict_docs_per_s']:7d} docs/s  "
          f"RSS {result['peak_rss_mb']:6.0f} MB  ({time.perf_counter() - start:.0f} s)",
          flush=True)
    return result


def flat_memory() -> dict:
    """Peak RSS of `rutopic predict --input` on ~10 MB and ~1 GB of lines: must stay flat."""
    sys.path.insert(0, str(ROOT))
    from rutopic.datasets import load_news
    from rutopic.model.estimator import TopicClassifier
    from rutopic.model.persistence import save_model

    tmp = Path(tempfile.mkdtemp())
    try:
        news = load_news()
        save_model(TopicClassifier().fit(news.data, news.target), tmp / "model")
        lines = [_one_line(t) for t in news.data]
        block = ("\n".join(lines) + "\n").encode("utf-8")
        out = {}
        for name, target in (("10MB", 10 * 2**20), ("1GB", 2**30)):
            path = tmp / f"{name}.txt"
            with open(path, "wb") as f:
                written = 0
                while written < target:
                    f.write(block)
                    written += len(block)
            n_lines = (written // len(block)) * len(lines)
            start = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-v", rutopic_bin(), "predict", "--model",
                                   str(tmp / "model"), "--input", str(path), "--format", "jsonl"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wall = time.perf_counter() - start
            rss = next(int(line.split()[-1]) for line in proc.stderr.splitlines()
                       if "Maximum resident set size" in line) / 1024
            out[name] = {"bytes": written, "lines": n_lines, "peak_rss_mb": round(rss, 1),
                         "wall_s": round(wall, 1), "docs_per_s": round(n_lines / wall)}
            print(f"  predict --input {name}: peak RSS {rss:.0f} MB, {wall:.0f} s", flush=True)
            path.unlink()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def machine() -> dict:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform()}


def to_markdown(results: list[dict]) -> str:
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in results if r["repeat"] == 1):
        rows = [r for r in results if r["dataset"] == dataset and r["repeat"] == 1]
        base = next((r for r in rows if r["system"] == BASELINE), None)
        lines += [f"### {dataset} (train {rows[0]['n_train']} / test {rows[0]['n_test']})", "",
                  "| system | macro-F1 | accuracy | train s | predict docs/s | peak RSS MB | "
                  "model MB | train vs fastText | predict vs fastText |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            tr = f"{r['train_s'] / base['train_s']:.2f}x" if base else "-"
            pr = f"{r['predict_docs_per_s'] / base['predict_docs_per_s']:.2f}x" if base else "-"
            lines.append(f"| {r['system']} | {r['macro_f1']:.4f} | {r['accuracy']:.4f} | "
                         f"{r['train_s']:.1f} | {r['predict_docs_per_s']:,} | "
                         f"{r['peak_rss_mb']:.0f} | {r['model_mb']:.1f} | {tr} | {pr} |")
        ru = next((r for r in rows if r["system"] == "rutopic"), None)
        if ru and "cli_cold_predict_s" in ru:
            lines += ["", f"rutopic CLI: cold `rutopic predict \"<one text>\"` "
                          f"{ru['cli_cold_predict_s']:.3f} s wall (median of 7); "
                          f"`rutopic predict --input <10,000 lines>` "
                          f"{ru['cli_predict_10k_lines_s']:.2f} s wall; compact model "
                          f"{ru.get('compact_mb', 0):.1f} MB."]
        lines.append("")
    scaled = [r for r in results if r["repeat"] > 1 or (r["system"] == "rutopic" and
                                                        r["dataset"] == "telegram")]
    if any(r["repeat"] > 1 for r in scaled):
        lines += ["### rutopic training cost as the Telegram train set grows (repeated)", "",
                  "| scale | train items | train s | peak RSS MB |", "|---|---:|---:|---:|"]
        for r in sorted(scaled, key=lambda r: r["repeat"]):
            lines.append(f"| {r['repeat']}x | {r['n_train']:,} | {r['train_s']:.1f} | "
                         f"{r['peak_rss_mb']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bundled corpus only")
    parser.add_argument("--scaling", action="store_true", help="rutopic at 4x and 16x Telegram")
    parser.add_argument("--flat-memory", action="store_true", help="predict RSS, 10 MB vs 1 GB")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cli", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.dataset, args.repeat, Path(args.out), args.cli)
        return 0
    datasets = ["bundled"]
    if not args.quick:
        if TELEGRAM.exists():
            datasets.insert(0, "telegram")
        else:
            print(f"skip Telegram: {TELEGRAM} is absent (a clone without ../shared)", flush=True)
    info = machine()
    print(f"machine: {info['cores']} cores, {info['cpu']}", flush=True)
    results = []
    for dataset in datasets:
        for system in args.systems.split(","):
            r = run_worker(system, dataset, cli=(system == "rutopic"))
            if r:
                results.append(r)
    if args.scaling and "telegram" in datasets:
        for repeat in (4, 16):
            r = run_worker("rutopic", "telegram", repeat)
            if r:
                results.append(r)
    extra = {"flat_memory": flat_memory()} if args.flat_memory else {}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"machine": info, "results": results, **extra},
                                                 indent=2))
    md = to_markdown(results)
    if extra:
        fm = extra["flat_memory"]
        md += ("\n### `rutopic predict --input` memory\n\n| input | lines | peak RSS MB | wall s |"
               " docs/s |\n|---|---:|---:|---:|---:|\n" +
               "\n".join(f"| {k} | {v['lines']:,} | {v['peak_rss_mb']:.0f} | {v['wall_s']:.0f} "
                         f"| {v['docs_per_s']:,} |" for k, v in fm.items()) + "\n")
    header = (f"Run {info['date']} on {info['cores']} cores ({info['cpu']}), Python "
              f"{info['python']}: `python benchmarks/run.py {' '.join(argv or sys.argv[1:])}`\n\n")
    (OUT / "results.md").write_text(header + md)
    print("\n" + header + md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
