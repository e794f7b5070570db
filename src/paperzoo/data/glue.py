"""Readers of BERT's downstream tasks: the GLUE TSV files, SQuAD JSON, and the SWAG CSV.

::

    from paperzoo.data.glue import read_glue_tsv, read_squad, squad_evaluate, read_swag
    dev = read_glue_tsv("glue/MNLI/dev_matched.tsv", "mnli")   # GlueSplit
    dev.examples[0].text_a, dev.examples[0].text_b, dev.labels[dev.examples[0].label]
    squad = read_squad("dev-v1.1.json")                         # SquadExamples with character offsets
    squad_evaluate(squad, {"5733be28...": "Saint Bernadette Soubirous"})   # {"exact_match": .., "f1": ..}
    swag = read_swag("val.csv")                                 # SwagExamples, 4 endings each

**GLUE** (Wang et al. 2019), the TSV files of the official release (``download_glue_data.py``:
``<task folder>/{train,dev,test}.tsv``; MNLI's ``dev_matched``, ``dev_mismatched``,
``test_matched``, ``test_mismatched``). Tab-separated, UTF-8 (MRPC's may start with a byte-order
mark), one example a line, and **no quoting**: a ``"`` is an ordinary character, read with
``csv.QUOTE_NONE`` as the HF ``datasets`` GLUE builder and Google's ``run_classifier.py`` do.
Columns are found by the header's names (the first column of a name, if it repeats); the
layouts implemented, with the columns read:

- CoLA: train/dev have no header, four columns: source, label, original judgement, sentence
  (label column 1, sentence column 3); test: ``index, sentence``. Labels ``0`` (unacceptable),
  ``1`` (acceptable).
- SST-2: ``sentence, label``; test ``index, sentence``. Labels ``0`` (negative), ``1``.
- MRPC: ``Quality, #1 ID, #2 ID, #1 String, #2 String`` (label ``Quality``, texts the two
  strings); test ``index, #1 ID, #2 ID, #1 String, #2 String``. Labels ``0``, ``1`` (equivalent).
- QQP: ``id, qid1, qid2, question1, question2, is_duplicate``; test ``id, question1, question2``.
  Labels ``0``, ``1`` (duplicate).
- STS-B: ``index, genre, filename, year, old_index, source1, source2, sentence1, sentence2,
  score``; test without ``score``. The label is the float ``score`` (0 to 5).
- MNLI: ``index, promptID, pairID, genre, sentence1_binary_parse, sentence2_binary_parse,
  sentence1_parse, sentence2_parse, sentence1, sentence2, label1, [label2 .. label5,]
  gold_label`` (train has ``label1`` only, dev five annotators' labels; the label is the last
  column, ``gold_label``); test files end at ``sentence2``. Labels ``contradiction``,
  ``entailment``, ``neutral``.
- QNLI: ``index, question, sentence, label``; RTE: ``index, sentence1, sentence2, label``; both
  labelled ``entailment``, ``not_entailment``. WNLI: ``index, sentence1, sentence2, label``,
  labels ``0``, ``1``. Their test files lack ``label``.
- AX (the diagnostic set, test only): ``index, sentence1, sentence2``; MNLI's labels.

Labels are stored as indices into :attr:`GlueSplit.labels` (the values as the files write them;
MNLI's order is Google's ``MnliProcessor``'s), STS-B's as floats, test files' as None. A row
with fewer fields than the header, or a label outside the task's list, raises
:class:`~paperzoo.errors.DataError` naming the file and line (``skip_malformed=True`` skips such
rows and counts them, as the HF builder filters "corrupted rows"). :func:`load_glue` reads
``<data root>/glue/<Task folder>/<split>.tsv``. The shared data has no GLUE files; GLUE's data
is distributed under each task's own terms and is not downloaded here.

**SQuAD** (Rajpurkar et al. 2016, 2018), ``train-v1.1.json``/``dev-v1.1.json`` and the v2.0
files: ``{"version", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}`` (``is_impossible`` only in v2.0,
whose unanswerable questions have no ``answers`` and some ``plausible_answers``, not read).
``answer_start`` is a character offset into the context, checked on reading
(``context[start:start + len(text)] == text``). :func:`char_to_token_span` maps an answer's
characters to token positions with a tokenizer's offsets; :func:`squad_evaluate` is the official
evaluation (v1.1's ``evaluate-v1.1.py``, with v2.0's rule for unanswerable questions).

**SWAG** (Zellers et al. 2018), ``train.csv``/``val.csv``/``test.csv`` of the ``regular`` release:
comma-separated with standard quoting and a header ``,video-id,fold-ind,startphrase,sent1,sent2,
gold-source,ending0,ending1,ending2,ending3,label`` (the first, unnamed column is a row index;
test files have no ``label``). BERT's inputs for an example are the four pairs (sentence A =
``sent1``, sentence B = ``sent2 + " " + ending``) (:meth:`SwagExample.pairs`), as the HF SWAG
example.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UserError
from ._io import read_decompressed
from .root import data_root

__all__ = [
    "GLUE_TASKS",
    "GlueExample",
    "GlueSplit",
    "GlueTask",
    "SquadAnswer",
    "SquadExample",
    "SwagExample",
    "char_to_token_span",
    "glue_task",
    "load_glue",
    "normalize_answer",
    "read_glue_tsv",
    "read_squad",
    "read_swag",
    "squad_evaluate",
    "squad_exact_match",
    "squad_f1",
]

#: Largest file read (the largest GLUE, SQuAD and SWAG files are tens of megabytes), so a damaged
#: or hostile (compressed) file fails before it fills memory.
MAX_TASK_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class GlueTask:
    """Where a task's columns are: header names of the texts and of the label (None: CoLA's
    header-less train/dev files, by position); ``labels`` None for regression (STS-B)."""

    name: str
    folder: str
    text_a: str
    text_b: str | None
    label: str | None
    labels: tuple[str, ...] | None
    splits: tuple[str, ...] = ("train", "dev", "test")


_BINARY = ("0", "1")
_NLI2 = ("entailment", "not_entailment")
_MNLI = ("contradiction", "entailment", "neutral")
_MNLI_SPLITS = ("train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched")

#: The tasks by name (lowercase, no hyphen: "sst2", "stsb").
GLUE_TASKS: dict[str, GlueTask] = {t.name: t for t in (
    GlueTask("cola", "CoLA", "sentence", None, None, _BINARY),
    GlueTask("sst2", "SST-2", "sentence", None, "label", _BINARY),
    GlueTask("mrpc", "MRPC", "#1 String", "#2 String", "Quality", _BINARY),
    GlueTask("qqp", "QQP", "question1", "question2", "is_duplicate", _BINARY),
    GlueTask("stsb", "STS-B", "sentence1", "sentence2", "score", None),
    GlueTask("mnli", "MNLI", "sentence1", "sentence2", "gold_label", _MNLI, _MNLI_SPLITS),
    GlueTask("qnli", "QNLI", "question", "sentence", "label", _NLI2),
    GlueTask("rte", "RTE", "sentence1", "sentence2", "label", _NLI2),
    GlueTask("wnli", "WNLI", "sentence1", "sentence2", "label", _BINARY),
    GlueTask("ax", "diagnostic", "sentence1", "sentence2", None, _MNLI, ("diagnostic",)),
)}
#: CoLA's train and dev files: no header, four columns (source, label, original judgement, sentence).
COLA_COLUMNS, COLA_LABEL, COLA_SENTENCE = 4, 1, 3
#: Columns that name an example in the files (the first found is its guid).
_ID_COLUMNS = ("index", "id", "pairID")


@dataclass(frozen=True)
class GlueExample:
    """One example: ``text_b`` None for single-sentence tasks; ``label`` an index into the
    split's ``labels``, a float (STS-B), or None (test files)."""

    guid: str
    text_a: str
    text_b: str | None
    label: int | float | None


