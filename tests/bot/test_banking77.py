"""A slow check on real data: a linear model trained on part of BANKING77 (when the data set is next to
the repository, as bench/intent.py expects it) stays accurate and turns away intents it was not taught."""

import random
from pathlib import Path

import pytest

from touchpoint.bot.corpus import read_csv
from touchpoint.bot.nlu import IntentClassifier

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77"


@pytest.fixture(scope="module")
def banking77():
    if not (DATA / "train.csv").is_file():
        pytest.skip(f"BANKING77 is not at {DATA} (it is never copied into the repository)")
    return read_csv(DATA / "train.csv"), read_csv(DATA / "test.csv")


def test_a_linear_model_on_twenty_banking_intents(banking77):
    train, test = banking77
    rng = random.Random(0)
    intents = rng.sample(train.intents, 25)
    taught, unknown = set(intents[:20]), set(intents[20:])
    examples = [(t, label) for t, label in train.pairs() if label in taught]
    model = IntentClassifier.train(examples, mode="linear")
    rows = [(t, label if label in taught else "unknown") for t, label in test.pairs() if label in taught | unknown]
    found = model.evaluate([t for t, _ in rows], [label for _, label in rows], oos_label="unknown")
    assert found.examples == 25 * 40 and found.oos_examples == 5 * 40
    assert found.closed_accuracy >= 0.9, found
    assert found.in_scope_accuracy >= 0.8 and found.oos_recall >= 0.3, found
