"""`touchpoint bot train` and `touchpoint bot eval` on small CSV files: what they print, what they
store, the refusals, and the exit codes of the real command line."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.bot.nlu_helpers import SMALL, _empty_model_cache, small_examples, write_csv  # noqa: F401
from touchpoint.bot import selectors, services
from touchpoint.bot.corpus import CorpusError, read_csv, shipped
from touchpoint.bot.models import TrainedModel
from touchpoint.bot.nlu import IntentClassifier

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("bot", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def train_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "train.csv", small_examples())


@pytest.fixture
def test_csv(tmp_path) -> Path:
    rows = [("where's my parcel?", "order_status"), ("refund please", "refund"), ("are you open on saturday",
            "opening_hours"), ("hello!", "greeting"), ("tell me a joke", "out_of_scope"),
            ("qwzx vbnm plok", "out_of_scope")]
    return write_csv(tmp_path / "test.csv", rows, header=("utterance", "category"))


def test_train_to_a_file_then_eval_it(train_csv, test_csv, tmp_path):
    model = tmp_path / "intents.model"
    printed = run("train", "--csv", str(train_csv), "--out", str(model), "--mode", "linear")
    assert "Read 32 messages of 4 intents" in printed and "text column 'text', intent column 'intent'" in printed
    assert "Trained a linear model on 32 examples of 4 intents" in printed
    assert "Held-out check (4 examples)" in printed and f"Model written to {model}" in printed
    assert IntentClassifier.load(str(model)).intents == tuple(sorted(SMALL))

    printed = run("eval", "--csv", str(test_csv), "--model", str(model), "--oos-label", "out_of_scope")
    assert "intent column 'category'" in printed and "text column 'utterance'" in printed
    assert "Accuracy: 100.00%" in printed and "Macro-F1: 100.00%" in printed
    assert "Out-of-scope recall: 100.00% of 2 out-of-scope messages" in printed
    assert "In-scope accuracy: 100.00%" in printed

    printed = run("eval", "--csv", str(test_csv), "--model", str(model))  # labels it does not know are unknown
    assert "Out-of-scope recall: 100.00% of 2 out-of-scope messages" in printed
    assert "1 label(s) the model was not trained on, counted as out of scope: out_of_scope" in printed
    assert "Top intent right, threshold ignored: 100.00%" in printed

    printed = run("eval", "--csv", str(test_csv), "--model", str(model), "--oos-label", "out_of_scope",
                  "--threshold", "1")
    assert "threshold 1.000" in printed and "In-scope accuracy: 0.00%" in printed


def test_train_without_a_destination_says_nothing_was_saved(train_csv):
    printed = run("train", "--csv", str(train_csv), "--mode", "linear")
    assert "Nothing saved: add --out FILE or --workspace SLUG" in printed


@pytest.mark.django_db
def test_train_for_a_workspace_from_a_csv_and_from_its_intents(desk, train_csv, test_csv):
    printed = run("train", "--csv", str(train_csv), "--workspace", desk.workspace.slug, "--mode", "linear")
    model = selectors.current_model(desk.id)
    assert model is not None and model.source == "csv:train.csv" and f"(model {model.pk})" in printed
    assert services.classify(desk.id, "hi there").intent == "greeting"
    printed = run("eval", "--csv", str(test_csv), "--workspace", desk.workspace.slug, "--oos-label", "out_of_scope")
    assert f"workspace {desk.workspace.slug}, model {model.pk}" in printed and "Accuracy: 100.00%" in printed

    for name, examples in SMALL.items():
        services.create_intent(actor=desk.supervisor_actor, name=name, examples=examples)
    run("train", "--workspace", desk.workspace.slug, "--mode", "linear")
    newest = selectors.current_model(desk.id)
    assert newest.pk != model.pk and newest.source == "intents" and TrainedModel.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [
    (["train"], "Nothing to train from"),
    (["train", "--csv", "/no/such/file.csv", "--out", "x.model"], "No file at /no/such/file.csv"),
    (["train", "--workspace", "nobody"], "No workspace with the slug 'nobody'"),
    (["eval", "--csv", "{test}"], "Say which model to measure"),
    (["eval", "--csv", "{test}", "--model", "/no/model"], "No model file at /no/model"),
    (["eval", "--csv", "{test}", "--model", "{test}"], "not a Touchpoint intent model file"),
    (["eval", "--csv", "{test}", "--workspace", "acme"], "Workspace acme has no usable model"),
    (["eval", "--csv", "{test}", "--model", "m", "--threshold", "3"], "--threshold is a number from 0 to 1"),
    (["train", "--csv", "{one}", "--out", "x.model"], "has 1 intent in column 'intent'; a classifier needs at least 2"),
    (["train", "--csv", "{empty_cell}", "--out", "x.model"], "line 3: the 'intent' cell is empty"),
    (["train", "--csv", "{no_rows}", "--out", "x.model"], "has a header but no rows"),
    (["train", "--csv", "{blank}", "--out", "x.model"], "is empty; its first row must name the columns"),
    (["train", "--csv", "{one_column}", "--out", "x.model"], "has 1 column (text)"),
    (["train", "--csv", "{test}", "--text-column", "words", "--out", "x.model"], "has no column 'words'"),
    (["train", "--csv", "{test}", "--text-column", "utterance", "--label-column", "utterance"], "same column"),
    (["train", "--csv", "{train}", "--out", "{folder}"], "is a folder"),
])
def test_refusals_say_what_to_fix(desk, tmp_path, train_csv, test_csv, args, message):
    files = {
        "test": test_csv, "train": train_csv, "folder": tmp_path,
        "one": write_csv(tmp_path / "one.csv", [("hello", "greeting"), ("hi", "greeting")]),
        "empty_cell": write_csv(tmp_path / "cell.csv", [("hello", "greeting"), ("bye", "")]),
        "no_rows": write_csv(tmp_path / "header.csv", []),
        "blank": tmp_path / "blank.csv", "one_column": tmp_path / "single.csv",
    }
    (tmp_path / "blank.csv").write_text("")
    (tmp_path / "single.csv").write_text("text\nhello\n")
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*[a.format(**files) for a in args])


def test_the_real_command_line_exit_codes(tmp_path, train_csv, test_csv):
    env = {**os.environ, "TOUCHPOINT_VAR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT / "src")}
    (tmp_path / "var").mkdir()
    command = [sys.executable, "-m", "touchpoint.cli", "bot"]
    model = tmp_path / "m.model"
    done = subprocess.run([*command, "train", "--csv", str(train_csv), "--out", str(model), "--mode", "linear"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Trained a linear model" in done.stdout
    done = subprocess.run([*command, "eval", "--csv", str(test_csv), "--model", str(model), "--oos-label",
                           "out_of_scope"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "Out-of-scope recall: 100.00%" in done.stdout, done.stderr
    refused = subprocess.run([*command, "train", "--csv", str(tmp_path / "missing.csv"), "--out", str(model)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 1 and "No file at" in refused.stderr
    refused = subprocess.run([*command, "eval"], capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode != 0 and "--csv" in refused.stderr


# ---- reading CSV files ------------------------------------------------------------------------------


def test_columns_are_found_by_name_or_position(tmp_path):
    assert read_csv(write_csv(tmp_path / "a.csv", small_examples(), header=("Text", "Category"))).label_column == \
        "Category"
    swapped = write_csv(tmp_path / "b.csv", [(i, t) for t, i in small_examples()], header=("intent", "text"))
    found = read_csv(swapped)
    assert found.texts[0] == "where is my order" and found.labels[0] == "order_status"
    other = read_csv(write_csv(tmp_path / "c.csv", small_examples(), header=("q", "a")))
    assert (other.text_column, other.label_column) == ("q", "a") and len(other.pairs()) == 32


def test_blank_lines_are_skipped_and_bad_bytes_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,intent\nhello,greeting\n\n\nbye,goodbye\n", encoding="utf-8")
    assert read_csv(path).labels == ["greeting", "goodbye"]
    path.write_bytes(b"text,intent\nhell\xff,greeting\nbye,goodbye\n")
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_csv(path)


def test_the_shipped_commerce_intents_are_a_usable_set():
    data = shipped()
    counts = data.counts()
    expected = {"order_status", "cancel_order", "return_item", "refund_status", "shipping_cost", "delivery_time",
                "product_search", "stock_check", "opening_hours", "talk_to_human", "greeting", "goodbye", "thanks",
                "change_address", "payment_problem", "discount_code", "size_guide", "warranty", "complaint"}
    assert set(counts) == expected and min(counts.values()) >= 25
    assert set(counts) == set(services.DEFAULT_INTENTS)
    keys = [" ".join(t.casefold().split()) for t in data.texts]
    assert len(keys) == len(set(keys))  # no text taught twice


def test_a_missing_shipped_file_says_how_to_fix_the_installation(monkeypatch, tmp_path):
    from touchpoint.bot import corpus

    monkeypatch.setattr(corpus.resources, "files", lambda package: tmp_path)
    with pytest.raises(CorpusError, match="missing from this installation"):
        shipped()
