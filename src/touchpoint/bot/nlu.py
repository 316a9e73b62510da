"""Intent classification with out-of-scope detection, trained from (text, intent) examples.

Two models, chosen by what is installed:

- **linear** (always): TF-IDF over word 1–2-grams and character 2–5-grams within word boundaries
  (sublinear tf), into a multinomial logistic regression (C=20). Tolerant of typos through the
  character n-grams; about a millisecond per message.
- **ml** (with the optional `ml` extra): the same linear model and a second logistic regression over
  frozen all-MiniLM-L6-v2 sentence embeddings (normalized), combined as a weighted geometric mean of
  their probabilities (`linear_weight` 0.4). One embedding per message (10–20 ms on two cores). An
  `ml` model keeps its linear half, so on a machine without the extra it still answers, and says
  `mode="linear"`.

The hyper-parameters (`TrainingParams`) were chosen on BANKING77's training set only (a stratified
10 % split, seed 0, then 5-fold cross-validation to tell close candidates apart), never on its test
set; bench/intent.py reports the test figures.

**Out of scope** (the bot must not guess). A prediction is out of scope when any of these holds:
1. the message has nothing the model was taught: no word or character n-gram of its examples
   (empty, emoji only, another script, noise);
2. the *background* class wins: the model also learns ~200 shipped messages no business serves
   (chit-chat, trivia, requests to an AI such as "ignore previous instructions", keyboard noise;
   bot/data/out_of_scope.txt), weighted together as a quarter of an average intent;
3. the confidence, the top intent's probability, is below the threshold. The threshold is
   calibrated when training: a stratified `calibration_share` (15 %) of each intent with 3+
   examples is held out (seed 0), a model trained on the rest predicts it, and the threshold is the
   confidence below which lie `max_in_scope_loss` (5 %) of the held-out messages it got right,
   clamped to [0.05, 0.9]. The final model is then trained on everything (warm-started from the
   first). With too few examples to hold any out, the threshold is halfway between chance
   (1 / intents) and certainty. A workspace may set its own.

**Model files are trusted input.** `to_bytes()` pickles our own objects (scikit-learn estimators,
numpy arrays) behind a header; `from_bytes()` unpickles through an allow-list (numpy's array helpers
and classes of numpy, scikit-learn and scipy.sparse only, never a function or a memmap), refuses a
file from another scikit-learn version, and says to retrain. That blocks a tampered file from
naming an arbitrary function, but a model file is still code-adjacent: load only files this system
wrote.
"""

from __future__ import annotations

import io
import logging
import pickle
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from touchpoint.core import embeddings

log = logging.getLogger(__name__)

Mode = Literal["linear", "ml"]
MODE_LINEAR: Mode = "linear"
MODE_ML: Mode = "ml"
MODE_AUTO = "auto"
BACKGROUND = "\x00out-of-scope"  # the background class; no intent can be named so
MODES = (MODE_LINEAR, MODE_ML, MODE_AUTO)

MAX_CHARS = 1_000  # what is read of a message: its start says what it is about
MAX_TOKENS = 128  # of it, what the embedding model reads: a chat message is far shorter
RANKING_SIZE = 5
CONFUSION_PAIRS = 50
FORMAT = b"TOUCHPOINT-INTENTS\x00"
FORMAT_VERSION = 1


class TrainingError(ValueError):
    """The examples cannot make a model (too few intents, empty texts, ...); the message says what to fix."""


class ModelFileError(ValueError):
    """The bytes are not a model this version can load; retrain."""


@dataclass(frozen=True)
class TrainingParams:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    c_linear: float = 20.0  # inverse L2 strength of the n-gram model
    c_embedding: float = 50.0  # of the embedding model
    linear_weight: float = 0.4  # the n-gram model's exponent in the ml mode's product of the two
    calibration_share: float = 0.15
    max_in_scope_loss: float = 0.05
    min_threshold: float = 0.05
    max_threshold: float = 0.9
    seed: int = 0
    max_iter: int = 2000
    threads: int = 1  # BLAS / OpenMP threads while fitting: on a shared machine one is faster (see train)
    background: bool = True  # learn the shipped out-of-scope messages as a class of their own
    background_weight: float = 0.25  # its total weight, in average intents


