"""A small sentence classifier with a choice of normalisation, for layer normalisation's claim that
it, unlike batch normalisation, treats each sequence on its own.

Ba, Kiros & Hinton (2016). *Layer Normalization*. arXiv:1607.06450.

The paper's argument (Sections 1 and 3): batch normalisation's statistics are sums over the
mini-batch, so in training one example's output depends on the others, and for recurrent or
variable-length inputs the statistics of padded time steps mix in; layer normalisation computes
mu and sigma over the H hidden units of one example at one position (Eq. 4), "so it does not
introduce any new dependencies between training cases".

The classifier (ours; the paper has no such experiment): token embeddings, ``layers`` blocks of
``Conv1d(kernel_size) -> norm -> ReLU`` over time, masked mean pooling over the real tokens,
dropout, and a linear layer. Token id 0 is padding: its embedding is zero, and every block sets
padded positions back to zero, so padding never leaks into real positions through the
convolution. ``norm`` is:

- ``None``: no normalisation;
- ``"layer"``: :class:`paperzoo.nn.LayerNorm` over the channels of each position;
- ``"batch"``: :class:`paperzoo.nn.BatchNorm1d` over (batch, positions) per channel, padded
  positions included: what ``nn.BatchNorm1d`` does on a padded batch;
- ``"masked_batch"``: the same with the statistics over real positions only (the BN layer's
  ``mask``), so padding no longer enters but the other sequences still do.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn

from ...nn import BatchNorm1d, Dropout, LayerNorm
from ...registry import register_model

__all__ = ["NORMS", "ConvBlock", "SentenceConvNet", "token_batch"]

Norm = Literal["batch", "masked_batch", "layer"] | None
NORMS: tuple[str | None, ...] = (None, "batch", "masked_batch", "layer")
PAD_ID = 0


class ConvBlock(nn.Module):
    """``ReLU(norm(Conv1d(x)))`` at the real positions, zero at padded ones."""

    def __init__(self, *, channels_in: int, channels: int, kernel_size: int = 3, norm: Norm = None):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")
        self.norm_kind = norm
        self.conv = nn.Conv1d(channels_in, channels, kernel_size, padding=kernel_size // 2,
                              bias=norm not in ("batch", "masked_batch"))  # BN's beta subsumes the bias
        if norm == "layer":
            self.norm = LayerNorm(channels)
        elif norm in ("batch", "masked_batch"):
            self.norm = BatchNorm1d(channels)
        else:
            self.norm = nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, L, C_in), mask (B, L)
        h = self.conv(x.transpose(1, 2))  # (B, C, L)
        if self.norm_kind == "layer":
            h = self.norm(h.transpose(1, 2)).transpose(1, 2)  # LN over C at each position
        elif self.norm_kind == "batch":
            h = self.norm(h)  # BN over (B, L) per channel, padding included
        elif self.norm_kind == "masked_batch":
            h = self.norm(h, mask)  # BN over the real positions only
        h = torch.relu(h).transpose(1, 2)  # (B, L, C)
        return h * mask.unsqueeze(-1)  # padded positions back to zero


class SentenceConvNet(nn.Module):
    """Embedding -> ``layers`` x :class:`ConvBlock` -> masked mean over time -> dropout -> linear.

    Input: token ids (B, L), right-padded with 0. Output: logits (B, num_classes).
    """

    def __init__(self, *, vocab_size: int, num_classes: int = 2, embed_dim: int = 64, channels: int = 64,
                 layers: int = 2, kernel_size: int = 3, norm: Norm = None, dropout: float = 0.5):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        widths = (embed_dim,) + (channels,) * layers
        self.blocks = nn.ModuleList(ConvBlock(channels_in=a, channels=b, kernel_size=kernel_size, norm=norm)
                                    for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = Dropout(dropout)
        self.out = nn.Linear(widths[-1], num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L) int64
        mask = tokens != PAD_ID  # (B, L)
        x = self.embed(tokens)  # (B, L, E)
        for block in self.blocks:
            x = block(x, mask)  # (B, L, C)
        lengths = mask.sum(1, keepdim=True).clamp_min(1)  # (B, 1)
        pooled = x.sum(1) / lengths  # (B, C): mean over the real positions (padding is zero)
        return self.out(self.dropout(pooled))  # (B, num_classes)


def token_batch(n: int, *, vocab_size: int, length: int = 12, seed: int = 0) -> torch.Tensor:
    """``n`` random token sequences of lengths 1..``length``, right-padded with 0: (n, length)."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, vocab_size, (n, length), generator=g)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    lengths[0] = length  # at least one full-length sequence
    return tokens * (torch.arange(length) < lengths.unsqueeze(1))


TINY_VOCAB = 100


@register_model(paper="layernorm", input_size=(24,), num_classes=2,
                example_input=lambda n: token_batch(n, vocab_size=20000, length=24))
def sentence_conv(*, vocab_size: int = 20000, num_classes: int = 2, norm: Norm = "layer", embed_dim: int = 64,
                  channels: int = 64, layers: int = 2, kernel_size: int = 3, dropout: float = 0.5) -> SentenceConvNet:
    """Sentence classifier: embedding, 2 conv blocks (Conv1d-norm-ReLU), masked mean pooling, linear."""
    return SentenceConvNet(vocab_size=vocab_size, num_classes=num_classes, embed_dim=embed_dim, channels=channels,
                           layers=layers, kernel_size=kernel_size, norm=norm, dropout=dropout)


@register_model(paper="layernorm", input_size=(12,), num_classes=2, tiny=True,
                example_input=lambda n: token_batch(n, vocab_size=TINY_VOCAB))
def sentence_conv_tiny(*, vocab_size: int = TINY_VOCAB, num_classes: int = 2, norm: Norm = "layer",
                       dropout: float = 0.0) -> SentenceConvNet:
    """Tiny variant for tests: 16-dimensional embeddings and one conv block of 16 channels."""
    return SentenceConvNet(vocab_size=vocab_size, num_classes=num_classes, embed_dim=16, channels=16, layers=1,
                           norm=norm, dropout=dropout)
