"""Text pipeline: Multi30k and Tatoeba readers, joint BPE, token-count batches, downloads."""

import dataclasses
import gzip
import shutil
import zipfile

import pytest
import torch

from paperzoo.data import text
from paperzoo.data.download import ChecksumError
from paperzoo.data.text import (
    SPECIAL_TOKENS,
    TokenBatchSampler,
    collate_pairs,
    download_corpus,
    encode_pairs,
    load_tokenizer,
    multi30k_pairs,
    random_pairs,
    read_multi30k,
    read_tatoeba,
    save_tokenizer,
    train_bpe,
)
from paperzoo.errors import DataError, UserError

# --- readers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "de", "fr", "cs"])
def test_multi30k_files_have_the_official_line_counts(shared_data, lang):
    assert [len(read_multi30k(split, lang)) for split in ("train", "val", "test")] == [29000, 1014, 1000]


def test_multi30k_pairs_are_aligned(shared_data):
    pairs = multi30k_pairs("train", src="en", tgt="de")
    assert len(pairs) == 29000
    assert pairs[0] == ("Two young, White males are outside near many bushes.",
                        "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.")
    assert all(s and t for s, t in pairs)


def test_tatoeba_has_167130_english_french_pairs(shared_data):
    pairs = read_tatoeba()
    assert len(pairs) == 167130
    assert pairs[:2] == [("Go.", "Va !"), ("Hi.", "Salut !")]
    assert all(s and t and "\t" not in s + t for s, t in pairs)


def test_unknown_split_or_language(shared_data):
    with pytest.raises(UserError, match="Did you mean 'val'"):
        read_multi30k("vall", "en")
    with pytest.raises(UserError, match="unknown Multi30k language 'es'"):
        read_multi30k("val", "es")


def _multi30k_copy(root, shared_data, split="val", lang="en"):
    folder = root / "multi30k" / "task1" / "raw"
    folder.mkdir(parents=True)
    source = shared_data / "multi30k" / "task1" / "raw" / f"{split}.{lang}.gz"
    return folder / source.name, source.read_bytes()