@dataclass(frozen=True)
class IntentPrediction:
    intent: str | None  # None when out of scope
    confidence: float  # the top intent's probability, 0–1
    ranking: list[tuple[str, float]]  # the best intents with their probabilities, best first
    out_of_scope: bool

    @property
    def best_guess(self) -> str | None:
        """The top intent even when out of scope (for "did you mean ...?")."""
        return self.ranking[0][0] if self.ranking else None

    def as_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "out_of_scope": self.out_of_scope,
                "ranking": [{"intent": name, "p": round(p, 4)} for name, p in self.ranking]}


@dataclass(frozen=True)
class Evaluation:
    """How a model does on labelled messages. With an out-of-scope label, its rows should be turned away
    and the others answered right; without one, every row is in scope."""

    examples: int
    accuracy: float  # prediction (or the OOS label when turned away) equals the label
    macro_f1: float
    closed_accuracy: float  # the top intent equals the label, ignoring the threshold (the usual benchmark figure)
    closed_macro_f1: float  # macro-F1 of the top intents over the in-scope rows, ignoring the threshold
    answered: float  # share of in-scope rows not turned away
    in_scope_accuracy: float | None = None  # in-scope rows answered with the right intent (OOS label given)
    oos_recall: float | None = None  # OOS rows turned away (OOS label given)
    oos_examples: int = 0
    unknown_labels: tuple[str, ...] = ()  # labels the model was not trained on (counted as out of scope)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Calibration:
    threshold: float
    held_out: int = 0
    held_out_accuracy: float | None = None
    answered: float | None = None
    answered_accuracy: float | None = None
    # the held-out messages taken for another intent: [{"expected", "predicted", "count"}], most first
    confusion: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _State:
    """What a model file holds: our own objects only."""

    features: FeatureUnion
    linear: LogisticRegression
    embedding: LogisticRegression | None
    intents: tuple[str, ...]
    params: TrainingParams
    thresholds: dict[str, float]  # per mode that can run: {"linear": .., "ml": ..}
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_mode: Mode = MODE_LINEAR
    created_at: str = ""
    versions: dict[str, str] = field(default_factory=dict)


