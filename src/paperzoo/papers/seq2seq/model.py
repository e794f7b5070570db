"""Recurrent encoder-decoder translation models, with and without attention.

- Sutskever, Vinyals, Le (2014). *Sequence to Sequence Learning with Neural Networks*. NeurIPS
  2014. arXiv:1409.3215. An LSTM reads the source, its final state starts a second LSTM that
  writes the target (Section 2); 4 layers of 1000 cells, 1000-dimensional embeddings, source
  vocabulary 160,000 and target 80,000, 384M parameters (Section 3.4); the source is fed in
  reverse order (Section 3.3); parameters uniform in [-0.08, 0.08] (Section 3.4).
- Cho et al. (2014), arXiv:1406.1078, and Bahdanau, Cho, Bengio (2015), *Neural Machine
  Translation by Jointly Learning to Align and Translate*, ICLR 2015, arXiv:1409.0473: gated
  recurrent units (GRU); RNNsearch (Bahdanau Section 3) reads the source with a bidirectional
  GRU and, at each target step i, attends to the source annotations h_j (Section 3.1): the
  alignment model e_ij = a(s_{i-1}, h_j) = v_a^T tanh(W_a s_{i-1} + U_a h_j) (Appendix A.1.2),
  alpha_ij = softmax_j(e_ij) (Eq. 6), context c_i = sum_j alpha_ij h_j (Eq. 5), and the decoder
  state s_i = f(s_{i-1}, y_{i-1}, c_i). 1000 hidden units, 620-dimensional embeddings,
  30,000-word vocabularies, a maxout output layer of 500 units (Appendix A.2).

The decoder is trained with teacher forcing (the true previous token is its input) and the loss
ignores padding (:func:`masked_cross_entropy`). Decoding is greedy or beam search through the
shared :mod:`paperzoo.nn.decoding` (``init_state`` / ``decode_step``). With attention,
``forward(..., return_attention=True)`` also returns the weights alpha (B, T, S) for plotting.

Choices the papers leave open, and deviations (each also stated where it is made):

- Padded batches: the encoder runs on packed sequences, so its final state is the state after
  each source's last real token, and attention gives padding zero weight.
- With a bidirectional encoder the decoder starts from tanh(W [h_fwd_T; h_bwd_1]) per layer (for
  an LSTM the cell state goes through its own linear map, without tanh); Bahdanau's RNNsearch
  uses tanh(W_s h_bwd_1), the backward state only. A unidirectional encoder hands its final
  state to the decoder unchanged, layer by layer (Sutskever).
- The readout with attention is computed from the new state s_i (Bahdanau's appendix uses
  s_{i-1}): t_i = maxout(W_o' [s_i; c_i; E y_{i-1}]), logits = W_o t_i; without maxout a linear
  layer. Without attention the logits are a linear map of s_i (Sutskever).
- All parameters are initialised uniformly in [-0.08, 0.08] (Sutskever); Bahdanau initialises
  recurrent matrices orthogonally and the alignment weights from N(0, 0.001^2), not done here.
- Cho et al.'s decoder also reads the summary c at every step; here the encoder's final state
  only initialises the decoder (Sutskever), and c_i exists only with attention.
- ``reverse_source`` reverses each source's real tokens, its final ``</s>`` included.
- PyTorch's recurrent layers have two bias vectors (input and hidden) where the papers have one;
  for Sutskever's model this adds 32,000 parameters to 384M.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ...data.text import random_pairs
from ...errors import UserError
from ...nn.decoding import decode
from ...registry import register_model

__all__ = [
    "AdditiveAttention",
    "Seq2Seq",
    "masked_cross_entropy",
    "reverse_padded",
    "seq2seq_gru",
    "seq2seq_gru_attn",
    "seq2seq_lstm",
    "seq2seq_small",
    "seq2seq_tiny",
]

Cell = Literal["lstm", "gru"]
_RNNS = {"lstm": nn.LSTM, "gru": nn.GRU}


class AdditiveAttention(nn.Module):
    """Bahdanau's alignment model: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j), alpha = softmax_j.

    :meth:`project_keys` computes U_a h_j once per source; ``forward(query, keys, values, mask)``
    returns the context c_i (B, D_h) and the weights alpha_i (B, S) (zero on padding).
    """

    def __init__(self, *, query_dim: int, key_dim: int, attention_dim: int):
        super().__init__()
        self.W_a = nn.Linear(query_dim, attention_dim, bias=False)
        self.U_a = nn.Linear(key_dim, attention_dim)
        self.v_a = nn.Linear(attention_dim, 1, bias=False)

    def project_keys(self, annotations: torch.Tensor) -> torch.Tensor:  # (B, S, D_h)
        return self.U_a(annotations)  # U_a h_j: (B, S, A)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # query (B, D_s), mask (B, S)
        # e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)
        scores = self.v_a(torch.tanh(self.W_a(query)[:, None, :] + keys)).squeeze(-1)  # (B, S)
        # Eq. 6: alpha_ij = exp(e_ij) / sum_k exp(e_ik), over the real source tokens
        alpha = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)  # (B, S)
        # Eq. 5: c_i = sum_j alpha_ij h_j
        context = (alpha[:, :, None] * values).sum(1)  # (B, D_h)
        return context, alpha


def reverse_padded(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first ``lengths[b]`` tokens in reverse order, padding left in place (B, S)."""
    positions = torch.arange(ids.shape[1], device=ids.device)[None, :]  # (1, S)
    source = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
    return ids.gather(1, source)


