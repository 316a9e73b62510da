"""The catalog's text index: exact words, prefixes, plurals and typos, weighted by where the word is."""

import pytest

from touchpoint.commerce.search import IndexedProduct, TextIndex, query_words, relevance

INDEX = TextIndex.build([
    IndexedProduct(1, "Ridgeline Rain Jacket", "jacket black red recycled nylon", "A waterproof shell."),
    IndexedProduct(2, "Summit Down Jacket", "jacket black blue", "800-fill goose down for cold summits."),
    IndexedProduct(3, "Merino Trail Socks", "socks grey", "Warm when wet."),
])


@pytest.mark.parametrize("text,expected", [
    ("ridgeline", {1: 1.0}),  # in the name
    ("ridgline", {1: 0.94}),  # a letter missing
    ("ridge", {1: 1.0}),  # a prefix of four letters or more
    ("jackets", {1: 1.0, 2: 1.0}),  # a plural
    ("nylon", {1: 0.9}),  # in the options and attributes
    ("goose", {2: 0.5}),  # only in the description
    ("sokcs", {3: 0.8}),  # swapped letters
    ("red socks", {1: 0.45, 3: 0.5}),  # the mean over the words
    ("kayak", {}),
    ("", {}),
])
def test_relevance(text, expected):
    assert relevance(INDEX, query_words(text)) == pytest.approx(expected, abs=0.01)


def test_short_words_match_only_exactly_and_filler_words_are_dropped():
    assert relevance(INDEX, ["re"]) == {}
    assert query_words("I want a black jacket, please!") == ["black", "jacket"]
    assert query_words("x" * 10_000) == ["x" * 500]
    assert query_words("🧥 куртка 夹克") == ["куртка", "夹克"]


def test_an_empty_catalog_matches_nothing():
    assert relevance(TextIndex.build([]), ["jacket"]) == {}
