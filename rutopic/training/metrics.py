"""Evaluation metrics and their text rendering, shared by train, evaluate and retrain."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def label_matrix(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """0/1 matrix of label lists over ``labels``."""
    pos = {lab: i for i, lab in enumerate(labels)}
    Y = np.zeros((len(label_lists), len(labels)), dtype=int)
    for i, labs in enumerate(label_lists):
        for lab in labs:
            if lab in pos:
                Y[i, pos[lab]] = 1
    return Y


def compute_metrics(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *,
                    labels: Sequence[str] | None = None, multilabel: bool = True) -> dict:
    """Per-label precision/recall/F1/support, macro-F1, accuracy and a confusion matrix.

    Accuracy is subset accuracy (the whole label set right) in multi-label mode. The confusion
    matrix is label x label in single-label mode, and per label [[tn, fp], [fn, tp]] otherwise.
    """
    labels = list(labels) if labels is not None else sorted({l for ls in true for l in ls} |
                                                            {l for ls in pred for l in ls})
    Yt, Yp = label_matrix(true, labels), label_matrix(pred, labels)
    tp = (Yt & Yp).sum(0)
    fp = ((1 - Yt) & Yp).sum(0)
    fn = (Yt & (1 - Yp)).sum(0)
    precision = np.divide(tp, tp + fp, out=np.zeros(len(labels)), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(len(labels)), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(labels)),
                   where=(precision + recall) > 0)
    support = Yt.sum(0)
    present = support > 0
    per_label = {lab: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                       "f1": round(float(f), 4), "support": int(s)}
                 for lab, p, r, f, s in zip(labels, precision, recall, f1, support)}
    result = {
        "macro_f1": round(float(f1[present].mean()) if present.any() else 0.0, 4),
        "accuracy": round(float((Yt == Yp).all(1).mean()) if len(Yt) else 0.0, 4),
        "per_label": per_label,
        "n": int(len(Yt)),
        "mode": "multi-label" if multilabel else "single-label",
        "labels": labels,
    }
    if multilabel:
        result["confusion"] = {lab: [[int(((1 - Yt[:, j]) & (1 - Yp[:, j])).sum()), int(fp[j])],
                                     [int(fn[j]), int(tp[j])]] for j, lab in enumerate(labels)}
    else:
        ti, pi = Yt.argmax(1), Yp.argmax(1)
        cm = np.zeros((len(labels), len(labels)), dtype=int)
        np.add.at(cm, (ti, pi), 1)
        result["confusion"] = cm.tolist()
    return result


def format_report(metrics: dict) -> str:
    """The per-label table with macro-F1 and accuracy, as plain text."""
    width = max([5] + [len(lab) for lab in metrics["per_label"]])
    lines = [f"{'label':<{width}}  precision  recall     f1  support"]
    for lab, m in metrics["per_label"].items():
        lines.append(f"{lab:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  "
                     f"{m['f1']:5.3f}  {m['support']:7d}")
    acc = "subset accuracy" if metrics["mode"] == "multi-label" else "accuracy"
    lines.append(f"macro-F1 {metrics['macro_f1']:.3f}   {acc} {metrics['accuracy']:.3f}   "
                 f"n {metrics['n']}")
    return "\n".join(lines)


def format_confusion(metrics: dict) -> str:
    """The confusion matrix as plain text (rows: true, columns: predicted)."""
    labels = metrics["labels"]
    if metrics["mode"] == "multi-label":
        width = max(len(lab) for lab in labels)
        lines = [f"{'label':<{width}}     tn     fp     fn     tp"]
        for lab in labels:
            (tn, fp), (fn, tp) = metrics["confusion"][lab]
            lines.append(f"{lab:<{width}}  {tn:5d}  {fp:5d}  {fn:5d}  {tp:5d}")
        return "\n".join(lines)
    corner = "true \\ pred"
    width = max(len(lab) for lab in labels + [corner])
    cols = [max(5, len(lab)) for lab in labels]
    lines = [f"{corner:<{width}}  " + "  ".join(f"{lab:>{c}}" for lab, c in zip(labels, cols))]
    for lab, row in zip(labels, metrics["confusion"]):
        lines.append(f"{lab:<{width}}  " + "  ".join(f"{v:>{c}d}" for v, c in zip(row, cols)))
    return "\n".join(lines)


def plot_confusion(metrics: dict, path) -> None:
    """Draw the confusion matrix to an image file (needs matplotlib: rutopic[plot])."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from rutopic.errors import RutopicError

        raise RutopicError("--plot needs matplotlib; pip install 'rutopic[plot]'") from None
    labels = metrics["labels"]
    if metrics["mode"] == "multi-label":
        cm = np.array([[metrics["confusion"][lab][0][0], metrics["confusion"][lab][0][1],
                        metrics["confusion"][lab][1][0], metrics["confusion"][lab][1][1]]
                       for lab in labels])
        xt, yt = ["tn", "fp", "fn", "tp"], labels
    else:
        cm, xt, yt = np.array(metrics["confusion"]), labels, labels
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(xt), 1.0 + 0.6 * len(yt)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(xt)), xt, rotation=45, ha="right")
    ax.set_yticks(range(len(yt)), yt)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set_title(f"macro-F1 {metrics['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