@dataclass(frozen=True, eq=False)
class GlueSplit:
    """The examples of one file, the task's label list (None for regression), the file, and how
    many malformed rows were skipped (only with ``skip_malformed=True``)."""

    task: str
    examples: tuple[GlueExample, ...]
    labels: tuple[str, ...] | None
    source: str
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def num_labels(self) -> int:
        """Outputs a classifier needs: the number of classes, 1 for regression (STS-B)."""
        return 1 if self.labels is None else len(self.labels)

    @property
    def has_labels(self) -> bool:
        return any(e.label is not None for e in self.examples)


def glue_task(task: str) -> GlueTask:
    """The :class:`GlueTask` of a name, in any case, with or without hyphens ("SST-2", "sts-b")."""
    key = task.lower().replace("-", "").replace("_", "")
    if key not in GLUE_TASKS:
        raise UserError(f"unknown GLUE task {task!r}; choose {', '.join(GLUE_TASKS)}")
    return GLUE_TASKS[key]


def _read_text(path: Path, what: str) -> str:
    try:
        return read_decompressed(path, MAX_TASK_FILE_BYTES, f"the most a {what} file may hold").decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e})") from e


def _label(spec: GlueTask, raw: str, where: str) -> int | float:
    if spec.labels is None:
        try:
            return float(raw)
        except ValueError:
            raise DataError(f"{where}: {spec.name} score {raw!r} is not a number") from None
    if raw not in spec.labels:
        raise DataError(f"{where}: {spec.name} label {raw!r} is none of {', '.join(spec.labels)}")
    return spec.labels.index(raw)


