"""The Transformer, every part as Section 3 of the paper describes it.

Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser, Polosukhin (2017). *Attention Is All
You Need*. NeurIPS 2017. arXiv:1706.03762.

- Section 3.2.1, Eq. 1: scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V, with a mask
  that sets illegal connections to -inf before the softmax (padding, and in the decoder's
  self-attention every later position: "masking out ... all values in the input of the softmax
  which correspond to illegal connections"). :func:`scaled_dot_product_attention` writes it out;
  ``fast_attention=True`` runs PyTorch's fused ``scaled_dot_product_attention`` instead (the
  tests hold the two equal).
- Section 3.2.2: multi-head attention, MultiHead(Q, K, V) = Concat(head_1..head_h) W^O with
  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V); the h heads' projections are computed as one
  matrix each for Q, K and V (d_model -> h d_k), then split into heads.
- Section 3.3, Eq. 2: FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, d_ff = 2048 (base).
- Section 3.1: "the output of each sub-layer is LayerNorm(x + Sublayer(x))" (post-LN), with
  dropout on each sub-layer's output before the addition (Section 5.4).
- Section 3.4: embeddings multiplied by sqrt(d_model); one weight matrix shared by the source
  and target embeddings and the pre-softmax linear transformation (with a shared source-target
  BPE vocabulary, Section 5.1).
- Section 3.5: sinusoidal positional encodings PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),
  PE(pos, 2i+1) = cos(...); learned positional embeddings (Table 3 row E) as an option.
- Section 5.4: dropout P_drop = 0.1 (base) on sub-layer outputs and on the sums of embeddings
  and positional encodings; label smoothing eps_ls = 0.1 (:func:`label_smoothed_cross_entropy`).
- Section 6.1: beam search with beam 4, length penalty alpha = 0.6, maximum output length input
  length + 50 (:meth:`Transformer.generate`, through :mod:`paperzoo.nn.decoding`); the base models
  average the last 5 checkpoints, the big ones the last 20
  (:func:`paperzoo.train.checkpoint.average_checkpoints`).
- Table 3: base (N=6, d_model=512, d_ff=2048, h=8, d_k=d_v=64, P_drop=0.1; 65M parameters) and
  big (N=6, 1024, 4096, h=16, P_drop=0.3; 213M parameters).

Parameter counts. With a 37,000-token shared vocabulary and the paper's layers (no biases in the
attention projections, which the paper writes as matrices W), ``transformer_base`` has
63,045,632 parameters and ``transformer_big`` 214,171,648: 18,944,000 and 37,888,000 of them the
shared embedding. The paper's 65M and 213M are rounded; no single vocabulary size reproduces
both (65M needs about 40.8k tokens, 213M about 35.9k), and untied source embeddings would add
18.9M / 37.9M. So the base count sits 3.0% below the paper's 65M (2.3% below 64.5M, the least
that rounds to 65M) and the big count 0.6% above 213M.

Choices the paper leaves open, and deviations (each also stated where it is made):

- Attention projections have no bias (``attn_bias=True`` adds them, as torch.nn.MultiheadAttention
  has); the feed-forward layers have biases (Eq. 2).
- Initialisation (not given in the paper): Xavier-uniform linear weights, zero biases, the shared
  embedding N(0, d_model^-1/2) so that embeddings scaled by sqrt(d_model) have unit variance (as
  tensor2tensor), learned positional embeddings N(0, d_model^-1/2) (as fairseq).
- LayerNorm uses PyTorch's eps 1e-5 (the paper gives none; tensor2tensor uses 1e-6).
- The pre-softmax projection has no bias (it is the transposed embedding matrix).
- ``norm_first=True`` gives the pre-LN variant (x + Sublayer(LayerNorm(x)), with a final
  LayerNorm after each stack; Xiong et al. 2020), not the paper's; off by default.
- No dropout on attention weights by default (the paper describes none; tensor2tensor's later
  versions add it): ``attn_dropout`` enables it.
- Label smoothing: see :func:`label_smoothed_cross_entropy` for how the paper's eps = 0.1 is
  spread, which differs between Szegedy et al. (and PyTorch) and tensor2tensor.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...data.text import random_pairs
from ...errors import UserError
from ...nn.decoding import decode
from ...registry import register_model

__all__ = [
    "CONFIGS",
    "DecoderLayer",
    "EncoderLayer",
    "MultiHeadAttention",
    "PositionalEncoding",
    "PositionwiseFeedForward",
    "Transformer",
    "causal_mask",
    "label_smoothed_cross_entropy",
    "scaled_dot_product_attention",
    "transformer_base",
    "transformer_big",
    "transformer_small",
    "transformer_tiny",
]

#: Table 3's base and big models (and a tiny one for tests): keyword arguments of :class:`Transformer`.
CONFIGS: dict[str, dict[str, Any]] = {
    "base": dict(d_model=512, num_layers=6, d_ff=2048, num_heads=8, dropout=0.1),
    "big": dict(d_model=1024, num_layers=6, d_ff=4096, num_heads=16, dropout=0.3),
    "tiny": dict(d_model=64, num_layers=2, d_ff=128, num_heads=4, dropout=0.0),
}

# --- attention ---------------------------------------------------------------------------------

def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True where query position i may attend key position j, i.e. j <= i."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, *, dropout_p: float = 0.0,
                                 training: bool = False, scale: float | None = None,
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 1 written out. q (..., Tq, d_k), k (..., Tk, d_k), v (..., Tk, d_v); `mask` bool,
    broadcastable to (..., Tq, Tk), True where attending is allowed. Returns the output
    (..., Tq, d_v) and the attention weights (..., Tq, Tk). `scale` replaces the factor
    1/sqrt(d_k) (``scale=1.0``: unscaled dot-product attention, as footnote 4 discusses)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale  # Q K^T / sqrt(d_k): (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # illegal connections -> -inf
    weights = scores.softmax(dim=-1)
    # Eq. 1: Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
    return F.dropout(weights, dropout_p, training) @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Section 3.2.2), h heads of width d_k (queries, keys) and d_v (values).

    ``forward(query, key, value, mask)``: query (B, Tq, d_model), key and value (B, Tk, d_model),
    `mask` bool broadcastable to (B, h, Tq, Tk), True where allowed. For incremental decoding
    :meth:`project_kv` computes the keys and values of some positions once and :meth:`attend`
    uses them. ``fast=True`` runs PyTorch's fused attention kernel, ``fast=False`` Eq. 1 written
    out (and keeps the last weights in ``last_weights`` when ``keep_weights``). ``scaled=False``
    drops Eq. 1's 1/sqrt(d_k) (plain dot-product attention; Section 3.2.1 and footnote 4 say why
    the paper scales).
    """

    def __init__(self, *, d_model: int = 512, num_heads: int = 8, d_k: int | None = None, d_v: int | None = None,
                 bias: bool = False, attn_dropout: float = 0.0, fast: bool = True, scaled: bool = True):
        super().__init__()
        if d_k is None and d_model % num_heads:
            raise UserError(f"d_model={d_model} is not divisible by num_heads={num_heads}; give d_k and d_v")
        self.num_heads, self.attn_dropout, self.fast = num_heads, attn_dropout, fast
        self.d_k = d_k or d_model // num_heads
        self.d_v = d_v or d_model // num_heads
        self.scale = None if scaled else 1.0  # None: 1/sqrt(d_k)
        self.q_proj = nn.Linear(d_model, num_heads * self.d_k, bias=bias)  # W^Q of all heads
        self.k_proj = nn.Linear(d_model, num_heads * self.d_k, bias=bias)  # W^K
        self.v_proj = nn.Linear(d_model, num_heads * self.d_v, bias=bias)  # W^V
        self.out_proj = nn.Linear(num_heads * self.d_v, d_model, bias=bias)  # W^O
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None

    def _split(self, x: torch.Tensor, d: int) -> torch.Tensor:  # (B, T, h*d)
        return x.view(x.shape[0], x.shape[1], self.num_heads, d).transpose(1, 2)  # (B, h, T, d)

    def project_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, Tk, d_model)
        """Keys and values of the positions `x`, split into heads: (B, h, Tk, d_k), (B, h, Tk, d_v)."""
        return self._split(self.k_proj(x), self.d_k), self._split(self.v_proj(x), self.d_v)

    def attend(self, query: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               mask: torch.Tensor | None = None) -> torch.Tensor:  # query (B, Tq, d_model)
        q = self._split(self.q_proj(query), self.d_k)  # (B, h, Tq, d_k)
        p = self.attn_dropout if self.training else 0.0
        if self.fast and not self.keep_weights:
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                                   scale=self.scale)  # (B, h, Tq, d_v)
        else:
            heads, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=p, training=self.training,
                                                          scale=self.scale)
            self.last_weights = weights.detach() if self.keep_weights else None
        B, _, Tq, _ = heads.shape
        heads = heads.transpose(1, 2).reshape(B, Tq, self.num_heads * self.d_v)  # Concat(head_1..head_h)
        return self.out_proj(heads)  # Concat(...) W^O: (B, Tq, d_model)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        k = self._split(self.k_proj(key), self.d_k)  # (B, h, Tk, d_k)
        v = self._split(self.v_proj(value), self.d_v)  # (B, h, Tk, d_v)
        return self.attend(query, k, v, mask)  # (B, Tq, d_model)


