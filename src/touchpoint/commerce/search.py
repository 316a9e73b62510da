"""Finding products by the words a customer types, typos included ("ridgline jaket").

An inverted index of the catalog's words is built once per catalog version (selectors caches it with
the vocabulary): each distinct word of a product's name, type, options and description points at the
products that have it, weighted by where it is (name 1, type and options 0.9, description 0.5). A
query word matches an indexed word exactly, as a prefix of four letters or more ("jack" finds
"jacket", "jackets" finds "jacket"), or by edit similarity of 80 % or more (rapidfuzz's ratio, run over
all indexed words at once in C). A product's relevance is the mean, over the query words, of its best
match: 1.0 when every word is in its name, 0 when none matches.
"""

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
MATCH_THRESHOLD = 80  # rapidfuzz ratio 0–100 from which two words are one word with a typo
PREFIX_MIN = 4
NAME, KIND, DESCRIPTION = 1.0, 0.9, 0.5
DESCRIPTION_CHARS = 2000
_STOPWORDS = frozenset("a an and any are at do does for from have i in is it me my of on or please the to want with "
                       "you your looking need some something".split())


@dataclass(frozen=True)
class IndexedProduct:
    product_id: int
    name: str
    kind: str  # the type and the text of the product's options and attributes
    description: str


@dataclass(frozen=True)
class TextIndex:
    tokens: tuple[str, ...]  # sorted, distinct
    token_set: frozenset[str]
    postings: dict[str, tuple[tuple[int, float], ...]]  # word → (product id, weight), the best weight per product

    @classmethod
    def build(cls, products: Iterable[IndexedProduct]) -> "TextIndex":
        best: dict[str, dict[int, float]] = defaultdict(dict)
        for product in products:
            for text, weight in ((product.description[:DESCRIPTION_CHARS], DESCRIPTION), (product.kind, KIND),
                                 (product.name, NAME)):
                for token in WORD_RE.findall(text.casefold()):
                    if best[token].get(product.product_id, 0.0) < weight:
                        best[token][product.product_id] = weight
        postings = {token: tuple(sorted(found.items())) for token, found in best.items()}
        tokens = tuple(sorted(postings))
        return cls(tokens=tokens, token_set=frozenset(tokens), postings=postings)


def query_words(text: str) -> list[str]:
    """The words of a query worth matching: lower case, without filler words, each once, at most 20."""
    words = [w for w in WORD_RE.findall((text or "")[:500].casefold()) if w not in _STOPWORDS]
    return list(dict.fromkeys(w for w in words if len(w) >= 2))[:20]


def relevance(index: TextIndex, words: list[str]) -> dict[int, float]:
    """Each product's relevance (0–1] for the words; products matching none are left out."""
    if not words or not index.tokens:
        return {}
    totals: dict[int, float] = defaultdict(float)
    for word in words:
        best: dict[int, float] = {}
        for token, similarity in _similar(index, word).items():
            for product_id, weight in index.postings[token]:
                score = similarity * weight
                if score > best.get(product_id, 0.0):
                    best[product_id] = score
        for product_id, score in best.items():
            totals[product_id] += score
    return {product_id: round(total / len(words), 4) for product_id, total in totals.items()}


def _similar(index: TextIndex, word: str) -> dict[str, float]:
    found: dict[str, float] = {}
    if word in index.token_set:
        found[word] = 1.0
    if len(word) < PREFIX_MIN:
        return found
    at = bisect_left(index.tokens, word)
    while at < len(index.tokens) and index.tokens[at].startswith(word):
        found[index.tokens[at]] = 1.0  # "jack" → "jacket"
        at += 1
    for end in range(PREFIX_MIN, len(word)):
        if word[:end] in index.token_set:
            found[word[:end]] = 1.0  # "jackets" → "jacket"
    for token, score, _ in process.extract(word, index.tokens, scorer=fuzz.ratio, score_cutoff=MATCH_THRESHOLD,
                                           limit=None):
        if len(token) >= 3 and token not in found:
            found[token] = score / 100
    return found