def read_glue_tsv(path: str | os.PathLike, task: str, *, skip_malformed: bool = False) -> GlueSplit:
    """The examples of one GLUE TSV file (any split) of ``task``; see the module's table for the
    layouts. Test files (no label column) give labels None."""
    spec, path = glue_task(task), Path(path)
    text = _read_text(path, "GLUE")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: empty file")
    headerless = spec.name == "cola" and first[:1] != ["index"]
    if headerless:
        # CoLA train/dev: source, label, original judgement, sentence; no header
        a, b, lab, need, ident = COLA_SENTENCE, None, COLA_LABEL, COLA_COLUMNS, None
        rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        header = {name: i for i, name in reversed(list(enumerate(first)))}   # first occurrence wins
        missing = [c for c in (spec.text_a, spec.text_b) if c is not None and c not in header]
        if missing:
            raise DataError(f"{path}: the header lacks {', '.join(map(repr, missing))}, so this is not a {spec.name} "
                            f"file of GLUE; header: {first[:12]}")
        a = header[spec.text_a]
        b = header[spec.text_b] if spec.text_b else None
        lab = header.get(spec.label) if spec.label else None
        ident = next((header[c] for c in _ID_COLUMNS if c in header), None)
        need = max(i for i in (a, b, lab) if i is not None) + 1
    examples, skipped = [], 0
    for row in rows:
        number = rows.line_num
        where = f"{path}, line {number}"
        if not row:
            continue
        if len(row) < need:
            if skip_malformed:
                skipped += 1
                continue
            raise DataError(f"{where}: {len(row)} tab-separated fields, {spec.name} needs {need}; "
                            f"got {chr(9).join(row)[:80]!r}")
        try:
            label = None if lab is None else _label(spec, row[lab], where)
        except DataError:
            if skip_malformed:
                skipped += 1
                continue
            raise
        guid = row[ident] if ident is not None else str(number)
        examples.append(GlueExample(guid, row[a], row[b] if b is not None else None, label))
    if not examples:
        raise DataError(f"{path}: no examples in the file")
    return GlueSplit(spec.name, tuple(examples), spec.labels, str(path), skipped)


