"""Greedy and beam-search decoding for any autoregressive model.

Both search over a step function ``step(tokens, state) -> (log_probs, state)``: `tokens` (N, t)
are the tokens of each of N hypotheses so far (``<s>`` first), `log_probs` (N, V) the
log-probabilities of the next token, and `state` whatever the model carries between steps (an
encoder's output, a key/value cache, an RNN's hidden state). `state` is a tree of tuples, lists
and dicts whose tensors all have one row per hypothesis in dimension 0, so the search can reorder
it when beams are selected; other leaves (ints, None) are passed through.

:func:`decode` wires a model with the incremental-decoding interface of :class:`IncrementalDecoder`
(``init_state(src) -> state``, ``decode_step(last_tokens, state) -> (log_probs, state)``) to
either search, with the Transformer paper's defaults: beam 4, length penalty alpha 0.6 and at
most ``input length + 50`` output tokens (Vaswani et al. 2017, Section 6.1).

Beam search keeps, for each input, `beam_size` live hypotheses and the `beam_size` best finished
ones. Each step ranks the continuations of the live hypotheses by log P(Y|X) and takes the top
``2 * beam_size``: those that end with ``</s>`` *and* rank within the top `beam_size` finish (as in
fairseq, so that beam 1 with alpha 0 is greedy search), and the best `beam_size` that do not end
stay live. Finished hypotheses are ranked by log P(Y|X) / lp(Y) with GNMT's length penalty
lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al. 2016, Section 7; |Y| counts the generated tokens, ``</s>``
included). An input stops when its best live hypothesis, even at the largest length penalty it
could still reach, cannot beat its worst kept finished one (exact for alpha >= 0, since
log-probabilities only fall), or at the maximum length, where the top `beam_size` continuations
finish whether they end or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

__all__ = ["IncrementalDecoder", "StepFn", "beam_search", "decode", "greedy_search", "length_penalty",
           "reorder_state"]

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


class IncrementalDecoder(Protocol):
    """What :func:`decode` needs from a sequence-to-sequence model."""

    def init_state(self, src: torch.Tensor) -> Any:
        """The decoding state for source ids `src` (B, S): one row per input in every tensor."""

    def decode_step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Log-probabilities (N, V) of the token after `tokens` (N,), the last token of each
        hypothesis, and the updated state."""


def reorder_state(state: Any, index: torch.Tensor) -> Any:
    """`state` with the rows `index` of every tensor (dimension 0), other leaves unchanged."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {k: reorder_state(v, index) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(reorder_state(v, index) for v in state)
    return state


def length_penalty(length: torch.Tensor | float, alpha: float) -> torch.Tensor | float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al. 2016, Section 7)."""
    return ((5.0 + length) / 6.0) ** alpha