class PositionwiseFeedForward(nn.Module):
    """Eq. 2: FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to each position alike.

    ``activation="gelu"`` replaces max(0, .) by the exact GELU x Phi(x) (Hendrycks & Gimpel 2016,
    with the normal CDF Phi through erf), as BERT and GPT use; not in this paper."""

    def __init__(self, *, d_model: int = 512, d_ff: int = 2048, activation: Literal["relu", "gelu"] = "relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise UserError(f"unknown activation {activation!r}; choose relu or gelu")
        self.activation = activation
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model)
        h = self.linear1(x)  # x W_1 + b_1: (B, T, d_ff)
        # Eq. 2: FFN(x) = max(0, x W_1 + b_1) W_2 + b_2 (or GELU in place of max(0, .))
        return self.linear2(torch.relu(h) if self.activation == "relu" else F.gelu(h))  # (B, T, d_model)


class PositionalEncoding(nn.Module):
    """Section 3.5: the sinusoidal encodings, or learned position embeddings (Table 3 row E).

    ``forward(start, length)`` returns the (length, d_model) encodings of positions
    start..start+length-1. The sinusoidal table is a non-persistent buffer (not in checkpoints).
    """

    def __init__(self, *, d_model: int = 512, max_len: int = 1024, learned: bool = False):
        super().__init__()
        self.max_len, self.learned = max_len, learned
        if learned:
            self.embedding = nn.Embedding(max_len, d_model)
        else:
            pos = torch.arange(max_len, dtype=torch.float64)[:, None]  # (L, 1)
            rate = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # 1/10000^(2i/d_model)
            table = torch.zeros(max_len, d_model, dtype=torch.float64)
            table[:, 0::2] = torch.sin(pos * rate)  # PE(pos, 2i) = sin(pos / 10000^(2i/d_model))
            table[:, 1::2] = torch.cos(pos * rate[: d_model // 2])  # PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))
            self.register_buffer("table", table.float(), persistent=False)

    def forward(self, start: int, length: int) -> torch.Tensor:
        if start + length > self.max_len:
            raise UserError(f"position {start + length - 1} is beyond max_len={self.max_len}; build the model "
                            "with a larger max_len")
        if self.learned:
            return self.embedding.weight[start:start + length]  # (T, d_model)
        return self.table[start:start + length]  # (T, d_model)


# --- layers ------------------------------------------------------------------------------------

class _Residual(nn.Module):
    """Residual connection with LayerNorm around a sub-layer, post-LN (the paper) or pre-LN:
    ``out = norm(x + dropout(sublayer(x)))`` or ``x + dropout(sublayer(norm(x)))``, written as
    ``h = self._input(x, norm)`` then ``self._output(x, sublayer(h), norm)``."""

    norm_first: bool
    dropout: nn.Dropout

    def _input(self, x: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        return norm(x) if self.norm_first else x

    def _output(self, x: torch.Tensor, y: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        if self.norm_first:
            return x + self.dropout(y)
        return norm(x + self.dropout(y))  # Section 3.1: LayerNorm(x + Sublayer(x)), dropout per Section 5.4


def _attention(d_model: int, num_heads: int, d_k: int | None, d_v: int | None, bias: bool, attn_dropout: float,
               fast: bool, scaled: bool) -> MultiHeadAttention:
    return MultiHeadAttention(d_model=d_model, num_heads=num_heads, d_k=d_k, d_v=d_v, bias=bias,
                              attn_dropout=attn_dropout, fast=fast, scaled=scaled)


class EncoderLayer(_Residual):
    """Section 3.1: multi-head self-attention, then the feed-forward network, each inside a
    residual connection with LayerNorm.

    ``forward(x, mask)``: `mask` bool broadcastable to (B, h, S, S), True where attending is
    allowed: (B, 1, 1, S) for key padding, :func:`causal_mask` (S, S) for left-to-right, or both
    combined with ``&``. ``activation`` is the feed-forward network's (relu, the paper's; gelu for
    BERT) and ``norm_eps`` the LayerNorms' epsilon (PyTorch's 1e-5; BERT uses 1e-12)."""

    def __init__(self, *, d_model: int = 512, num_heads: int = 8, d_ff: int = 2048, dropout: float = 0.1,
                 d_k: int | None = None, d_v: int | None = None, attn_bias: bool = False, attn_dropout: float = 0.0,
                 norm_first: bool = False, fast_attention: bool = True, scaled_attention: bool = True,
                 activation: Literal["relu", "gelu"] = "relu", norm_eps: float = 1e-5):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = _attention(d_model, num_heads, d_k, d_v, attn_bias, attn_dropout, fast_attention,
                                    scaled_attention)
        self.ffn = PositionwiseFeedForward(d_model=d_model, d_ff=d_ff, activation=activation)
        self.norm1, self.norm2 = nn.LayerNorm(d_model, eps=norm_eps), nn.LayerNorm(d_model, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # (B, S, d_model)
        h = self._input(x, self.norm1)
        x = self._output(x, self.self_attn(h, h, h, mask), self.norm1)  # (B, S, d_model)
        return self._output(x, self.ffn(self._input(x, self.norm2)), self.norm2)  # (B, S, d_model)


class DecoderLayer(_Residual):
    """Section 3.1: masked multi-head self-attention, multi-head attention over the encoder's
    output, then the feed-forward network, each inside a residual connection with LayerNorm.

    ``forward(x, memory_kv, self_mask, memory_mask, past)`` returns the output and the
    self-attention keys and values of all positions so far: with ``past`` (the keys and values
    of the earlier positions) `x` holds only the new positions (incremental decoding).
    """

    def __init__(self, *, d_model: int = 512, num_heads: int = 8, d_ff: int = 2048, dropout: float = 0.1,
                 d_k: int | None = None, d_v: int | None = None, attn_bias: bool = False, attn_dropout: float = 0.0,
                 norm_first: bool = False, fast_attention: bool = True, scaled_attention: bool = True):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = _attention(d_model, num_heads, d_k, d_v, attn_bias, attn_dropout, fast_attention,
                                    scaled_attention)
        self.cross_attn = _attention(d_model, num_heads, d_k, d_v, attn_bias, attn_dropout, fast_attention,
                                    scaled_attention)
        self.ffn = PositionwiseFeedForward(d_model=d_model, d_ff=d_ff)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory_kv: tuple[torch.Tensor, torch.Tensor],
                self_mask: torch.Tensor | None = None, memory_mask: torch.Tensor | None = None,
                past: tuple[torch.Tensor, torch.Tensor] | None = None,
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:  # x (B, T, d_model)
        h = self._input(x, self.norm1)
        k, v = self.self_attn.project_kv(h)  # (B, h, T, d_k), (B, h, T, d_v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, h, t + T, d)
        x = self._output(x, self.self_attn.attend(h, k, v, self_mask), self.norm1)
        h = self._input(x, self.norm2)
        x = self._output(x, self.cross_attn.attend(h, *memory_kv, memory_mask), self.norm2)
        return self._output(x, self.ffn(self._input(x, self.norm3)), self.norm3), (k, v)  # (B, T, d_model)


# --- the model ---------------------------------------------------------------------------------

class Transformer(nn.Module):
    """The encoder-decoder Transformer (Fig. 1) with one shared vocabulary.

    ``forward(src, tgt_in)``: source ids (B, S) and the target ids shifted right (``<s>`` first,
    B, T) -> next-token logits (B, T, vocab_size). Padding (`pad_id`) is masked as keys
    everywhere. For decoding: :meth:`encode`, :meth:`init_state` and :meth:`decode_step` (one
    token per step with a key/value cache, equal to recomputing the whole prefix), and
    :meth:`generate` (beam search as Section 6.1, or greedy).

    Defaults are the base model of Table 3; see :data:`CONFIGS` and the module docstring for
    the options and deviations.
    """

    def __init__(self, *, vocab_size: int = 37000, d_model: int = 512, num_layers: int = 6, num_heads: int = 8,
                 d_ff: int = 2048, dropout: float = 0.1, d_k: int | None = None, d_v: int | None = None,
                 positional: Literal["sinusoidal", "learned"] = "sinusoidal", max_len: int = 1024,
                 norm_first: bool = False, attn_bias: bool = False, attn_dropout: float = 0.0,
                 fast_attention: bool = True, scaled_attention: bool = True, pad_id: int = 0, bos_id: int = 2,
                 eos_id: int = 3):
        super().__init__()
        if positional not in ("sinusoidal", "learned"):
            raise UserError(f"unknown positional encoding {positional!r}; choose sinusoidal or learned")
        self.d_model, self.vocab_size = d_model, vocab_size
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.embedding = nn.Embedding(vocab_size, d_model)  # shared: source, target, pre-softmax
        self.positional = PositionalEncoding(d_model=d_model, max_len=max_len, learned=positional == "learned")
        layer = dict(d_model=d_model, num_heads=num_heads, d_ff=d_ff, dropout=dropout, d_k=d_k, d_v=d_v,
                     attn_bias=attn_bias, attn_dropout=attn_dropout, norm_first=norm_first,
                     fast_attention=fast_attention, scaled_attention=scaled_attention)
        self.encoder = nn.ModuleList(EncoderLayer(**layer) for _ in range(num_layers))
        self.decoder = nn.ModuleList(DecoderLayer(**layer) for _ in range(num_layers))
        # pre-LN stacks end with a LayerNorm; post-LN ones already end with one
        self.encoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform linear weights, zero biases, embeddings N(0, d_model^-1/2) (module docstring)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=self.d_model ** -0.5)

    def embed(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:  # (B, T)
        """Section 3.4-3.5: token embeddings times sqrt(d_model), plus positional encodings, dropout."""
        x = self.embedding(ids) * math.sqrt(self.d_model)  # (B, T, d_model)
        return self.dropout(x + self.positional(start, ids.shape[1]))  # (B, T, d_model)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, S)
        """The encoder's output (B, S, d_model) and the source key mask (B, 1, 1, S)."""
        mask = (src != self.pad_id)[:, None, None, :]  # (B, 1, 1, S): padding is no key
        x = self.embed(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def logits(self, h: torch.Tensor) -> torch.Tensor:  # (B, T, d_model)
        """The pre-softmax linear transformation: the shared embedding matrix, transposed."""
        return h @ self.embedding.weight.t()  # (B, T, vocab)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:  # (B, S), (B, T)
        memory, memory_mask = self.encode(src)  # (B, S, d_model)
        T = tgt_in.shape[1]
        # no position attends to a later one, nor to padding
        self_mask = causal_mask(T, tgt_in.device) & (tgt_in != self.pad_id)[:, None, None, :]  # (B, 1, T, T)
        x = self.embed(tgt_in)  # (B, T, d_model)
        for layer in self.decoder:
            x, _ = layer(x, layer.cross_attn.project_kv(memory), self_mask, memory_mask)
        return self.logits(self.decoder_norm(x))  # (B, T, vocab)

    # --- incremental decoding ----------------------------------------------------------------

    def init_state(self, src: torch.Tensor) -> dict[str, Any]:
        """Decoding state for `src` (B, S): the source mask, every decoder layer's keys and values
        of the encoder output (computed once), and empty self-attention caches. Every tensor has
        one row per input in dimension 0 (see :mod:`paperzoo.nn.decoding`)."""
        memory, mask = self.encode(src)
        cross = [layer.cross_attn.project_kv(memory) for layer in self.decoder]
        empty = [tuple(t[:, :, :0] for t in kv) for kv in cross]  # (B, h, 0, d)
        return {"memory_mask": mask, "cross": cross, "self": empty}

    def decode_step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Log-probabilities (N, vocab) of the next token given the last tokens (N,) and `state`."""
        start = state["self"][0][0].shape[2]  # positions decoded so far
        x = self.embed(tokens[:, None], start)  # (N, 1, d_model)
        caches = []
        for layer, memory_kv, past in zip(self.decoder, state["cross"], state["self"]):
            x, kv = layer(x, memory_kv, None, state["memory_mask"], past)  # the new position sees all earlier ones
            caches.append(kv)
        log_probs = self.logits(self.decoder_norm(x))[:, 0].float().log_softmax(-1)  # (N, vocab)
        return log_probs, {**state, "self": caches}

    @torch.no_grad()
    def generate(self, src: torch.Tensor, *, beam_size: int = 4, alpha: float = 0.6,
                 max_extra: int = 50) -> torch.Tensor:
        """Translations of `src` (B, S): Section 6.1's beam search by default (beam 4, alpha 0.6,
        at most input length + 50 tokens); ``beam_size=1, alpha=0`` is greedy. Returns (B, T)
        token ids without ``<s>``, ending with ``</s>`` where produced, padded with `pad_id`.
        Call in eval mode."""
        return decode(self, src, bos=self.bos_id, eos=self.eos_id, pad=self.pad_id, beam_size=beam_size,
                      alpha=alpha, max_extra=max_extra)


# --- training helpers --------------------------------------------------------------------------

def label_smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *, epsilon: float = 0.1,
                                 ignore_index: int = 0,
                                 spread: Literal["uniform", "others"] = "uniform") -> torch.Tensor:
    """Cross-entropy against a smoothed target, averaged over the tokens that are not `ignore_index`.

    Section 5.4: "label smoothing of value eps_ls = 0.1 [Szegedy et al.]". Szegedy et al. (2016,
    Section 7) use q'(k) = (1 - eps) delta(k, y) + eps / K over all K classes: ``spread="uniform"``,
    which is exactly ``F.cross_entropy(..., label_smoothing=eps)`` (the true class gets
    1 - eps + eps/K). The authors' tensor2tensor code gives the true class 1 - eps and each of
    the K - 1 others eps / (K - 1): ``spread="others"``. Both put mass on ``<pad>`` as on any
    class. logits (..., K), target (...) int64.
    """
    log_probs = logits.float().log_softmax(-1)  # (..., K)
    nll = -log_probs.gather(-1, target[..., None]).squeeze(-1)  # -log p_y: (...)
    total = -log_probs.sum(-1)  # -sum_k log p_k: (...)
    K = logits.shape[-1]
    if spread == "uniform":
        loss = (1 - epsilon) * nll + epsilon / K * total  # q' = (1 - eps) delta + eps / K
    elif spread == "others":
        loss = (1 - epsilon) * nll + epsilon / (K - 1) * (total - nll)  # eps / (K - 1) on each other class
    else:
        raise UserError(f"unknown label smoothing spread {spread!r}; choose uniform or others")
    keep = target != ignore_index
    return loss[keep].sum() / keep.sum().clamp(min=1)


# --- builders (Table 3) --------------------------------------------------------------------------
# Registered with an example input: a (source ids, target input ids) pair of batches.


def _registered(vocab_size: int, **kw: Any):
    return register_model(paper="transformer", input_size=(10,), num_classes=vocab_size,
                          example_input=lambda n: random_pairs(n, vocab_size=vocab_size), **kw)


@_registered(37000)
def transformer_base(*, vocab_size: int = 37000, dropout: float = 0.1,
                     positional: Literal["sinusoidal", "learned"] = "sinusoidal", norm_first: bool = False,
                     max_len: int = 1024) -> Transformer:
    """Transformer base (Table 3: N=6, d_model=512, d_ff=2048, h=8, P_drop=0.1), 63.0M parameters (37k vocabulary)."""
    return Transformer(**{**CONFIGS["base"], "dropout": dropout}, vocab_size=vocab_size, positional=positional,
                       norm_first=norm_first, max_len=max_len)


@_registered(37000)
def transformer_big(*, vocab_size: int = 37000, dropout: float = 0.3,
                    positional: Literal["sinusoidal", "learned"] = "sinusoidal", norm_first: bool = False,
                    max_len: int = 1024) -> Transformer:
    """Transformer big (Table 3: N=6, d_model=1024, d_ff=4096, h=16, P_drop=0.3), 214.2M parameters (37k vocab)."""
    return Transformer(**{**CONFIGS["big"], "dropout": dropout}, vocab_size=vocab_size, positional=positional,
                       norm_first=norm_first, max_len=max_len)


@_registered(8000)
def transformer_small(*, vocab_size: int = 8000, d_model: int = 256, num_layers: int = 3, num_heads: int = 8,
                      d_ff: int = 512, dropout: float = 0.1, d_k: int | None = None, d_v: int | None = None,
                      positional: Literal["sinusoidal", "learned"] = "sinusoidal", norm_first: bool = False,
                      max_len: int = 1024, scaled_attention: bool = True) -> Transformer:
    """A small Transformer for small corpora such as Multi30k (N=3, d_model=256, d_ff=512, h=8, d_k=d_v=d_model/h,
    P_drop=0.1 by default, every size adjustable, as Table 3 varies them; not in the paper). ``scaled_attention=False``
    drops Eq. 1's 1/sqrt(d_k) (transformer.scaling)."""
    return Transformer(vocab_size=vocab_size, d_model=d_model, num_layers=num_layers, num_heads=num_heads, d_ff=d_ff,
                       dropout=dropout, d_k=d_k, d_v=d_v, positional=positional, norm_first=norm_first,
                       max_len=max_len, scaled_attention=scaled_attention)


@_registered(1000, tiny=True)
def transformer_tiny(*, vocab_size: int = 1000, dropout: float = 0.0,
                     positional: Literal["sinusoidal", "learned"] = "sinusoidal", norm_first: bool = False,
                     max_len: int = 1024) -> Transformer:
    """A tiny Transformer for tests (N=2, d_model=64, d_ff=128, h=4, no dropout; not in the paper)."""
    return Transformer(**{**CONFIGS["tiny"], "dropout": dropout}, vocab_size=vocab_size, positional=positional,
                       norm_first=norm_first, max_len=max_len)