def test_truncated_multi30k_file_names_the_file(shared_data, tmp_path):
    path, raw = _multi30k_copy(tmp_path, shared_data)
    path.write_bytes(raw[: len(raw) // 2])  # cut mid-stream
    with pytest.raises(DataError, match=r"val\.en\.gz: truncated or corrupted"):
        read_multi30k("val", "en", tmp_path)
    lines = gzip.decompress(raw).split(b"\n")
    path.write_bytes(gzip.compress(b"\n".join(lines[:500]) + b"\n"))  # whole gzip, too few lines
    with pytest.raises(DataError, match=r"val\.en\.gz: 500 lines, expected 1014"):
        read_multi30k("val", "en", tmp_path)
    path.write_bytes(gzip.compress(b"\xff\xfe" + raw))
    with pytest.raises(DataError, match="not UTF-8"):
        read_multi30k("val", "en", tmp_path)
    path.unlink()
    with pytest.raises(DataError, match="file not found.*download_corpus"):
        read_multi30k("val", "en", tmp_path)


def test_bad_tatoeba_archive_names_the_file(shared_data, tmp_path):
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    path = folder / "fra-eng.zip"
    raw = (shared_data / "tatoeba" / "fra-eng.zip").read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"fra-eng\.zip: truncated or corrupted zip"):
        read_tatoeba(tmp_path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("fra-eng/fra.txt", "Go.\tVa !\nno tab on this line\n")
    with pytest.raises(DataError, match=r"fra\.txt line 2: expected 'English<TAB>French'"):
        read_tatoeba(tmp_path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("fra-eng/other.txt", "")
    with pytest.raises(DataError, match="archive lacks fra-eng/fra.txt"):
        read_tatoeba(tmp_path)
    with zipfile.ZipFile(path, "w") as z:  # newer releases carry a third, attribution column
        z.writestr("fra-eng/fra.txt", "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\r\n")
    assert read_tatoeba(tmp_path) == [("Go.", "Va !")]


# --- downloads (no network: file:// URLs and files already in place) ----------------------------

def test_download_keeps_matching_files_and_checks_digests(shared_data, tmp_path, monkeypatch):
    shutil.copytree(shared_data / "multi30k" / "task1", tmp_path / "multi30k" / "task1")
    paths = download_corpus("multi30k", tmp_path, progress=False)  # all present with the right SHA-256
    assert len(paths) == 12 and all(p.is_file() for p in paths)

    zip_url = (shared_data / "tatoeba" / "fra-eng.zip").as_uri()
    local = dataclasses.replace(text.CORPORA["tatoeba"].files[0], urls=(zip_url,))
    monkeypatch.setitem(text.CORPORA, "tatoeba", dataclasses.replace(text.CORPORA["tatoeba"], files=(local,)))
    # the shared copy is the same release re-zipped: its SHA-1 is not the d2l file's
    with pytest.raises(ChecksumError, match="expected sha1 94646ad1"):
        download_corpus("tatoeba", tmp_path, progress=False)
    assert not (tmp_path / "tatoeba" / "fra-eng.zip").exists()
    with pytest.raises(UserError, match="unknown corpus"):
        download_corpus("wmt14", tmp_path)


# --- tokenizer --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_pairs(shared_data):
    return multi30k_pairs("train", src="en", tgt="de")[:3000]


@pytest.fixture(scope="module")
def tokenizer(small_pairs):
    return train_bpe([s for pair in small_pairs for s in pair], vocab_size=2000)


def test_joint_bpe_round_trips_and_is_shared(tokenizer, small_pairs, tmp_path):
    assert tokenizer.get_vocab_size() == 2000
    assert [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    for en, de in small_pairs[:200]:
        for sentence in (en, de):
            assert tokenizer.decode(tokenizer.encode(sentence).ids) == sentence
    vocab = tokenizer.get_vocab()
    assert "▁the" in vocab and "▁der" in vocab  # English and German subwords in one vocabulary
    path = save_tokenizer(tokenizer, tmp_path / "run")
    assert path.name == "tokenizer.json"
    again = load_tokenizer(tmp_path / "run")
    assert again.encode(small_pairs[0][1]).ids == tokenizer.encode(small_pairs[0][1]).ids


def test_load_tokenizer_errors(tmp_path, tokenizer):
    with pytest.raises(DataError, match="no tokenizer file"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"version": "1.0", "trunc')
    with pytest.raises(DataError, match="tokenizer.json: not a valid tokenizer file"):
        load_tokenizer(tmp_path)
    other = train_bpe(["a b c"], vocab_size=50)
    other.add_special_tokens(["<mask>"])
    tokenizer_json = other.to_str().replace('"<pad>"', '"<pap>"')
    (tmp_path / "tokenizer.json").write_text(tokenizer_json)
    with pytest.raises(DataError, match="should have ids 0-3"):
        load_tokenizer(tmp_path)


def test_encode_and_collate(tokenizer, small_pairs):
    encoded = encode_pairs(tokenizer, small_pairs[:4])
    (src, tgt), bos, eos = encoded[0], 2, 3
    assert src[-1] == eos and tgt[0] == bos and tgt[-1] == eos
    assert tokenizer.decode(tgt) == small_pairs[0][1]
    s, t_in, t_out = collate_pairs(encoded)
    assert s.shape == (4, max(len(e[0]) for e in encoded))
    assert torch.equal(t_in[:, 1:], t_out[:, :-1])
    assert (t_in[:, 0] == bos).all()
    assert (s[1, len(encoded[1][0]):] == 0).all()


# --- token batches ----------------------------------------------------------------------------

def _lengths(n=3000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 40, (n, 2), generator=g).tolist()


def test_token_batches_respect_max_tokens_and_cover_each_example_once():
    lengths = _lengths()
    sampler = TokenBatchSampler(lengths, max_tokens=400, seed=1)
    for _ in range(2):  # two epochs
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        for b in batches:
            assert len(b) * max(lengths[i][0] for i in b) <= 400
            assert len(b) * max(lengths[i][1] for i in b) <= 400
        padded = sum(len(b) * max(max(lengths[i]) for i in b) for b in batches)
        assert padded < 1.25 * sum(max(pair) for pair in lengths)  # bucketing keeps padding small
    assert sampler.epoch == 1


def test_token_batches_are_deterministic_by_seed_and_shuffled_per_epoch():
    lengths = _lengths()
    first, again = (TokenBatchSampler(lengths, max_tokens=400, seed=1) for _ in range(2))
    epoch0 = list(first)
    assert epoch0 == list(again)
    assert list(first) != epoch0  # the next epoch is another order
    assert list(TokenBatchSampler(lengths, max_tokens=400, seed=2)) != epoch0
    ordered = list(TokenBatchSampler(lengths, max_tokens=400, shuffle=False))
    assert ordered == list(TokenBatchSampler(lengths, max_tokens=400, shuffle=False, seed=5))


def test_token_batches_resume_exactly():
    lengths = _lengths()
    reference = TokenBatchSampler(lengths, max_tokens=400, seed=3)
    expected = list(reference) + list(reference)
    sampler = TokenBatchSampler(lengths, max_tokens=400, seed=3)
    drawn = []
    for batch in sampler:
        drawn.append(batch)
        if len(drawn) == 7:
            break
    state = sampler.state_dict()
    resumed = TokenBatchSampler(lengths, max_tokens=400, seed=3)
    resumed.load_state_dict(state)
    drawn += list(resumed) + list(resumed)
    assert drawn == expected
    with pytest.raises(UserError, match="does not fit"):
        TokenBatchSampler(lengths, max_tokens=500, seed=3).load_state_dict(state)


def test_token_batches_with_a_data_loader(tokenizer, small_pairs):
    encoded = encode_pairs(tokenizer, small_pairs[:500])
    sampler = TokenBatchSampler([(len(s), len(t)) for s, t in encoded], max_tokens=300)
    loader = torch.utils.data.DataLoader(encoded, batch_sampler=sampler, collate_fn=collate_pairs)
    total = 0
    for src, tgt_in, tgt_out in loader:
        assert src.numel() <= 300 and tgt_in.shape == tgt_out.shape
        total += src.shape[0]
    assert total == 500
    with pytest.raises(UserError, match="more than max_tokens=10"):
        TokenBatchSampler([(5, 12)], max_tokens=10)


def test_random_pairs_look_like_collated_batches():
    src, tgt_in = random_pairs(6, vocab_size=50, src_len=9, tgt_len=7)
    assert src.shape == (6, 9) and tgt_in.shape == (6, 7)
    assert (tgt_in[:, 0] == 2).all() and (src[0, -1] == 3) and (src < 50).all()
    lengths = (src != 0).sum(1)
    assert (src[torch.arange(6), lengths - 1] == 3).all()  # every source ends with </s>