class IntentClassifier:
    """A trained intent model. Build one with `IntentClassifier.train(...)` or `from_bytes(...)`."""

    def __init__(self, state: _State) -> None:
        self._state = state

    # ---- what it is ----------------------------------------------------------------------------

    @property
    def intents(self) -> tuple[str, ...]:
        return self._state.intents

    @property
    def trained_mode(self) -> Mode:
        return self._state.trained_mode

    @property
    def mode(self) -> Mode:
        """What predicts now: "ml" only when trained so and the embeddings can run in this process."""
        if self._state.embedding is not None and embeddings.available():
            return MODE_ML
        return MODE_LINEAR

    @property
    def threshold(self) -> float:
        """The calibrated out-of-scope threshold of the mode that predicts now."""
        return self._state.thresholds.get(self.mode, self._state.thresholds[MODE_LINEAR])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._state.metrics)

    @property
    def params(self) -> TrainingParams:
        return self._state.params

    # ---- training --------------------------------------------------------------------------------

    @classmethod
    def train(cls, examples: Iterable[tuple[str, str]], *, mode: str = MODE_AUTO,
              params: TrainingParams | None = None) -> IntentClassifier:
        """Train on (text, intent) pairs. `mode`: "linear", "ml" (refused without the ml extra) or "auto"
        (ml when installed). Raises TrainingError with a message a person can act on.

        The fits run with `params.threads` BLAS / OpenMP threads (1): with other work on two cores, the
        10,000-example fit took 21 s on one thread and 39 s on two."""
        params = params or TrainingParams()
        with threadpool_limits(limits=params.threads):
            return cls._train(examples, mode, params)

    @classmethod
    def _train(cls, examples: Iterable[tuple[str, str]], mode: str, params: TrainingParams) -> IntentClassifier:
        started = time.perf_counter()
        texts, labels = _examples(examples)
        use_ml = _use_ml(mode)
        intents = tuple(sorted(set(labels)))
        background = _background(texts) if params.background else []
        all_texts = texts + background
        y = np.asarray(labels + [BACKGROUND] * len(background), dtype=object)
        weights = np.ones(len(all_texts))
        if background:  # the background weighs as much as an average intent (times background_weight)
            weights[len(texts):] = params.background_weight * len(texts) / len(intents) / len(background)
        features = _features(params)
        matrix = features.fit_transform(all_texts)
        vectors = embeddings.encode(all_texts, max_tokens=MAX_TOKENS) if use_ml else None
        linear = _logistic(params.c_linear, params)
        embedding = _logistic(params.c_embedding, params) if use_ml else None

        train_rows, held_rows = _calibration_split(labels, params)
        train_rows = np.concatenate([train_rows, np.arange(len(texts), len(all_texts))]).astype(int)
        calibrations: dict[str, _Calibration] = {}
        if len(held_rows):
            linear.fit(matrix[train_rows], y[train_rows], sample_weight=weights[train_rows])
            p_linear = linear.predict_proba(matrix[held_rows])
            calibrations[MODE_LINEAR] = _calibrate(p_linear, linear.classes_, y[held_rows], params)
            if embedding is not None and vectors is not None:
                embedding.fit(vectors[train_rows], y[train_rows], sample_weight=weights[train_rows])
                p_ml = _blend(p_linear, embedding.predict_proba(vectors[held_rows]), params)
                calibrations[MODE_ML] = _calibrate(p_ml, linear.classes_, y[held_rows], params)
            linear.set_params(warm_start=True)
            if embedding is not None:
                embedding.set_params(warm_start=True)
        else:
            default = _default_threshold(len(intents))
            calibrations = {MODE_LINEAR: _Calibration(default), **({MODE_ML: _Calibration(default)} if use_ml else {})}
        linear.fit(matrix, y, sample_weight=weights)
        if embedding is not None and vectors is not None:
            embedding.fit(vectors, y, sample_weight=weights)
        trained: Mode = MODE_ML if use_ml else MODE_LINEAR
        counts = Counter(labels)
        metrics = {
            "examples": len(texts), "intents": len(intents), "mode": trained, "background_examples": len(background),
            "features": int(matrix.shape[1]), "train_seconds": round(time.perf_counter() - started, 2),
            "threshold": calibrations[trained].threshold,
            "confusion": calibrations[trained].confusion,
            "calibration": {name: asdict(c) for name, c in calibrations.items()},
            "examples_per_intent": {"min": min(counts.values()), "max": max(counts.values())},
        }
        state = _State(features=features, linear=linear, embedding=embedding, intents=intents, params=params,
                       thresholds={name: c.threshold for name, c in calibrations.items()}, metrics=metrics,
                       trained_mode=trained, created_at=datetime.now(UTC).isoformat(), versions=_versions())
        return cls(state)

    # ---- predicting -------------------------------------------------------------------------------

    def predict(self, text: str, *, threshold: float | None = None) -> IntentPrediction:
        """Never raises on what a customer may type: empty, huge, emoji, any script, hostile text.
        `threshold` overrides the calibrated one (a workspace's setting)."""
        return self.predict_many([text], threshold=threshold)[0]

    def predict_many(self, texts: Sequence[str], *, threshold: float | None = None) -> list[IntentPrediction]:
        prepared = [prepare(t) for t in texts]
        if not prepared:
            return []
        # Our own fitted estimators and finite TF-IDF rows: scikit-learn's checks would cost a third of a message.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            matrix = sp.csr_matrix(self._state.features.transform(prepared))
            probabilities = self._state.linear.predict_proba(matrix)
        if self.mode == MODE_ML and self._state.embedding is not None:
            try:
                vectors = embeddings.encode(prepared, max_tokens=MAX_TOKENS)
            except embeddings.EmbeddingsUnavailable:
                log.warning("embeddings unavailable: predicting with the linear model alone")
            else:
                with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                    embedded = self._state.embedding.predict_proba(vectors)
                probabilities = _blend(probabilities, embedded, self._state.params)
        known = np.diff(matrix.indptr) > 0  # rows with at least one n-gram seen in training
        classes = self._state.linear.classes_
        threshold = self.threshold if threshold is None else threshold
        return [_prediction(row, classes, threshold, bool(seen) and _has_content(text))
                for row, seen, text in zip(probabilities, known, prepared, strict=True)]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str], *, oos_label: str | None = None,
                 threshold: float | None = None, batch_size: int = 256) -> Evaluation:
        """Accuracy, macro-F1 and, with `oos_label`, out-of-scope recall and in-scope accuracy."""
        predictions: list[IntentPrediction] = []
        for start in range(0, len(texts), batch_size):
            predictions += self.predict_many(texts[start:start + batch_size], threshold=threshold)
        return evaluate_predictions(predictions, labels, known=set(self.intents), oos_label=oos_label)

    # ---- files ------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self._state, buffer, protocol=5)
        return FORMAT + bytes([FORMAT_VERSION]) + zlib.compress(buffer.getvalue(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> IntentClassifier:
        """Load what `to_bytes` wrote. Raises ModelFileError for anything else (see the module docstring)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ModelFileError("A model is bytes.")
        data = bytes(data)
        if not data.startswith(FORMAT):
            raise ModelFileError("This is not a Touchpoint intent model file.")
        version = data[len(FORMAT):len(FORMAT) + 1]
        if version != bytes([FORMAT_VERSION]):
            raise ModelFileError(f"Model file format {version!r} is not {FORMAT_VERSION}; retrain the model.")
        try:
            state = _RestrictedUnpickler(io.BytesIO(zlib.decompress(data[len(FORMAT) + 1:]))).load()
        except ModelFileError:
            raise
        except Exception as error:
            raise ModelFileError(f"The model file is damaged ({type(error).__name__}); retrain the model.") from error
        if not isinstance(state, _State):
            raise ModelFileError("The model file holds something other than an intent model.")
        trained_with = state.versions.get("scikit-learn")
        if trained_with != sklearn.__version__:
            raise ModelFileError(f"The model was trained with scikit-learn {trained_with}, this is "
                                 f"{sklearn.__version__}; retrain it (touchpoint bot train).")
        return cls(state)

    def save(self, path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(self.to_bytes())

    @classmethod
    def load(cls, path: str) -> IntentClassifier:
        with open(path, "rb") as handle:
            return cls.from_bytes(handle.read())


# ---- helpers ----------------------------------------------------------------------------------------


def prepare(text: Any) -> str:
    """The message as the model reads it: text, NFKC-normalized (full-width letters, ligatures), its
    first MAX_CHARS characters, whitespace collapsed. Anything that is not a string reads as empty."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS * 2])[:MAX_CHARS]
    return " ".join(text.split())


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _examples(examples: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for n, pair in enumerate(examples, 1):
        try:
            text, label = pair
        except (TypeError, ValueError):
            raise TrainingError(f"Example {n} is not a (text, intent) pair.") from None
        text, label = prepare(text), (label.strip() if isinstance(label, str) else "")
        if not text or not _has_content(text):
            raise TrainingError(f"Example {n} has no text; remove it or write the customer's words.")
        if not label:
            raise TrainingError(f"Example {n} ({text[:40]!r}) has no intent.")
        if label == BACKGROUND:
            raise TrainingError(f"Example {n}: the intent name {label!r} is reserved.")
        texts.append(text)
        labels.append(label)
    intents = set(labels)
    if len(intents) < 2:
        found = f"only {next(iter(intents))!r}" if intents else "none"
        raise TrainingError(f"A model needs examples of at least 2 intents; found {found}.")
    return texts, labels


def background_messages() -> list[str]:
    """The shipped out-of-scope messages (bot/data/out_of_scope.txt): chit-chat, trivia, requests to
    an AI, noise; nothing a business of any trade would serve."""
    global _background_cache
    if _background_cache is None:
        try:
            text = resources.files("touchpoint.bot").joinpath("data", "out_of_scope.txt").read_text(encoding="utf-8")
        except (FileNotFoundError, OSError):
            # An installation without the package's data files: the model still trains, with thresholds alone.
            log.warning("touchpoint/bot/data/out_of_scope.txt is missing: training without the background class")
            text = ""
        _background_cache = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(_background_cache)


_background_cache: list[str] | None = None


def _background(texts: list[str]) -> list[str]:
    """The background, less any message the examples teach as an intent (the workspace's word wins)."""
    taught = {" ".join(t.casefold().split()) for t in texts}
    return [m for m in background_messages() if " ".join(m.casefold().split()) not in taught]


def _use_ml(mode: str) -> bool:
    if mode not in MODES:
        raise TrainingError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
    if mode == MODE_ML and not embeddings.available():
        raise TrainingError("Mode ml needs the ml extra (sentence-transformers); install it or use --mode linear.")
    return mode == MODE_ML or (mode == MODE_AUTO and embeddings.available())


def _features(params: TrainingParams) -> FeatureUnion:
    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=params.word_ngrams, sublinear_tf=True,
                                  dtype=np.float32)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=params.char_ngrams, sublinear_tf=True,
                                  dtype=np.float32)),
    ])


