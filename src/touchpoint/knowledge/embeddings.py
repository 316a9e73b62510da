"""Sentence embeddings for semantic search, from the all-MiniLM-L6-v2 model of the optional `ml` extra.

Without the extra (no sentence-transformers, or no packaged model) `available()` is False and search is
lexical only; nothing else breaks. The model itself is `touchpoint.core.embeddings`: one copy per
process, shared with the bot. This module cuts articles into passages and keeps a cache of query vectors.

Vectors are L2-normalized float32, so a dot product is the cosine similarity; they are stored as raw
bytes (384 × 4 = 1,536 bytes each)."""

import re
import threading
from collections import OrderedDict

import numpy as np

from touchpoint.core import embeddings as model
from touchpoint.knowledge import conf

MODEL_NAME = model.MODEL_NAME
DIMENSIONS = model.DIMENSIONS
CHUNK_WORDS = 120  # a passage: well inside the model's 256 word pieces
MAX_CHUNKS = 12  # per article: the title and the first passages of a long body
QUERY_CACHE_SIZE = 2048

_lock = threading.Lock()
_query_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def available() -> bool:
    """Whether semantic search can run: switched on, and the ml extra installed (the model is shared
    with the bot through `touchpoint.core.embeddings`, loaded on first use)."""
    return conf.semantic_enabled() and model.available()


def unavailable_reason() -> str:
    if not conf.semantic_enabled():
        return "semantic search is turned off (KNOWLEDGE_SEMANTIC=false)"
    return model.unavailable_reason()


def encode(texts: list[str]) -> np.ndarray:
    """Normalized embeddings, one row per text. Raises RuntimeError when the ml extra is missing."""
    try:
        return model.encode(texts)
    except model.EmbeddingsUnavailable as error:
        raise RuntimeError(f"Semantic search is off: {error}") from error


def encode_query(text: str) -> np.ndarray | None:
    """One query's embedding, remembered for the next identical query; None without the ml extra."""
    if not available():
        return None
    key = " ".join(text.lower().split())
    with _lock:
        hit = _query_cache.get(key)
        if hit is not None:
            _query_cache.move_to_end(key)
            return hit
    try:
        vector = encode([key])[0]
    except RuntimeError:
        return None
    with _lock:
        _query_cache[key] = vector
        while len(_query_cache) > QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")


def chunk_texts(title: str, body_text: str) -> list[str]:
    """What an article is embedded as: its title alone, then passages of about CHUNK_WORDS words cut at
    sentence ends, each prefixed with the title so a passage keeps the article's subject."""
    chunks = [title.strip()]
    passage: list[str] = []
    words = 0
    for sentence in (s.strip() for s in _SENTENCE_RE.split(body_text)):
        if not sentence:
            continue
        count = len(sentence.split())
        if passage and words + count > CHUNK_WORDS:
            chunks.append(f"{title.strip()}: {' '.join(passage)}")
            passage, words = [], 0
            if len(chunks) >= MAX_CHUNKS:
                return chunks
        passage.append(sentence)
        words += count
    if passage and len(chunks) < MAX_CHUNKS:
        chunks.append(f"{title.strip()}: {' '.join(passage)}")
    return chunks
