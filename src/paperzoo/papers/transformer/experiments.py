"""The Transformer paper's card and training recipe. Its claims are planned (see README.md)."""

from __future__ import annotations

from ...optim import OptimizerConfig, ScheduleConfig
from ...registry import PaperCard, register_paper
from ...train.loop import TrainConfig

PAPER = register_paper(PaperCard(
    key="transformer",
    title="Attention Is All You Need",
    authors="Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez, "
            "Lukasz Kaiser, Illia Polosukhin",
    year=2017,
    arxiv="1706.03762",
    venue="NeurIPS 2017",
    problem=("Recurrent encoder-decoders compute one position after another, so training cannot be "
             "parallelised within a sentence, and a signal between distant words has to cross many steps."),
    idea=("Drop recurrence and convolution: encoder and decoder are stacks of multi-head scaled dot-product "
          "attention and position-wise feed-forward layers, each inside a residual connection with layer "
          "normalisation, with sinusoidal positional encodings for word order and a causal mask in the "
          "decoder. Any two positions are one attention step apart and all positions are computed at once. "
          "The big model reached 28.4 BLEU on WMT'14 English-German and 41.8 on English-French."),
))

#: Section 5.3: Adam with beta1 0.9, beta2 0.98, eps 1e-9, no weight decay, and Eq. 3's rate
#: lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5) with warmup_steps 4000: the
#: "noam" schedule of :mod:`paperzoo.optim.schedules`. lr 1 assumes that schedule's multiplier is
#: the whole of Eq. 3 (else lr = 512^-0.5 * 4000^-0.5 = 7.0e-4, its peak). 100k steps for base
#: (300k for big, Section 5.2). The paper wrote checkpoints every 10 minutes and averaged the last
#: 5 (Section 6.1); here every 1,000 steps, the last 5 kept.
PAPER_RECIPE = TrainConfig(
    steps=100_000,
    optimizer=OptimizerConfig(name="adam", lr=1.0, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0),
    schedule=ScheduleConfig(name="noam", warmup_steps=4000),
    checkpoint_every=1000, keep_checkpoints=5, log_every=100, amp=True)