def _logistic(c: float, params: TrainingParams) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=params.max_iter)


def _blend(p_linear: np.ndarray, p_embedding: np.ndarray, params: TrainingParams) -> np.ndarray:
    """The two models' weighted geometric mean, renormalized: an intent both find likely wins, and the
    probabilities stay sharper (better calibrated, on BANKING77) than an average's."""
    w = params.linear_weight
    logs = w * np.log(np.clip(p_linear, 1e-12, 1.0)) + (1 - w) * np.log(np.clip(p_embedding, 1e-12, 1.0))
    blended = np.exp(logs - logs.max(axis=1, keepdims=True))
    return blended / blended.sum(axis=1, keepdims=True)


def _calibration_split(labels: list[str], params: TrainingParams) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on and rows to calibrate on: `calibration_share` of each intent that has 3+ examples
    (at least one of them), drawn with the seed; intents with fewer stay whole in the fitting part."""
    rng = np.random.default_rng(params.seed)
    by_intent: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        by_intent.setdefault(label, []).append(row)
    held: list[int] = []
    for rows in by_intent.values():
        if len(rows) >= 3:
            count = max(1, round(len(rows) * params.calibration_share))
            held += rng.choice(rows, size=count, replace=False).tolist()
    held_set = set(held)
    train = [row for row in range(len(labels)) if row not in held_set]
    return np.asarray(train, dtype=int), np.asarray(sorted(held), dtype=int)


def _calibrate(probabilities: np.ndarray, classes: np.ndarray, truth: np.ndarray,
               params: TrainingParams) -> _Calibration:
    top = probabilities.argmax(axis=1)
    intent_columns = classes != BACKGROUND
    confidence = probabilities[:, intent_columns].max(axis=1)
    correct = classes[top] == truth
    if correct.any():
        threshold = float(np.quantile(confidence[correct], params.max_in_scope_loss, method="lower"))
    else:
        threshold = _default_threshold(len(classes))
    threshold = round(min(max(threshold, params.min_threshold), params.max_threshold), 4)
    answered = (confidence >= threshold) & (classes[top] != BACKGROUND)
    said = ["(out of scope)" if c == BACKGROUND else str(c) for c in classes[top]]
    mistakes = Counter((str(t), p) for t, p, ok in zip(truth, said, correct, strict=True) if not ok)
    return _Calibration(
        threshold=threshold, held_out=int(len(truth)), held_out_accuracy=round(float(correct.mean()), 4),
        answered=round(float(answered.mean()), 4),
        answered_accuracy=round(float(correct[answered].mean()), 4) if answered.any() else None,
        confusion=[{"expected": t, "predicted": p, "count": n}
                   for (t, p), n in sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))[:CONFUSION_PAIRS]],
    )


def _default_threshold(intents: int) -> float:
    return round((1 / max(intents, 1) + 1) / 2, 4)


def _prediction(row: np.ndarray, classes: np.ndarray, threshold: float, readable: bool) -> IntentPrediction:
    if not readable:
        return IntentPrediction(intent=None, confidence=0.0, ranking=[], out_of_scope=True)
    background = classes[int(row.argmax())] == BACKGROUND
    order = [i for i in np.argsort(-row) if classes[i] != BACKGROUND][:RANKING_SIZE]
    ranking = [(str(classes[i]), float(row[i])) for i in order]
    confidence = ranking[0][1]
    out_of_scope = background or confidence < threshold
    return IntentPrediction(intent=None if out_of_scope else ranking[0][0], confidence=confidence, ranking=ranking,
                            out_of_scope=out_of_scope)


def evaluate_predictions(predictions: Sequence[IntentPrediction], labels: Sequence[str], *, known: set[str],
                         oos_label: str | None = None) -> Evaluation:
    """The figures of `Evaluation` for predictions against their labels. A label the model does not know
    (and the OOS label) is out of scope: turning it away is right."""
    if len(predictions) != len(labels):
        raise ValueError("one label per prediction")
    if not labels:
        raise ValueError("nothing to evaluate")
    outside = "\x00out-of-scope"
    oos_names = {oos_label} if oos_label else set()
    truth = [outside if (label in oos_names or label not in known) else label for label in labels]
    said = [outside if p.out_of_scope else p.intent for p in predictions]
    guessed = [p.best_guess for p in predictions]
    in_scope = [i for i, t in enumerate(truth) if t != outside]
    oos_rows = [i for i, t in enumerate(truth) if t == outside]
    accuracy = sum(s == t for s, t in zip(said, truth, strict=True)) / len(truth)
    closed = sum(guessed[i] == truth[i] for i in in_scope) / len(in_scope) if in_scope else 0.0
    answered = sum(not predictions[i].out_of_scope for i in in_scope) / len(in_scope) if in_scope else 0.0
    f1_labels = sorted(set(truth) | ({outside} if oos_rows else set()))
    macro = float(f1_score(truth, [s or outside for s in said], labels=f1_labels, average="macro", zero_division=0))
    closed_truth = [truth[i] for i in in_scope]
    closed_macro = float(f1_score(closed_truth, [guessed[i] or outside for i in in_scope],
                                  labels=sorted(set(closed_truth)), average="macro", zero_division=0)) if in_scope else 0.0
    unknown = tuple(sorted({label for label in labels if label not in known and label not in oos_names}))
    result = Evaluation(examples=len(labels), accuracy=round(accuracy, 4), macro_f1=round(macro, 4),
                        closed_accuracy=round(closed, 4), closed_macro_f1=round(closed_macro, 4),
                        answered=round(answered, 4),
                        oos_examples=len(oos_rows), unknown_labels=unknown)
    if oos_rows:
        in_scope_accuracy = sum(said[i] == truth[i] for i in in_scope) / len(in_scope) if in_scope else 0.0
        oos_recall = sum(said[i] == outside for i in oos_rows) / len(oos_rows)
        result = Evaluation(**{**asdict(result), "in_scope_accuracy": round(in_scope_accuracy, 4),
                               "oos_recall": round(oos_recall, 4), "unknown_labels": unknown})
    return result


def _versions() -> dict[str, str]:
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "format": str(FORMAT_VERSION)}


# ---- loading model files: only what our models are made of -------------------------------------------

# Helpers numpy pickles its arrays and scalars with; besides these, only the kinds of class a model is made
# of: scikit-learn estimators, numpy arrays, dtypes and scalar types, scipy sparse matrices. A class's
# constructor is all that unpickling may call, so none that opens or writes files (a memmap) is allowed.
_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("copyreg", "_reconstructor"), ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("touchpoint.bot.nlu", "_State"), ("touchpoint.bot.nlu", "TrainingParams"),
}
_ALLOWED_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float",
                     "complex", "bool", "slice", "object"}


def _model_class(found: Any) -> bool:
    from sklearn.base import BaseEstimator

    if not isinstance(found, type) or issubclass(found, np.memmap):
        return False
    return (issubclass(found, BaseEstimator | np.ndarray | np.generic | np.dtype) or found is np.dtype
            or issubclass(found, sp.spmatrix | sp.sparray))


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name in _ALLOWED_BUILTINS:
                return super().find_class(module, name)
        elif (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        elif module.split(".")[0] in ("numpy", "sklearn", "scipy"):
            found = super().find_class(module, name)
            if _model_class(found):
                return found
        raise ModelFileError(f"The model file refers to {module}.{name}, which an intent model never holds; "
                             "it was not written by Touchpoint and was not loaded.")
