"""BERT's WordPiece tokenizer (Devlin et al. 2018, Section 3: "We use WordPiece embeddings (Wu et
al., 2016) with a 30,000 token vocabulary. The first token of every sequence is always a special
classification token ([CLS]) ... Sentence pairs are packed together into a single sequence. We
differentiate the sentences in two ways. First, we separate them with a special token ([SEP]).
Second, we add a learned embedding to every token indicating whether it belongs to sentence A or
sentence B").

::

    from paperzoo.papers.bert.tokenizer import train_wordpiece, load_vocab_txt, special_ids
    tok = train_wordpiece(sentences, vocab_size=8000)     # a tokenizers.Tokenizer
    enc = tok.encode("The lobster is blue.", "It turns red.")
    enc.tokens     # ['[CLS]', 'the', 'lobster', 'is', 'blue', '.', '[SEP]', 'it', 'turns', 'red', '.', '[SEP]']
    enc.type_ids   # [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]   (the pieces depend on the vocabulary)
    special_ids(tok)                                      # SpecialIds(pad=0, unk=1, cls=2, sep=3, mask=4)
    google = load_vocab_txt("uncased_L-12_H-768_A-12/vocab.txt")
    special_ids(google)                                   # SpecialIds(pad=0, unk=100, cls=101, sep=102, mask=103)

The pipeline is that of Google's ``tokenization.py`` (``FullTokenizer`` = ``BasicTokenizer`` then
``WordpieceTokenizer``), as HF ``tokenizers`` implements it for ``BertTokenizerFast``:

- normaliser :class:`tokenizers.normalizers.BertNormalizer`: drop control characters and turn
  white space into spaces (``_clean_text``), put spaces around CJK characters
  (``_tokenize_chinese_chars``), strip accents (NFD, drop combining marks:
  ``_run_strip_accents``) and lower-case, the last two for uncased models only;
- pre-tokeniser :class:`tokenizers.pre_tokenizers.BertPreTokenizer`: split at white space and
  around every punctuation character (``_run_split_on_punc``);
- model :class:`tokenizers.models.WordPiece`: greedy longest-match-first over the vocabulary,
  continuation pieces prefixed ``##``, a word with no segmentation (or over 100 characters)
  becomes ``[UNK]`` whole;
- post-processor :class:`tokenizers.processors.BertProcessing`: ``[CLS] A [SEP]`` or
  ``[CLS] A [SEP] B [SEP]``, type (segment) ids 0 for ``[CLS] A [SEP]`` and 1 for ``B [SEP]``.

**Special-token ids.** Google's released vocabularies put ``[PAD]`` at 0, ``[unused0..98]`` at
1-99, ``[UNK] [CLS] [SEP] [MASK]`` at 100-103 and more ``[unusedN]`` after them; a vocabulary
trained here starts with ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at 0-4. Nothing else in the package
hard-codes either: :func:`special_ids` reads them from the tokenizer.

:func:`train_wordpiece` learns the vocabulary with HF's WordPiece trainer (the likelihood-based
merges of the original WordPiece are not public; HF's trainer learns BPE-style merges by
frequency, then writes the vocabulary in WordPiece form, as ``BertWordPieceTokenizer`` does). On
a small corpus the vocabulary may stop short of `vocab_size` (every merge above `min_frequency`
done). :func:`save_tokenizer` / :func:`load_tokenizer` keep it beside a model as
``tokenizer.json``; :func:`save_vocab_txt` / :func:`load_vocab_txt` read and write the
``vocab.txt`` format (one token a line, line number = id) of Google's and HF's checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from pathlib import Path

from ...data.text import TOKENIZER_FILE, read_tokenizer_file, save_tokenizer
from ...errors import DataError, UserError

__all__ = [
    "CLS",
    "CONTINUATION_PREFIX",
    "MASK",
    "PAD",
    "SEP",
    "SPECIAL_TOKENS",
    "TOKENIZER_FILE",
    "UNK",
    "VOCAB_FILE",
    "SpecialIds",
    "bert_tokenizer",
    "is_reserved_token",
    "load_tokenizer",
    "load_vocab_txt",
    "save_tokenizer",
    "save_vocab_txt",
    "special_ids",
    "train_wordpiece",
    "vocab_hash",
    "vocabulary",
]

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
#: In the order a trained vocabulary gets them: ids 0-4.
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)
CONTINUATION_PREFIX = "##"
VOCAB_FILE = "vocab.txt"
#: Google's tokenization.py: a longer word becomes [UNK] without being split.
MAX_INPUT_CHARS_PER_WORD = 100
_RESERVED = re.compile(r"\[unused\d+\]")


@dataclass(frozen=True)
class SpecialIds:
    """The ids of BERT's five special tokens in one vocabulary."""

    pad: int
    unk: int
    cls: int
    sep: int
    mask: int

    def __iter__(self):
        return iter(astuple(self))