class Seq2Seq(nn.Module):
    """An RNN encoder-decoder (Sutskever et al. 2014), optionally with Bahdanau attention.

    ``forward(src, tgt_in)``: source ids (B, S) and target ids shifted right (``<s>`` first,
    B, T) -> next-token logits (B, T, tgt_vocab_size), with teacher forcing; with
    ``return_attention=True`` also the attention weights (B, T, S). Decoding:
    :meth:`init_state`, :meth:`decode_step`, :meth:`generate`.

    Args:
        cell: ``"lstm"`` (Sutskever) or ``"gru"`` (Cho, Bahdanau).
        num_layers: layers of the encoder and of the decoder.
        bidirectional: a bidirectional encoder (Bahdanau); the decoder starts from a tanh
            projection of both directions' final states.
        attention: Bahdanau's additive attention over the encoder's outputs.
        attention_dim: width of the alignment model (default `hidden_size`).
        maxout_dim: maxout units of the readout (Bahdanau: 500); 0 for a linear readout.
        dropout: on embeddings, between recurrent layers and before the readout (the papers: 0).
        reverse_source: read each source backwards (Sutskever Section 3.3).
    """

    def __init__(self, *, src_vocab_size: int = 160000, tgt_vocab_size: int = 80000, embed_dim: int = 1000,
                 hidden_size: int = 1000, num_layers: int = 4, cell: Cell = "lstm", bidirectional: bool = False,
                 attention: bool = False, attention_dim: int | None = None, maxout_dim: int = 0,
                 dropout: float = 0.0, reverse_source: bool = False, init_range: float = 0.08,
                 pad_id: int = 0, bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        if cell not in _RNNS:
            raise UserError(f"unknown recurrent cell {cell!r}; choose lstm or gru")
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.bidirectional, self.reverse_source = bidirectional, reverse_source
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        rnn, between = _RNNS[cell], dropout if num_layers > 1 else 0.0
        directions = 2 if bidirectional else 1
        memory_dim = directions * hidden_size
        self.src_embedding = nn.Embedding(src_vocab_size, embed_dim)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_dim)
        self.encoder = rnn(embed_dim, hidden_size, num_layers, batch_first=True, dropout=between,
                           bidirectional=bidirectional)
        self.bridge = nn.Linear(memory_dim, hidden_size) if bidirectional else None
        self.bridge_cell = nn.Linear(memory_dim, hidden_size) if bidirectional and cell == "lstm" else None
        self.attention = (AdditiveAttention(query_dim=hidden_size, key_dim=memory_dim,
                                            attention_dim=attention_dim or hidden_size) if attention else None)
        context_dim = memory_dim if attention else 0
        self.decoder = rnn(embed_dim + context_dim, hidden_size, num_layers, batch_first=True, dropout=between)
        readout_in = hidden_size + (context_dim + embed_dim if attention else 0)
        self.maxout = nn.Linear(readout_in, 2 * maxout_dim) if maxout_dim else None
        self.out = nn.Linear(maxout_dim or readout_in, tgt_vocab_size)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters(init_range)

    def reset_parameters(self, init_range: float = 0.08) -> None:
        """Every parameter uniform in [-init_range, init_range] (Sutskever Section 3.4)."""
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    # --- encoder -------------------------------------------------------------------------------

    def init_state(self, src: torch.Tensor) -> dict[str, torch.Tensor]:  # (B, S)
        """Encode `src`; the decoder's initial state. Tensors have one row per input (dim 0):
        ``hidden`` (and ``cell`` for an LSTM) (B, layers, H); with attention ``memory`` (the
        annotations h_j, B, S, D_h), ``keys`` (U_a h_j, B, S, A) and ``mask`` (B, S)."""
        mask = src != self.pad_id  # (B, S)
        lengths = mask.sum(1)  # (B,)
        if self.reverse_source:
            src = reverse_padded(src, lengths)
        x = self.dropout(self.src_embedding(src))  # (B, S, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])  # (B, S, D_h)
        state: dict[str, torch.Tensor] = {}
        if self.cell == "lstm":
            state["hidden"], state["cell"] = self._bridge(final[0], self.bridge, True), self._bridge(
                final[1], self.bridge_cell, False)
        else:
            state["hidden"] = self._bridge(final, self.bridge, True)
        if self.attention is not None:
            state.update(memory=memory, keys=self.attention.project_keys(memory), mask=mask)
        return state

    def _bridge(self, final: torch.Tensor, linear: nn.Linear | None, squash: bool) -> torch.Tensor:
        """Encoder final states (layers * directions, B, H) -> decoder initial states (B, layers, H)."""
        B = final.shape[1]
        if linear is None:  # unidirectional: the final state as it is (Sutskever)
            return final.transpose(0, 1)  # (B, layers, H)
        both = final.view(self.num_layers, 2, B, self.hidden_size).permute(2, 0, 1, 3).reshape(
            B, self.num_layers, 2 * self.hidden_size)  # (B, layers, 2H): [forward; backward]
        out = linear(both)  # (B, layers, H)
        return torch.tanh(out) if squash else out

    # --- decoder -------------------------------------------------------------------------------

    def _step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]
              ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:  # tokens (N,)
        """One decoder step: logits (N, V), attention weights (N, S) or None, new state."""
        emb = self.dropout(self.tgt_embedding(tokens))  # E y_{i-1}: (N, E)
        hidden = state["hidden"].transpose(0, 1).contiguous()  # (layers, N, H)
        inputs, context, alpha = emb, None, None
        if self.attention is not None:
            # the alignment is computed from the previous top-layer state s_{i-1}
            context, alpha = self.attention(hidden[-1], state["keys"], state["memory"], state["mask"])
            inputs = torch.cat([emb, context], dim=-1)  # [E y_{i-1}; c_i]
        rnn_state = (hidden, state["cell"].transpose(0, 1).contiguous()) if self.cell == "lstm" else hidden
        # Section 3.1: s_i = f(s_{i-1}, y_{i-1}, c_i)
        output, new = self.decoder(inputs[:, None, :], rnn_state)  # output (N, 1, H)
        s = output[:, 0]  # (N, H)
        features = s if context is None else torch.cat([s, context, emb], dim=-1)
        features = self.dropout(features)
        if self.maxout is not None:
            # t_i = max over pairs of W_o' [s_i; c_i; E y_{i-1}] (maxout, Goodfellow et al. 2013)
            features = self.maxout(features).view(s.shape[0], -1, 2).amax(-1)  # (N, maxout_dim)
        new_state = {**state}
        if self.cell == "lstm":
            new_state["hidden"], new_state["cell"] = new[0].transpose(0, 1), new[1].transpose(0, 1)
        else:
            new_state["hidden"] = new.transpose(0, 1)
        return self.out(features), alpha, new_state  # (N, V)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, *, return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:  # (B, S), (B, T)
        state = self.init_state(src)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):  # teacher forcing: the true previous token is the input
            step_logits, alpha, state = self._step(tgt_in[:, t], state)
            logits.append(step_logits)
            weights.append(alpha)
        out = torch.stack(logits, dim=1)  # (B, T, V)
        if not return_attention:
            return out
        if self.attention is None:
            raise UserError("this model has no attention; build it with attention=True")
        return out, torch.stack(weights, dim=1)  # (B, T, S)

    def decode_step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Log-probabilities (N, V) of the next token after `tokens` (N,), and the new state."""
        logits, _, state = self._step(tokens, state)
        return logits.float().log_softmax(-1), state

    @torch.no_grad()
    def generate(self, src: torch.Tensor, *, beam_size: int = 1, alpha: float = 0.0,
                 max_extra: int = 50) -> torch.Tensor:
        """Translations of `src` (B, S): greedy by default, beam search with ``beam_size > 1``
        (Sutskever used beams up to 12, without a length penalty; alpha adds GNMT's). At most
        input length + `max_extra` tokens. Returns (B, T) ids without ``<s>``, padded. Eval mode."""
        return decode(self, src, bos=self.bos_id, eos=self.eos_id, pad=self.pad_id, beam_size=beam_size,
                      alpha=alpha, max_extra=max_extra)


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *, pad_id: int = 0) -> torch.Tensor:
    """Mean cross-entropy over the target tokens that are not padding: logits (B, T, V), target (B, T)."""
    return F.cross_entropy(logits.flatten(0, 1).float(), target.flatten(), ignore_index=pad_id)


# --- builders ----------------------------------------------------------------------------------
# Registered with an example input: a (source ids, target input ids) pair of batches.


def _registered(tgt_vocab_size: int, **kw: Any):
    return register_model(paper="seq2seq", input_size=(10,), num_classes=tgt_vocab_size,
                          example_input=lambda n: random_pairs(n, vocab_size=tgt_vocab_size), **kw)


@_registered(80000)
def seq2seq_lstm(*, src_vocab_size: int = 160000, tgt_vocab_size: int = 80000, reverse_source: bool = True,
                 dropout: float = 0.0) -> Seq2Seq:
    """Sutskever et al.'s deep LSTM (4 layers, 1000 cells, reversed source), 384M parameters at 160k/80k words."""
    return Seq2Seq(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=1000, hidden_size=1000,
                   num_layers=4, cell="lstm", reverse_source=reverse_source, dropout=dropout)


@_registered(30000)
def seq2seq_gru(*, src_vocab_size: int = 30000, tgt_vocab_size: int = 30000, dropout: float = 0.0) -> Seq2Seq:
    """RNNencdec, Bahdanau et al.'s baseline (GRU, 1000 units, 620-d embeddings, maxout 500, no attention)."""
    return Seq2Seq(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=620, hidden_size=1000,
                   num_layers=1, cell="gru", maxout_dim=500, dropout=dropout)


@_registered(30000)
def seq2seq_gru_attn(*, src_vocab_size: int = 30000, tgt_vocab_size: int = 30000, dropout: float = 0.0) -> Seq2Seq:
    """RNNsearch (Bahdanau et al.): bidirectional GRU encoder, additive attention, 1000 units, maxout 500."""
    return Seq2Seq(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=620, hidden_size=1000,
                   num_layers=1, cell="gru", bidirectional=True, attention=True, attention_dim=1000,
                   maxout_dim=500, dropout=dropout)


@_registered(8000)
def seq2seq_small(*, src_vocab_size: int = 8000, tgt_vocab_size: int = 8000, embed_dim: int = 256,
                  hidden_size: int = 512, cell: Cell = "gru", bidirectional: bool = True, attention: bool = True,
                  maxout_dim: int = 0, dropout: float = 0.3) -> Seq2Seq:
    """RNNsearch at the size of small corpora such as Multi30k (bidirectional GRU, additive attention, 256-d
    embeddings, 512 units, linear readout by default, every size adjustable; not in the papers)."""
    return Seq2Seq(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=embed_dim,
                   hidden_size=hidden_size, num_layers=1, cell=cell, bidirectional=bidirectional, attention=attention,
                   maxout_dim=maxout_dim, dropout=dropout)


@_registered(1000, tiny=True)
def seq2seq_tiny(*, src_vocab_size: int = 1000, tgt_vocab_size: int = 1000, cell: Cell = "gru",
                 attention: bool = True, dropout: float = 0.0) -> Seq2Seq:
    """A tiny bidirectional GRU with attention for tests (32-d embeddings, 64 units; not in the papers).

    Initialised in [-0.2, 0.2]: [-0.08, 0.08] suits Sutskever's 1000 units, but leaves layers this
    narrow so small that the registry's 60-step one-batch overfit test does not converge."""
    return Seq2Seq(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_dim=32, hidden_size=64,
                   num_layers=1, cell=cell, bidirectional=True, attention=attention, maxout_dim=32,
                   dropout=dropout, init_range=0.2)