def _max_lengths(max_len: int | torch.Tensor, batch: int, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(max_len, device=device).expand(batch).long()


def greedy_search(step: StepFn, state: Any, *, batch_size: int, bos: int, eos: int, pad: int,
                  max_len: int | torch.Tensor, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The most probable next token at every step, until ``</s>`` or `max_len` tokens (an int,
    or one per input).

    Returns ``(tokens, log_prob)``: tokens (B, T) without ``<s>``, ``</s>`` included where
    produced, `pad` after it; log_prob (B,) the sum of the chosen tokens' log-probabilities.
    """
    device = torch.device(device)
    limit = _max_lengths(max_len, batch_size, device)
    tokens = torch.full((batch_size, 1), bos, dtype=torch.long, device=device)
    done = limit <= 0
    total = torch.zeros(batch_size, device=device)
    for t in range(int(limit.max())):
        log_probs, state = step(tokens, state)  # (B, V)
        best, choice = log_probs.max(dim=-1)  # (B,)
        choice = choice.masked_fill(done, pad)
        total = total + best.masked_fill(done, 0.0)
        tokens = torch.cat([tokens, choice[:, None]], dim=1)  # (B, t + 2)
        done = done | (choice == eos) | (t + 1 >= limit)
        if bool(done.all()):
            break
    return tokens[:, 1:], total


def beam_search(step: StepFn, state: Any, *, batch_size: int, bos: int, eos: int, pad: int,
                max_len: int | torch.Tensor, beam_size: int = 4, alpha: float = 0.6,
                device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search (see the module docstring). `state` has one row per input; it is repeated
    for the beams here.

    Returns ``(tokens, scores)``: tokens (B, K, T) best first, without ``<s>``, padded with
    `pad` after ``</s>``; scores (B, K) = log P / lp. With ``alpha=0`` and ``beam_size=1`` this
    is greedy search.
    """
    device = torch.device(device)
    B, K = batch_size, beam_size
    limit = _max_lengths(max_len, B, device)  # (B,)
    rows = torch.arange(B, device=device)
    state = reorder_state(state, rows.repeat_interleave(K))  # (B*K, ...)
    alive = torch.full((B, K, 1), bos, dtype=torch.long, device=device)  # (B, K, t+1), <s> first
    alive_logp = torch.full((B, K), float("-inf"), device=device)
    alive_logp[:, 0] = 0.0  # one live hypothesis per input at the start
    pool = torch.full((B, K, 0), pad, dtype=torch.long, device=device)  # finished, without <s>
    pool_scores = torch.full((B, K), float("-inf"), device=device)
    in_beam = torch.arange(2 * K, device=device) < K  # (2K,) candidates ranked within the beam
    done = limit <= 0
    for t in range(int(limit.max())):
        log_probs, state = step(alive.view(B * K, -1), state)  # (B*K, V)
        V = log_probs.shape[-1]
        cand = (alive_logp[:, :, None] + log_probs.view(B, K, V)).view(B, K * V)  # (B, K*V)
        top_logp, top_index = cand.topk(2 * K, dim=1)  # (B, 2K)
        beam, token = top_index // V, top_index % V
        prefix = alive.gather(1, beam[:, :, None].expand(-1, -1, t + 1))  # (B, 2K, t+1)
        seqs = torch.cat([prefix, token[:, :, None]], 2)  # (B, 2K, t+2)
        ends = token == eos
        last = (t + 1 >= limit)[:, None]  # (B, 1): at the maximum length every hypothesis stops
        # A hypothesis finishes when it ends and ranks within the beam (so that beam 1 is greedy).
        finishing = in_beam & (ends | last) & ~done[:, None]
        # score(Y) = log P(Y|X) / lp(Y), with |Y| = t + 1 generated tokens
        fin_scores = (top_logp / length_penalty(t + 1.0, alpha)).masked_fill(~finishing, float("-inf"))
        pool = torch.cat([pool, torch.full((B, K, 1), pad, dtype=torch.long, device=device)], 2)  # (B, K, t+1)
        merged = torch.cat([pool, seqs[:, :, 1:]], 1)  # (B, 3K, t+1)
        pool_scores, keep = torch.cat([pool_scores, fin_scores], 1).topk(K, dim=1)  # (B, K)
        pool = merged.gather(1, keep[:, :, None].expand(-1, -1, t + 1))
        # live: the best K continuations that do not end
        alive_logp, pick = top_logp.masked_fill(ends, float("-inf")).topk(K, dim=1)  # (B, K)
        alive = seqs.gather(1, pick[:, :, None].expand(-1, -1, t + 2))  # (B, K, t+2)
        state = reorder_state(state, (beam.gather(1, pick) + rows[:, None] * K).view(-1))
        # an input is done when no live hypothesis can still beat its worst kept finished one
        best_possible = alive_logp[:, 0] / length_penalty(limit.float(), alpha)
        done = done | last[:, 0] | (best_possible < pool_scores[:, -1])
        if bool(done.all()):
            break
    return pool, pool_scores


def decode(model: IncrementalDecoder, src: torch.Tensor, *, bos: int, eos: int, pad: int,
           beam_size: int = 4, alpha: float = 0.6, max_extra: int = 50,
           src_lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Translate source ids `src` (B, S): greedy when ``beam_size == 1 and alpha == 0``, else beam
    search; at most ``source length + max_extra`` tokens (Section 6.1: "input length + 50").

    Returns the best hypothesis of each input, (B, T) without ``<s>``, padded with `pad`.
    """
    lengths = (src != pad).sum(1) if src_lengths is None else src_lengths
    state = model.init_state(src)

    def step(tokens: torch.Tensor, st: Any) -> tuple[torch.Tensor, Any]:
        return model.decode_step(tokens[:, -1], st)

    kw = dict(batch_size=src.shape[0], bos=bos, eos=eos, pad=pad, max_len=lengths + max_extra, device=src.device)
    if beam_size == 1 and alpha == 0:
        return greedy_search(step, state, **kw)[0]
    return beam_search(step, state, beam_size=beam_size, alpha=alpha, **kw)[0][:, 0]
