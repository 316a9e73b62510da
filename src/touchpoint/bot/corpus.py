"""Labelled messages from CSV files: the shipped intents, `touchpoint bot train/eval`, the benchmark.

Any CSV with a header works. The text column is `--text-column`, else the one named "text", else the
first; the label column is `--label-column`, else the one named "intent", "label" or "category"
(BANKING77 uses `text,category`), else the second. Every refusal names the file, the column or the
line to fix."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TEXT_NAMES = ("text", "utterance", "example")
LABEL_NAMES = ("intent", "label", "category")
MAX_FILE_BYTES = 200 * 1024 * 1024


class CorpusError(ValueError):
    """The file cannot be read as labelled messages; the message says what to fix."""


@dataclass(frozen=True)
class LabelledMessages:
    texts: list[str]
    labels: list[str]
    text_column: str
    label_column: str
    source: str

    @property
    def intents(self) -> list[str]:
        return sorted(set(self.labels))

    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.texts, self.labels, strict=True))

    def counts(self) -> Counter[str]:
        return Counter(self.labels)

    def without(self, labels: set[str]) -> LabelledMessages:
        kept = [(t, label) for t, label in zip(self.texts, self.labels, strict=True) if label not in labels]
        return LabelledMessages([t for t, _ in kept], [label for _, label in kept], self.text_column,
                                self.label_column, self.source)


def read_csv(path: str | Path, *, text_column: str | None = None, label_column: str | None = None,
             min_intents: int = 2) -> LabelledMessages:
    """Every row of the file, checked: the file exists, the columns are there, no row is empty, and
    there are at least `min_intents` labels (0 to skip that check, e.g. for an evaluation set)."""
    file = Path(path)
    if not file.is_file():
        raise CorpusError(f"No file at {file}: give the path of a CSV file with a header row, e.g. text,intent.")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise CorpusError(f"{file} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB; split it.")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            return _read(csv.reader(handle), str(file), text_column, label_column, min_intents)
    except UnicodeDecodeError as error:
        raise CorpusError(f"{file} is not UTF-8 text (byte {error.start}); save it as UTF-8 CSV.") from None
    except csv.Error as error:
        raise CorpusError(f"{file} is not a readable CSV file: {error}.") from None


def shipped(name: str = "commerce_intents.csv") -> LabelledMessages:
    """A data set shipped inside the package (bot/data/)."""
    source = resources.files("touchpoint.bot").joinpath("data", name)
    try:
        with source.open("r", newline="", encoding="utf-8") as handle:
            return _read(csv.reader(handle), f"touchpoint.bot:data/{name}", "text", "intent", 2)
    except FileNotFoundError:
        raise CorpusError(f"touchpoint/bot/data/{name} is missing from this installation: install Touchpoint with "
                          "its package data (the bot/data files).") from None


def _read(reader, source: str, text_column: str | None, label_column: str | None,
          min_intents: int) -> LabelledMessages:
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise CorpusError(f"{source} is empty; its first row must name the columns, e.g. text,intent.")
    names = [cell.strip() for cell in header]
    text_at = _column(names, text_column, TEXT_NAMES, 0, "text", source)
    label_at = _column(names, label_column, LABEL_NAMES, 1, "label", source)
    if text_at == label_at:
        raise CorpusError(f"{source}: the text and the label are the same column ({names[text_at]!r}); "
                          "name them with --text-column and --label-column.")
    texts: list[str] = []
    labels: list[str] = []
    for line, row in enumerate(reader, 2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line (often the last one) is no row
        text = row[text_at].strip() if len(row) > text_at else ""
        label = row[label_at].strip() if len(row) > label_at else ""
        if not text or not label:
            missing = names[text_at] if not text else names[label_at]
            raise CorpusError(f"{source}, line {line}: the {missing!r} cell is empty; fill it in or remove the line.")
        texts.append(text)
        labels.append(label)
    if not texts:
        raise CorpusError(f"{source} has a header but no rows.")
    found = len(set(labels))
    if found < min_intents:
        raise CorpusError(f"{source} has {found} intent{'s' if found != 1 else ''} in column {names[label_at]!r}; "
                          f"a classifier needs at least {min_intents}.")
    return LabelledMessages(texts, labels, names[text_at], names[label_at], source)


def _column(names: list[str], asked: str | None, usual: tuple[str, ...], position: int, what: str,
            source: str) -> int:
    lowered = [name.lower() for name in names]
    if asked is not None:
        if asked.strip().lower() not in lowered:
            raise CorpusError(f"{source} has no column {asked!r}; its columns are {', '.join(names)}.")
        return lowered.index(asked.strip().lower())
    for name in usual:
        if name in lowered:
            return lowered.index(name)
    if len(names) <= position:
        raise CorpusError(f"{source} has {len(names)} column{'s' if len(names) != 1 else ''} ({', '.join(names)}); "
                          f"it needs a text and a label column, e.g. text,intent.")
    return position