def special_ids(tokenizer) -> SpecialIds:
    """The ids of ``[PAD] [UNK] [CLS] [SEP] [MASK]`` in `tokenizer`; DataError if one is missing."""
    ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
    missing = [t for t, i in zip(SPECIAL_TOKENS, ids) if i is None]
    if missing:
        raise DataError(f"the tokenizer's vocabulary lacks BERT's special tokens {', '.join(missing)}")
    return SpecialIds(*ids)


def is_reserved_token(token: str) -> bool:
    """True for a special token or one of Google's placeholder ``[unusedN]`` tokens."""
    return token in SPECIAL_TOKENS or bool(_RESERVED.fullmatch(token))


def vocabulary(tokenizer) -> list[str]:
    """The tokens of `tokenizer` in id order (``vocabulary(tok)[i]`` has id ``i``)."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        if not 0 <= index < len(tokens) or tokens[index]:
            raise DataError(f"the tokenizer's ids are not 0..{len(vocab) - 1}, one token each (at {token!r}: {index})")
        tokens[index] = token
    return tokens


def _settings(tokenizer) -> dict:
    """The normaliser's settings (a cased and an uncased tokenizer with one vocabulary differ)."""
    normalizer = json.loads(tokenizer.to_str()).get("normalizer") or {}
    return {k: normalizer.get(k) for k in ("type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase")}


def vocab_hash(tokenizer) -> str:
    """SHA-256 (hex) of the vocabulary in id order and the normaliser settings: equal hashes mean
    equal token ids for every text, so cached pre-training instances fit the tokenizer."""
    digest = hashlib.sha256("\n".join(vocabulary(tokenizer)).encode("utf-8"))
    digest.update(json.dumps(_settings(tokenizer), sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _pipeline(tokenizer, *, lowercase: bool, strip_accents: bool | None) -> None:
    from tokenizers import decoders, normalizers, pre_tokenizers  # noqa: PLC0415

    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, lowercase=lowercase,
        strip_accents=lowercase if strip_accents is None else strip_accents)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix=CONTINUATION_PREFIX)


def _add_post_processor(tokenizer) -> None:
    from tokenizers import processors  # noqa: PLC0415

    ids = special_ids(tokenizer)
    tokenizer.post_processor = processors.BertProcessing((SEP, ids.sep), (CLS, ids.cls))


def bert_tokenizer(vocab: Mapping[str, int], *, lowercase: bool = True, strip_accents: bool | None = None):
    """A BERT tokenizer (``tokenizers.Tokenizer``) over `vocab` (token -> id, ids 0..V-1), which
    must hold the five special tokens. `lowercase` (an uncased model) also strips accents unless
    `strip_accents` says otherwise, as ``BertTokenizer``'s ``do_lower_case`` does."""
    from tokenizers import Tokenizer, models  # noqa: PLC0415

    if sorted(vocab.values()) != list(range(len(vocab))):
        raise DataError(f"vocabulary ids are not 0..{len(vocab) - 1}, one token each")
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise DataError(f"the vocabulary lacks BERT's special tokens {', '.join(missing)}")
    tokenizer = Tokenizer(models.WordPiece(dict(vocab), unk_token=UNK, continuing_subword_prefix=CONTINUATION_PREFIX,
                                           max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD))
    _pipeline(tokenizer, lowercase=lowercase, strip_accents=strip_accents)
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))   # matched whole in raw text, never split
    _add_post_processor(tokenizer)
    return tokenizer


