"""The sequence-to-sequence papers' card. Their claims are planned (see README.md)."""

from __future__ import annotations

from ...registry import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="seq2seq",
    title="Sequence to Sequence Learning with Neural Networks",
    authors="Ilya Sutskever, Oriol Vinyals, Quoc V. Le",
    year=2014,
    arxiv="1409.3215",
    venue="NeurIPS 2014",
    problem=("Deep networks need inputs and outputs of fixed size, but translation maps a sentence of any "
             "length to a sentence of another length, with words that do not line up one to one."),
    idea=("Read the source with a deep LSTM into its final state, and let a second LSTM, started from that "
          "state, write the target one token at a time until it emits end-of-sentence. Feeding the source "
          "in reverse puts the first words of source and target close together and makes optimisation "
          "much easier. On WMT'14 English-French an ensemble of five 4-layer LSTMs with 1000 cells reached 34.8 "
          "BLEU (one LSTM 30.6)."),
    notes=(
        "Companion paper: Bahdanau, Cho, Bengio (2015), Neural Machine Translation by Jointly Learning to "
        "Align and Translate, ICLR 2015, arXiv:1409.0473 (RNNsearch). A single fixed-size vector is a "
        "bottleneck for long sentences; a bidirectional GRU encoder keeps one annotation per source word and "
        "the decoder attends to them with an additive alignment model at every step.",
        "Cho et al. (2014), arXiv:1406.1078, introduced the GRU and the RNN encoder-decoder (RNNencdec), "
        "Bahdanau et al.'s baseline.",
    ),
))
