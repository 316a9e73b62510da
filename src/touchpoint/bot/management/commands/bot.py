"""`touchpoint bot train` and `touchpoint bot eval`: train an intent classifier from a CSV file (or from a
workspace's intents) and measure one on labelled messages. Any CSV with a header works: columns
`text,intent` by default, `text,category` (BANKING77) found by itself, others named with
--text-column / --label-column."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from touchpoint.bot import selectors, services
from touchpoint.bot.corpus import CorpusError, LabelledMessages, read_csv
from touchpoint.bot.nlu import MODES, Evaluation, IntentClassifier, ModelFileError, TrainingError
from touchpoint.core.errors import DomainError

EXAMPLES = """examples:
  touchpoint bot train --csv intents.csv --out intents.model
  touchpoint bot train --csv intents.csv --workspace northwind        # the workspace's bot uses it
  touchpoint bot train --workspace northwind                          # from the workspace's own intents
  touchpoint bot eval --csv test.csv --model intents.model --oos-label out_of_scope
  touchpoint bot eval --csv banking77/test.csv --workspace northwind
"""


class Command(BaseCommand):
    help = "Train the bot's intent classifier (train) or measure one (eval)."
    requires_system_checks: list[str] = []  # a model file needs no database; --workspace opens it when asked

    def add_arguments(self, parser) -> None:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = EXAMPLES
        actions = parser.add_subparsers(dest="action", metavar="{train,eval}")
        actions.required = True
        train = actions.add_parser("train", help="train from a CSV file or a workspace's intents",
                                   description="Train an intent classifier. Give --csv FILE with --out and/or "
                                   "--workspace, or --workspace alone to train from its intents.")
        train.add_argument("--csv", help="labelled examples: a CSV file with a header (text,intent)")
        train.add_argument("--workspace", help="store the model as this workspace's (its slug)")
        train.add_argument("--out", help="write the model to this file")
        train.add_argument("--mode", choices=MODES, default="auto",
                           help="linear: n-grams only; ml: with sentence embeddings (needs the ml extra); "
                           "auto (default): ml when installed")
        self._columns(train)
        evaluate = actions.add_parser("eval", help="measure a model on a labelled CSV file",
                                      description="Print accuracy and macro-F1 of a model on labelled messages; "
                                      "with --oos-label, out-of-scope recall and in-scope accuracy too.")
        evaluate.add_argument("--csv", required=True, help="labelled messages: a CSV file with a header")
        evaluate.add_argument("--model", help="a model file written by `bot train --out`")
        evaluate.add_argument("--workspace", help="use this workspace's current model (its slug)")
        evaluate.add_argument("--oos-label", help="the label of messages no intent covers (e.g. out_of_scope)")
        evaluate.add_argument("--threshold", type=float, help="a confidence threshold instead of the model's own")
        self._columns(evaluate)

    @staticmethod
    def _columns(parser) -> None:
        parser.add_argument("--text-column", help="the text column (default: 'text', else the first)")
        parser.add_argument("--label-column", help="the intent column (default: 'intent', 'label' or "
                            "'category', else the second)")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "train":
                self.train(**options)
            else:
                self.evaluate(**options)
        except (CorpusError, TrainingError, ModelFileError) as error:
            raise CommandError(str(error)) from None
        except DomainError as error:
            raise CommandError(error.message) from None

    # ---- train ----------------------------------------------------------------------------------

    def train(self, *, csv: str | None, workspace: str | None, out: str | None, mode: str,
              text_column: str | None, label_column: str | None, **options) -> None:
        if not csv and not workspace:
            raise CommandError("Nothing to train from: give --csv FILE (with --out FILE and/or --workspace SLUG), "
                               "or --workspace SLUG to train from its intents.")
        if out and Path(out).is_dir():
            raise CommandError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / 'intents.model'}.")
        workspace_id = self._workspace_id(workspace) if workspace else None
        started = time.perf_counter()
        if csv:
            data = self._read(csv, text_column, label_column)
            if workspace_id is not None:
                stored = services.train_from_examples(workspace_id=workspace_id, examples=data.pairs(), mode=mode,
                                                      source=f"csv:{Path(csv).name}")
                classifier = services.load_classifier(selectors.model_key(stored))
            else:
                stored, classifier = None, IntentClassifier.train(data.pairs(), mode=mode)
        else:
            stored = services.train_workspace(workspace_id=workspace_id, mode=mode)
            classifier = services.load_classifier(selectors.model_key(stored))
        assert classifier is not None
        self._report_training(classifier, time.perf_counter() - started)
        if out:
            classifier.save(out)
            self.stdout.write(f"Model written to {out} ({Path(out).stat().st_size / 1e6:.1f} MB).")
        if stored is not None:
            self.stdout.write(f"Stored as the current model of workspace {workspace} (model {stored.pk}).")
        if not out and stored is None:
            self.stdout.write("Nothing saved: add --out FILE or --workspace SLUG to keep the model.")

    def _report_training(self, classifier: IntentClassifier, seconds: float) -> None:
        metrics = classifier.metrics
        calibration = metrics["calibration"][classifier.trained_mode]
        self.stdout.write(self.style.SUCCESS(
            f"Trained a {classifier.trained_mode} model on {metrics['examples']:,} examples of "
            f"{metrics['intents']} intents in {seconds:.1f} s."))
        held = calibration.get("held_out") or 0
        if held:
            self.stdout.write(f"Held-out check ({held} examples): {calibration['held_out_accuracy']:.1%} right; "
                              f"out-of-scope threshold {classifier.threshold:.3f} (answers "
                              f"{calibration['answered']:.1%} of them).")
        else:
            self.stdout.write(f"Too few examples to hold any out: out-of-scope threshold {classifier.threshold:.3f} "
                              "(halfway from chance to certainty).")

    # ---- eval ---------------------------------------------------------------------------------------

    def evaluate(self, *, csv: str, model: str | None, workspace: str | None, oos_label: str | None,
                 threshold: float | None, text_column: str | None, label_column: str | None, **options) -> None:
        if bool(model) == bool(workspace):
            raise CommandError("Say which model to measure: --model FILE or --workspace SLUG (one of the two).")
        if threshold is not None and not 0 <= threshold <= 1:
            raise CommandError("--threshold is a number from 0 to 1.")
        classifier, described = self._classifier(model, workspace)
        data = self._read(csv, text_column, label_column, min_intents=1)
        if oos_label and oos_label not in data.labels:
            self.stdout.write(self.style.WARNING(f"No row of {csv} has the label {oos_label!r}: out-of-scope "
                                                 "recall cannot be measured."))
        started = time.perf_counter()
        found = classifier.evaluate(data.texts, data.labels, oos_label=oos_label, threshold=threshold)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Model: {described}; mode {classifier.mode}; threshold "
                          f"{classifier.threshold if threshold is None else threshold:.3f}.")
        self._report_evaluation(found, seconds)

    def _report_evaluation(self, found: Evaluation, seconds: float) -> None:
        write = self.stdout.write
        write(f"Messages: {found.examples:,} ({seconds / max(found.examples, 1) * 1000:.1f} ms each)")
        write(f"Accuracy: {found.accuracy:.2%}")
        write(f"Macro-F1: {found.macro_f1:.2%}")
        write(f"Top intent right, threshold ignored: {found.closed_accuracy:.2%} (macro-F1 {found.closed_macro_f1:.2%})")
        write(f"Answered (not out of scope): {found.answered:.2%} of in-scope messages")
        if found.oos_recall is not None:
            write(f"Out-of-scope recall: {found.oos_recall:.2%} of {found.oos_examples:,} out-of-scope messages")
            write(f"In-scope accuracy: {found.in_scope_accuracy:.2%}")
        if found.unknown_labels:
            shown = ", ".join(found.unknown_labels[:10]) + (" ..." if len(found.unknown_labels) > 10 else "")
            write(self.style.WARNING(f"{len(found.unknown_labels)} label(s) the model was not trained on, counted as "
                                     f"out of scope: {shown}"))

    # ---- shared -------------------------------------------------------------------------------------

    def _read(self, path: str, text_column: str | None, label_column: str | None,
              min_intents: int = 2) -> LabelledMessages:
        data = read_csv(path, text_column=text_column, label_column=label_column, min_intents=min_intents)
        self.stdout.write(f"Read {len(data.texts):,} messages of {len(data.intents)} intents from {path} "
                          f"(text column {data.text_column!r}, intent column {data.label_column!r}).")
        return data

    def _workspace_id(self, slug: str) -> int:
        from touchpoint.accounts.models import Workspace

        found = Workspace.objects.filter(slug=slug.strip()).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"No workspace with the slug {slug!r}; `touchpoint createworkspace` makes one.")
        return found

    def _classifier(self, model: str | None, workspace: str | None) -> tuple[IntentClassifier, str]:
        if model:
            if not Path(model).is_file():
                raise CommandError(f"No model file at {model}; write one with `touchpoint bot train --out`.")
            return IntentClassifier.load(model), model
        key = selectors.current_model_key(self._workspace_id(workspace or ""))
        classifier = services.load_classifier(key) if key else None
        if classifier is None:
            raise CommandError(f"Workspace {workspace} has no usable model; train one with "
                               f"`touchpoint bot train --workspace {workspace}`.")
        return classifier, f"workspace {workspace}, model {key[0] if key else '?'}"
