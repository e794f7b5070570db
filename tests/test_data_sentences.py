"""The sentence-classification reader on the real SST-2 files, its errors, vocabulary and padding."""

from __future__ import annotations

import gzip

import pytest
import torch

from paperzoo.data import Vocabulary, load_sentences, pad_batch, read_sentences
from paperzoo.data.sentences import length_mask
from paperzoo.errors import DataError, UserError


def test_reads_the_real_sst2_splits(shared_data):
    train = load_sentences("sst2", "train", root=shared_data)
    dev = load_sentences("sst2", "dev", root=shared_data)
    assert (len(train), len(dev)) == (6920, 872)
    assert set(train.labels) == set(dev.labels) == {0, 1} and train.num_classes == 2
    assert train.tokens[0][:4] == ("a", "stirring", ",", "funny") and train.labels[0] == 1
    assert "stsa.binary.dev" in dev.source
    assert all(w == w.lower() for s in dev.tokens for w in s)


def test_bad_lines_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 a fine line\n\nnot-a-label some words\n")
    with pytest.raises(DataError, match=r"bad\.txt, line 3: expected '<label> <sentence>'"):
        read_sentences(path)
    path.write_text("0 ok\n1\n")
    with pytest.raises(DataError, match=r"bad\.txt, line 2"):
        read_sentences(path)
    path.write_text("\n\n")
    with pytest.raises(DataError, match=r"bad\.txt: no examples"):
        read_sentences(path)
    with pytest.raises(DataError, match="missing.txt: file not found"):
        read_sentences(tmp_path / "missing.txt")
    with pytest.raises(UserError, match="unknown sentence set 'sst3'"):
        load_sentences("sst3", "train")
    with pytest.raises(UserError, match="no split 'test'"):
        load_sentences("sst2", "test")


def test_compressed_files_and_blank_lines(tmp_path):
    path = tmp_path / "s.gz"
    path.write_bytes(gzip.compress(b"0 bad movie\n\n1  a  good   one \n"))
    data = read_sentences(path)
    assert data.labels == (0, 1) and data.tokens == (("bad", "movie"), ("a", "good", "one"))


def test_vocabulary_from_training_words():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a", "d"]], min_freq=2)
    assert vocab.itos == ("<pad>", "<unk>", "b", "a")   # by frequency; c and d are seen once
    assert vocab.encode(["a", "c", "b"]) == [3, vocab.unk_id, 2]
    assert (vocab.pad_id, vocab.unk_id, len(vocab)) == (0, 1, 4)
    assert len(Vocabulary.build([["x", "y", "x"]])) == 4


def test_padding_lengths_and_mask():
    ids, lengths = pad_batch([[5, 6, 7], [8], [9, 10]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]] and lengths.tolist() == [3, 1, 2]
    assert pad_batch([[1]], length=4)[0].tolist() == [[1, 0, 0, 0]]
    with pytest.raises(ValueError, match="shorter than the longest"):
        pad_batch([[1, 2, 3]], length=2)
    assert torch.equal(length_mask(lengths, 3), ids != 0)


def test_a_latin_1_file_is_read(tmp_path):
    """TREC's files are Latin-1, not UTF-8 (a few accented names)."""
    path = tmp_path / "trec.all"
    path.write_bytes("0 Who is Se\xf1or Wences ?\n1 What is a caf\xe9 ?\n".encode("latin-1"))
    data = read_sentences(path)
    assert data.labels == (0, 1) and data.tokens[0][2] == "Se\u00f1or"