def train_wordpiece(texts: Iterable[str], *, vocab_size: int = 30522, lowercase: bool = True,
                    strip_accents: bool | None = None, min_frequency: int = 2, limit_alphabet: int = 1000,
                    show_progress: bool = False):
    """Learn a WordPiece vocabulary of at most `vocab_size` tokens (BERT-base's is 30,522) from
    `texts` (sentences or paragraphs) and return the tokenizer (``tokenizers.Tokenizer``).

    `limit_alphabet` keeps the most frequent characters as single-character tokens (HF's
    ``BertWordPieceTokenizer`` default, 1,000); rarer characters become ``[UNK]``. Ids 0-4 are
    ``[PAD] [UNK] [CLS] [SEP] [MASK]``.
    """
    from tokenizers import Tokenizer, models, trainers  # noqa: PLC0415

    if vocab_size <= len(SPECIAL_TOKENS):
        raise UserError(f"vocab_size={vocab_size} leaves no room beside the {len(SPECIAL_TOKENS)} special tokens")
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD,
                                           continuing_subword_prefix=CONTINUATION_PREFIX))
    _pipeline(tokenizer, lowercase=lowercase, strip_accents=strip_accents)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=list(SPECIAL_TOKENS), limit_alphabet=limit_alphabet,
                                        continuing_subword_prefix=CONTINUATION_PREFIX, show_progress=show_progress)
    tokenizer.train_from_iterator(texts, trainer)
    # The trainer's ids for the same vocabulary differ from run to run (the same tokens, another order;
    # ties between merges can also change a small corpus's set): renumber, specials first, the rest sorted.
    learned = sorted(t for t in tokenizer.get_vocab() if t not in SPECIAL_TOKENS)
    return bert_tokenizer({t: i for i, t in enumerate((*SPECIAL_TOKENS, *learned))}, lowercase=lowercase,
                          strip_accents=strip_accents)


def load_tokenizer(path: str | os.PathLike):
    """The tokenizer at `path`: a ``tokenizer.json``, a ``vocab.txt`` (read as uncased), or a
    folder holding one of them (``tokenizer.json`` first). Checks the special tokens are there."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE if (path / TOKENIZER_FILE).is_file() else path / VOCAB_FILE
    if not path.is_file():
        raise DataError(f"{path}: no tokenizer file; it is saved beside the model as {TOKENIZER_FILE} "
                        f"(or {VOCAB_FILE})")
    if path.suffix == ".txt":
        return load_vocab_txt(path)
    tokenizer = read_tokenizer_file(path)
    try:
        special_ids(tokenizer)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    return tokenizer


def save_vocab_txt(tokenizer, path: str | os.PathLike) -> Path:
    """Write the vocabulary of `tokenizer` as ``vocab.txt``: one token a line, in id order (the
    file ``transformers.BertTokenizer`` and Google's checkpoints use). `path` may be a folder."""
    path = Path(path)
    path = path / VOCAB_FILE if path.is_dir() else path
    tokens = vocabulary(tokenizer)
    bad = [t for t in tokens if not t or t != t.strip() or "\n" in t or "\r" in t]
    if bad:
        raise DataError(f"tokens {bad[:3]!r} cannot be written one a line")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return path


def load_vocab_txt(path: str | os.PathLike, *, lowercase: bool = True, strip_accents: bool | None = None):
    """A BERT tokenizer over the ``vocab.txt`` at `path` (one token a line, line number = id, as
    Google's ``tokenization.load_vocab``): ``bert-base-uncased``'s with the default settings,
    ``lowercase=False`` for a cased model's."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; a BERT checkpoint keeps its vocabulary as {VOCAB_FILE}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e})") from None
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    tokens = [t.removesuffix("\r").strip() for t in tokens]
    vocab: dict[str, int] = {}
    for number, token in enumerate(tokens, 1):
        if not token:
            raise DataError(f"{path} line {number}: empty token; a vocab.txt holds one token a line")
        if token in vocab:
            raise DataError(f"{path} line {number}: {token!r} repeats line {vocab[token] + 1}")
        vocab[token] = number - 1
    try:
        return bert_tokenizer(vocab, lowercase=lowercase, strip_accents=strip_accents)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
