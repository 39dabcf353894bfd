"""Shared fixtures: small inline Russian data, an isolated model home, trained models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: A tiny multi-label training set: enough for every code path, fast to fit.
SMALL = [
    ("Министр иностранных дел провёл переговоры с послом Германии", ["diplomacy"]),
    ("Президенты двух стран обсудили двусторонние отношения на саммите", ["diplomacy"]),
    ("МИД вызвал посла и вручил ему ноту протеста", ["diplomacy"]),
    ("Глава МИД прибыл с официальным визитом в Анкару", ["diplomacy"]),
    ("Посольство закрыто из-за угрозы безопасности, сообщил МИД", ["diplomacy"]),
    ("Генсек ООН призвал стороны вернуться к переговорам", ["diplomacy"]),
    ("Для граждан Казахстана отменили визы, въезд без визы до 30 дней", ["visas"]),
    ("Консульский сбор за шенгенскую визу вырос до 90 евро", ["visas"]),
    ("Электронную визу теперь оформляют за три дня", ["visas"]),
    ("Визовый центр Италии возобновил приём документов на визы", ["visas"]),
    ("Иностранцам продлили срок пребывания без визы до 90 дней", ["visas"]),
    ("Безвизовый режим для туристов из Китая начнёт действовать с июня", ["visas"]),
    ("Экспорт пшеницы в Египет вырос на 20%, сообщила таможня", ["trade"]),
    ("Правительство ввело пошлину на вывоз подсолнечного масла", ["trade"]),
    ("Товарооборот между странами достиг 30 млрд долларов", ["trade"]),
    ("Поставки угля в Индию выросли, импорт машин из Китая сократился", ["trade"]),
    ("ЕС ввёл антидемпинговые пошлины на импорт стали", ["trade"]),
    ("Запрет на ввоз томатов снят, экспорт возобновится", ["trade"]),
    ("Кайрат обыграл Астану со счётом 2:1 и вышел в финал кубка", ["other"]),
    ("В Алматы ожидается снег и гололёд, синоптики предупредили водителей", ["other"]),
    ("Курс тенге к доллару обновил минимум на бирже", ["other"]),
    ("В Шымкенте задержали подозреваемого в краже автомобилей", ["other"]),
    ("Учёные открыли новый вид бактерий в горячих источниках", ["other"]),
    ("В театре оперы прошла премьера балета, зал аплодировал стоя", ["other"]),
    ("Цены на бензин на заправках выросли на два процента", ["other"]),
    ("Школьники написали итоговое сочинение, результаты через неделю", ["other"]),
    ("Главы МИД договорились отменить визы и нарастить товарооборот", ["diplomacy", "trade", "visas"]),
    ("На переговорах министров подписано соглашение о безвизовом режиме", ["diplomacy", "visas"]),
    ("Президент в ходе визита договорился об увеличении поставок зерна и товарооборота", ["diplomacy", "trade"]),
    ("Визы для водителей грузовиков упростят, чтобы ускорить экспорт", ["trade", "visas"]),
]


@pytest.fixture()
def small_data() -> tuple[list[str], list[list[str]]]:
    return [t for t, _ in SMALL], [labs for _, labs in SMALL]


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """An empty RUTOPIC_HOME, so tests never touch the user's models."""
    path = tmp_path / "home"
    monkeypatch.setenv("RUTOPIC_HOME", str(path))
    return path


@pytest.fixture()
def small_jsonl(tmp_path) -> Path:
    path = tmp_path / "small.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, (text, labels) in enumerate(SMALL):
            f.write(json.dumps({"id": f"s{i}", "text": text, "labels": labels},
                               ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def news_model():
    """The default model trained on the bundled corpus's train split (session-wide)."""
    from rutopic.datasets import load_news
    from rutopic.model.estimator import TopicClassifier

    train = load_news(split="train")
    return TopicClassifier().fit(train.data, train.target)


@pytest.fixture(scope="session")
def saved_news_model(tmp_path_factory, news_model):
    from rutopic.model.persistence import save_model

    path = tmp_path_factory.mktemp("models") / "news"
    save_model(news_model, path, metadata={"note": "test"})
    return path