def load_glue(task: str, split: str, *, root: str | os.PathLike | None = None,
              skip_malformed: bool = False) -> GlueSplit:
    """``<data root>/glue/<folder>/<split>.tsv`` as ``download_glue_data.py`` lays it out (MNLI's
    dev and test splits are ``dev_matched`` etc.; the diagnostic set is ``diagnostic/diagnostic.tsv``)."""
    spec = glue_task(task)
    if split not in spec.splits:
        raise UserError(f"GLUE {spec.name} has no split {split!r}; choose {', '.join(spec.splits)}")
    return read_glue_tsv(data_root(root) / "glue" / spec.folder / f"{split}.tsv", spec.name,
                         skip_malformed=skip_malformed)


# --- SQuAD -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SquadAnswer:
    """An answer's text and its first character's offset in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """One past the last character: ``context[start:end] == text``."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class SquadExample:
    """One question on one paragraph. ``answers`` holds every annotator's answer (one in train,
    usually three in dev; none for an unanswerable v2.0 question, ``is_impossible`` True)."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[SquadAnswer, ...]
    is_impossible: bool = False


def read_squad(path: str | os.PathLike) -> tuple[SquadExample, ...]:
    """The questions of a SQuAD v1.1 or v2.0 JSON file (plain or compressed), in file order."""
    path = Path(path)
    try:
        doc = json.loads(_read_text(path, "SQuAD"))
        articles = doc["data"]
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not JSON ({e})") from e
    except (KeyError, TypeError):
        raise DataError(f"{path}: not a SQuAD file (no top-level 'data' list)") from None
    examples = []
    try:
        for article in articles:
            title = article.get("title", "")
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    answers = tuple(SquadAnswer(a["text"], int(a["answer_start"])) for a in qa.get("answers", ()))
                    for answer in answers:
                        if context[answer.start:answer.end] != answer.text:
                            raise DataError(f"{path}: question {qa['id']}: answer {answer.text[:40]!r} is not at "
                                            f"character {answer.start} of its context (found "
                                            f"{context[answer.start:answer.end][:40]!r})")
                    impossible = bool(qa.get("is_impossible", False))
                    if not answers and not impossible:
                        raise DataError(f"{path}: question {qa['id']} has no answer and is not marked is_impossible")
                    examples.append(SquadExample(qa["id"], title, qa["question"], context, answers, impossible))
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: not in SQuAD's layout ({type(e).__name__}: {e})") from None
    if not examples:
        raise DataError(f"{path}: no questions in the file")
    return tuple(examples)


def char_to_token_span(offsets: Sequence[tuple[int, int]], start_char: int, end_char: int, *,
                       sequence_ids: Sequence[int | None] | None = None,
                       context_id: int = 1) -> tuple[int, int] | None:
    """Token positions (start, end), inclusive, of the answer at characters [start_char, end_char).

    ``offsets`` are a tokenizer's character spans per token (``tokenizers.Encoding.offsets``,
    (0, 0) for special tokens); ``sequence_ids`` (``Encoding.sequence_ids``: None for special
    tokens, 0 for the question, 1 for the context) restricts the search to the context
    (``context_id``); without it every non-empty span counts. The start is the first token that
    overlaps the answer, the end the last. None when the answer is not wholly inside the tokens
    searched (a window of a long context that cuts it: BERT then trains that window on [CLS]).
    """
    if end_char <= start_char:
        raise ValueError(f"empty answer span [{start_char}, {end_char})")
    positions = [i for i, (s, e) in enumerate(offsets)
                 if e > s and (sequence_ids is None or sequence_ids[i] == context_id)]
    if not positions or offsets[positions[0]][0] > start_char or offsets[positions[-1]][1] < end_char:
        return None
    overlapping = [i for i in positions if offsets[i][1] > start_char and offsets[i][0] < end_char]
    if not overlapping:
        return None
    return overlapping[0], overlapping[-1]


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """The official SQuAD normalisation: lowercase, remove punctuation (``string.punctuation``),
    remove the articles a, an, the, and collapse whitespace, in that order."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", s).split())


