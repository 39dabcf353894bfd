"""rutopic: a topic classifier for Russian-language news (diplomacy, visas, trade, other).

    >>> import rutopic
    >>> result = rutopic.train()                       # bundled corpus -> default model dir
    >>> rutopic.predict("МИД Казахстана упростил визовый режим")
    [{'labels': ['visas'], 'scores': {...}}]
    >>> model = rutopic.load_model()                   # the scikit-learn estimator

Heavy modules (scikit-learn, pandas) load on first use of the names that need them, so
``import rutopic`` and the ``rutopic predict`` command stay fast.
"""

from __future__ import annotations

from importlib import import_module

from rutopic._version import __version__

_EXPORTS = {
    "TopicClassifier": "rutopic.model.estimator",
    "RussianVectorizer": "rutopic.model.estimator",
    "CompactModel": "rutopic.model.compact",
    "load_model": "rutopic.model.persistence",
    "save_model": "rutopic.model.persistence",
    "predict": "rutopic.model.predict",
    "info": "rutopic.model.info",
    "normalise": "rutopic.model.text",
    "tokenize": "rutopic.model.text",
    "train": "rutopic.training.train",
    "TrainResult": "rutopic.training.train",
    "evaluate": "rutopic.training.evaluate",
    "retrain": "rutopic.training.retrain",
    "GateConfig": "rutopic.training.retrain",
    "datasets": "rutopic.datasets",
    "RutopicError": "rutopic.errors",
    "DataError": "rutopic.errors",
    "ModelNotFoundError": "rutopic.errors",
    "ModelIntegrityError": "rutopic.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rutopic' has no attribute {name!r}")
    value = import_module(module)
    if name != "datasets":
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
