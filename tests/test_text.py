"""Normalisation and tokenisation of Russian news text."""

import pytest

from rutopic.model.text import EMAIL_TOKEN, NUM_TOKEN, URL_TOKEN, normalise, tokenize


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ёлка в Москве", "елка в москве"),
        ("МИД  РФ\t\tзаявил", "мид рф заявил"),
        ("Подробнее: https://t.me/+HWFlcuXhzKdhYWY6 и www.kazinform.kz/news",
         f"подробнее : {URL_TOKEN} и {URL_TOKEN}"),
        ("Пишите на press@mfa.kz сегодня", f"пишите на {EMAIL_TOKEN} сегодня"),
        ("Рост на 12,5% за 2024 год", f"рост на {NUM_TOKEN} % за {NUM_TOKEN} год"),
        ("[Подписаться на канал](https://t.me/topor) сейчас", "подписаться на канал сейчас"),
        ("⚡️Срочно: саммит 🇰🇿 отложен", "срочно : саммит отложен"),
        ("**Важно**: __курсив__", "важно : курсив"),
        ("Заголовок\n\n\n  Текст новости  ", "заголовок\nтекст новости"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Визы отменены!", ["визы", "отменены", "!"]),
        ("Экспорт вырос на 5%", ["экспорт", "вырос", "на", NUM_TOKEN, "%"]),
        ("Заголовок\nТекст", ["заголовок", "\n", "текст"]),
        ("", []),
    ],
)
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_private_separator_in_input_is_harmless():
    assert normalise("визы\ue000экспорт") == "визы экспорт"