def squad_exact_match(prediction: str, truth: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(truth))


def squad_f1(prediction: str, truth: str) -> float:
    """Token F1 of the normalised strings (bags of words: a shared word counts as often as it is
    in both). Both empty (v2.0: no answer predicted for an unanswerable question) is 1.0; one
    empty is 0.0."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_evaluate(examples: Sequence[SquadExample], predictions: Mapping[str, str]) -> dict[str, float]:
    """Exact match and F1, in percent, over ``examples``: each question scores the best over its
    gold answers; a question missing from ``predictions`` scores 0 (``evaluate-v1.1.py``).
    Gold answers that normalise to the empty string are dropped and an unanswerable question's
    gold is the empty answer, as ``evaluate-v2.0.py`` (predict "" for no answer); on v1.1 data
    this changes nothing."""
    if not examples:
        raise ValueError("no examples to evaluate")
    em = f1 = 0.0
    for ex in examples:
        golds = [a.text for a in ex.answers if normalize_answer(a.text)] or [""]
        if ex.id not in predictions:
            continue
        pred = predictions[ex.id]
        em += max(squad_exact_match(pred, g) for g in golds)
        f1 += max(squad_f1(pred, g) for g in golds)
    return {"exact_match": 100.0 * em / len(examples), "f1": 100.0 * f1 / len(examples)}


# --- SWAG --------------------------------------------------------------------------------------

SWAG_ENDINGS = 4
_SWAG_COLUMNS = ("video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source",
                 *(f"ending{i}" for i in range(SWAG_ENDINGS)))


@dataclass(frozen=True)
class SwagExample:
    """One SWAG question: the context ``sent1``, the start of the next sentence ``sent2``, four
    candidate endings of it, and the right ending's index (None in test files)."""

    video_id: str
    fold_ind: str
    startphrase: str
    sent1: str
    sent2: str
    gold_source: str
    endings: tuple[str, ...]
    label: int | None

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """BERT's four inputs (Section 4.4): (sentence A, sentence B) = (sent1, sent2 + ending)."""
        return tuple((self.sent1, f"{self.sent2} {ending}") for ending in self.endings)


def read_swag(path: str | os.PathLike) -> tuple[SwagExample, ...]:
    """The questions of a SWAG CSV file (``train.csv``, ``val.csv``; ``test.csv`` without labels)."""
    path = Path(path)
    rows = csv.reader(io.StringIO(_read_text(path, "SWAG"), newline=""))
    header = next(rows, None)
    if header is None:
        raise DataError(f"{path}: empty file")
    missing = [c for c in _SWAG_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: the header lacks {', '.join(missing)}; not a SWAG CSV (header: {header[:12]})")
    cols = [header.index(c) for c in _SWAG_COLUMNS]
    lab = header.index("label") if "label" in header else None
    need = max(cols + ([lab] if lab is not None else [])) + 1
    examples = []
    for row in rows:
        if not row:
            continue
        where = f"{path}, line {rows.line_num}"
        if len(row) < need:
            raise DataError(f"{where}: {len(row)} fields, SWAG needs {need}")
        video, fold, start, sent1, sent2, gold, *endings = (row[i] for i in cols)
        label = None
        if lab is not None:
            if row[lab] not in {str(i) for i in range(SWAG_ENDINGS)}:
                raise DataError(f"{where}: label {row[lab]!r} is not an ending's index 0-{SWAG_ENDINGS - 1}")
            label = int(row[lab])
        examples.append(SwagExample(video, fold, start, sent1, sent2, gold, tuple(endings), label))
    if not examples:
        raise DataError(f"{path}: no examples in the file")
    return tuple(examples)
