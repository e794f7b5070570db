"""BERT's fine-tuning heads: the task-specific layers of Fig. 4 on top of a pre-trained encoder.

Devlin, Chang, Lee, Toutanova (2018). *BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding*. NAACL 2019. arXiv:1810.04805.

Section 3.2: "For each task, we simply plug in the task-specific inputs and outputs into BERT and
fine-tune all the parameters end-to-end." Each head wraps an encoder (the pre-trained
:class:`~paperzoo.papers.bert.model.BertModel`, or anything with its call signature) and adds
the few parameters the paper names:

- :class:`SequenceClassifier` (Section 4.1, Fig. 4a/b; GLUE): "the final hidden vector C ∈ R^H
  corresponding to the first input token ([CLS])" (as Google's ``run_classifier.py``, the pooled
  output tanh(W C + b), which pre-training's next sentence prediction trained), and "classification
  layer weights W ∈ R^{K×H} ... log(softmax(C W^T))". Sentence pairs are the same head: the pair
  is packed into one sequence with segment (token type) ids. ``num_labels=1`` is STS-B's
  regression, trained with mean squared error.
- :class:`TokenClassifier` (Section 5.3, Fig. 4d; NER, chunking, POS): a classifier on every
  position's final hidden state; "we use the representation of the first sub-token as the input
  to the token-level classifier" (:func:`align_word_labels`, :func:`word_starts`).
- :class:`SpanExtractor` (Section 4.2, Fig. 4c; SQuAD v1.1): "a start vector S ∈ R^H and an end
  vector E ∈ R^H"; P_i = e^{S·T_i} / Σ_j e^{S·T_j}; "the training objective is the sum of the
  log-likelihoods of the correct start and end positions" (Google's ``run_squad.py`` takes their
  mean, as here). Decoding picks the span maximising S·T_i + E·T_j with j ≥ i. SQuAD 2.0
  (Section 4.3): no-answer is a span at [CLS]; a non-null answer is predicted when
  ŝ_{i,j} > s_null + τ (:func:`best_spans` with ``null_threshold=τ``).
- :class:`MultipleChoice` (Section 4.4; SWAG): each (context, ending) pair is one sequence; "the
  only task-specific parameters introduced is a vector whose dot product with the [CLS] token
  representation C denotes a score for each choice which is normalized with a softmax layer".
- :class:`FeatureBased` (Section 5.3, Table 7): the encoder frozen, the activations of chosen
  layers combined (the best, 96.1 dev F1 on CoNLL-2003 NER, concatenates the last four) and fed
  to "a randomly initialized two-layer 768-dimensional BiLSTM before the classification layer".

:func:`finetune_optimizer` builds the optimiser and learning-rate schedule of the fine-tuning
recipe (Appendix A.2/A.3); :data:`PAPER_RECIPES` and :data:`FINETUNE_GRID` hold the paper's
batch sizes, learning rates and epochs.

Choices the paper leaves open (each also stated where it is made):

- Initialisation of the new layers: truncated normal, std 0.02 (cut at ±2 std), zero biases, as
  Google's ``create_model`` (``initializer_range`` 0.02, ``tf.truncated_normal_initializer``);
  the BiLSTM of :class:`FeatureBased` keeps PyTorch's default initialisation.
- Dropout 0.1 before the classification layers (Appendix A.3: "The dropout probability was
  always kept at 0.1"), as Google's ``run_classifier.py``; the span head has none, as
  ``run_squad.py``.
- The "768-dimensional" BiLSTM is taken as 768 units per direction (a setting, ``lstm_hidden``).

All heads read the encoder's outputs through one adapter, :func:`_encode`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...optim import OptimizerConfig, ScheduleConfig, build_optimizer, build_schedule
from .model import init_bert_weights

__all__ = [
    "FINETUNE_GRID",
    "IGNORE_INDEX",
    "PAPER_RECIPES",
    "FeatureBased",
    "MultipleChoice",
    "SequenceClassifier",
    "SpanExtractor",
    "SpanPrediction",
    "TokenClassifier",
    "align_word_labels",
    "best_spans",
    "finetune_optimizer",
    "finetune_schedule_config",
    "google_adam",
    "word_starts",
]

#: Label of positions that take no part in a token-level loss (PyTorch's cross-entropy default).
IGNORE_INDEX = -100

#: Appendix A.3: "The optimal hyperparameter values are task-specific, but we found the following
#: range of possible values to work well across all tasks".
FINETUNE_GRID = {"batch_size": (16, 32), "lr": (5e-5, 3e-5, 2e-5), "epochs": (2, 3, 4)}

#: What Section 4 reports for each task (BERT_LARGE; the learning rate of GLUE chosen on Dev among
#: the four listed). Warm-up, decay and weight decay are :func:`finetune_optimizer`'s.
PAPER_RECIPES = {
    "glue": {"batch_size": 32, "epochs": 3, "lr": (5e-5, 4e-5, 3e-5, 2e-5)},       # Section 4.1
    "squad1.1": {"batch_size": 32, "epochs": 3, "lr": (5e-5,)},                      # Section 4.2
    "squad2.0": {"batch_size": 48, "epochs": 2, "lr": (5e-5,)},                      # Section 4.3
    "swag": {"batch_size": 16, "epochs": 3, "lr": (2e-5,)},                          # Section 4.4
}


def _encode(encoder: nn.Module, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None,
            attention_mask: torch.Tensor | None, *, hidden_states: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...] | None]:
    """The encoder's (sequence (B, T, H), pooled (B, H), hidden states or None): the one place
    that knows the encoder's return type. ``hidden_states`` is (embeddings, layer 1, ..., layer L),
    each (B, T, H), asked for only when ``hidden_states=True``."""
    out = encoder(input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                  output_hidden_states=hidden_states)
    return out.sequence, out.pooled, (tuple(out.hidden_states) if hidden_states else None)


def _init_linear(layer: nn.Linear) -> nn.Linear:
    # Google's create_model: truncated_normal_initializer(stddev=0.02) (cut at 2 std), zero bias.
    init_bert_weights(layer)
    return layer


class SequenceClassifier(nn.Module):
    """Single sentence or sentence pair classification (Fig. 4a, 4b): dropout + Linear(H, K) on the
    pooled [CLS] output C. ``num_labels=1`` gives one score per input, for regression (STS-B)."""

    def __init__(self, *, encoder: nn.Module, hidden_size: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"num_labels must be at least 1, got {num_labels}")
        self.encoder = encoder
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        # Section 4.1: "classification layer weights W ∈ R^{K×H}, where K is the number of labels"
        self.classifier = _init_linear(nn.Linear(hidden_size, num_labels))

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, K) from token ids (B, T); a pair's segments are in ``token_type_ids``."""
        _, pooled, _ = _encode(self.encoder, input_ids, token_type_ids, attention_mask)   # (B, H)
        # Section 4.1: log(softmax(C W^T)); the softmax is in the loss
        return self.classifier(self.dropout(pooled))                                        # (B, K)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with class labels (B,) int64; mean squared error with float targets (B,)
        when ``num_labels == 1`` (STS-B)."""
        if self.num_labels == 1:
            return F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
        return F.cross_entropy(logits, labels)


class TokenClassifier(nn.Module):
    """Token-level classification (Fig. 4d): dropout + Linear(H, K) on every position's final
    hidden state T_i. Train with labels from :func:`align_word_labels` (first sub-token of each
    word labelled, the rest :data:`IGNORE_INDEX`)."""

    def __init__(self, *, encoder: nn.Module, hidden_size: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = _init_linear(nn.Linear(hidden_size, num_labels))

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, K) from token ids (B, T)."""
        sequence, _, _ = _encode(self.encoder, input_ids, token_type_ids, attention_mask)  # (B, T, H)
        return self.classifier(self.dropout(sequence))                                      # (B, T, K)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
        """Mean cross-entropy over the positions whose label (B, T) is not ``ignore_index``."""
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=ignore_index)


def align_word_labels(word_ids: Sequence[int | None], labels: Sequence[int], *,
                      ignore: int = IGNORE_INDEX) -> list[int]:
    """Per-token labels from per-word ``labels``: the first piece of each word gets its word's
    label, later pieces and special tokens (word id None) get ``ignore``.

    ``word_ids`` is what a tokenizer gives for each token (the word it came from, as
    ``tokenizers.Encoding.word_ids``), e.g. ``[None, 0, 1, 1, 2, None]`` for
    ``[CLS] John Jo ##hanson 's [SEP]``: labels ``[l0, l1, l2]`` -> ``[-100, l0, l1, -100, l2, -100]``.
    Section 5.3: "we use the representation of the first sub-token as the input to the
    token-level classifier over the NER label set".
    """
    out, previous = [], None
    for word in word_ids:
        if word is None:
            out.append(ignore)
        elif word != previous:
            if not 0 <= word < len(labels):
                raise ValueError(f"word id {word} has no label ({len(labels)} labels)")
            out.append(int(labels[word]))
        else:
            out.append(ignore)
        previous = word
    return out


def word_starts(word_ids: Sequence[int | None]) -> list[int]:
    """The position of each word's first piece, in order: where a token classifier's prediction
    for the word is read (the positions :func:`align_word_labels` labels)."""
    out, previous = [], None
    for position, word in enumerate(word_ids):
        if word is not None and word != previous:
            out.append(position)
        previous = word
    return out


class SpanPrediction(NamedTuple):
    """Best spans of a batch: ``start``, ``end`` (B,) int64 token positions (inclusive), -1 where
    no answer is predicted; ``score`` (B,) S·T_i + E·T_j of the best non-null span (-inf when the
    context has no valid span); ``null_score`` (B,) S·C + E·C at [CLS]."""

    start: torch.Tensor
    end: torch.Tensor
    score: torch.Tensor
    null_score: torch.Tensor


class SpanExtractor(nn.Module):
    """Span extraction (Fig. 4c, Section 4.2): one Linear(H, 2) whose rows are the start vector S
    and the end vector E; start and end logits S·T_i, E·T_i at every position."""

    def __init__(self, *, encoder: nn.Module, hidden_size: int) -> None:
        super().__init__()
        self.encoder = encoder
        # Section 4.2: "a start vector S ∈ R^H and an end vector E ∈ R^H" (with a bias, as run_squad.py)
        self.qa_outputs = _init_linear(nn.Linear(hidden_size, 2))

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(start logits, end logits), each (B, T), from token ids (B, T)."""
        sequence, _, _ = _encode(self.encoder, input_ids, token_type_ids, attention_mask)  # (B, T, H)
        logits = self.qa_outputs(sequence)                                                  # (B, T, 2)
        # Not masked at padding, as run_squad.py and HF's BertForQuestionAnswering: decoding
        # looks at context tokens only, and the loss learns to give padding no probability.
        start, end = logits.unbind(-1)                                                      # (B, T) each
        return start, end

    @staticmethod
    def loss(start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor,
             end_positions: torch.Tensor) -> torch.Tensor:
        """Mean of the start and end cross-entropies (Section 4.2: the log-likelihoods of the
        correct start and end positions; ``run_squad.py``: ``(start_loss + end_loss) / 2``).
        Positions (B,) int64; an example without an answer in the window points both at [CLS] (0)."""
        # P_i = softmax_i(S·T_i): −log P_start − log P_end, halved
        return (F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)) / 2

    @staticmethod
    def decode(start_logits: torch.Tensor, end_logits: torch.Tensor, context_mask: torch.Tensor, *,
               max_answer_length: int = 30, null_threshold: float | None = None,
               cls_index: int = 0) -> SpanPrediction:
        """:func:`best_spans` (a method too, for discoverability)."""
        return best_spans(start_logits, end_logits, context_mask, max_answer_length=max_answer_length,
                          null_threshold=null_threshold, cls_index=cls_index)


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, context_mask: torch.Tensor, *,
               max_answer_length: int = 30, null_threshold: float | None = None,
               cls_index: int = 0) -> SpanPrediction:
    """The span maximising S·T_i + E·T_j over context tokens i ≤ j < i + ``max_answer_length``.

    ``start_logits``, ``end_logits`` (B, T); ``context_mask`` (B, T) bool, True at the context's
    tokens (segment B without its final [SEP]: the spans a prediction may take). The search is
    exact over all valid pairs (Google's ``run_squad.py`` searches the 20 best starts and ends;
    30 is its ``max_answer_length``).

    SQuAD 2.0 (Section 4.3): with ``null_threshold=τ``, "we predict a non-null answer when
    ŝ_{i,j} > s_null + τ", s_null = S·C + E·C the score of the span at [CLS] (``cls_index``), τ
    chosen on Dev to maximise F1; otherwise start = end = -1. With ``null_threshold=None`` (v1.1)
    the best span is always returned, -1 only when the context has no token.
    """
    if max_answer_length < 1:
        raise ValueError(f"max_answer_length must be at least 1, got {max_answer_length}")
    B, T = start_logits.shape
    s, e = start_logits.float(), end_logits.float()
    # score[b, i, j] = S·T_i + E·T_j                                                     (B, T, T)
    score = s.unsqueeze(2) + e.unsqueeze(1)
    i = torch.arange(T, device=s.device)
    length = i.unsqueeze(0) - i.unsqueeze(1)                      # j − i                  (T, T)
    valid = (length >= 0) & (length < max_answer_length)
    ctx = context_mask.bool()
    valid = valid.unsqueeze(0) & ctx.unsqueeze(2) & ctx.unsqueeze(1)                      # (B, T, T)
    score = score.masked_fill(~valid, -math.inf)
    best, flat = score.flatten(1).max(dim=1)                                              # (B,)
    start, end = flat // T, flat % T
    null_score = s[:, cls_index] + e[:, cls_index]
    answer = torch.isfinite(best)
    if null_threshold is not None:
        # Section 4.3: non-null when ŝ_{i,j} > s_null + τ
        answer &= best > null_score + null_threshold
    start = torch.where(answer, start, torch.full_like(start, -1))
    end = torch.where(answer, end, torch.full_like(end, -1))
    return SpanPrediction(start, end, best, null_score)


class MultipleChoice(nn.Module):
    """Multiple choice (Section 4.4, SWAG): every (context, choice) pair is one sequence; a vector
    (Linear(H, 1)) dotted with each pair's pooled [CLS] output C gives its score, and a softmax
    over the C choices of an example gives their probabilities."""

    def __init__(self, *, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        # Section 4.4: "a vector whose dot product with the [CLS] token representation C denotes a score"
        self.classifier = _init_linear(nn.Linear(hidden_size, 1))

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, C) from token ids (B, C, T): one row of C pairs per example."""
        B, C, T = input_ids.shape

        def flat(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.reshape(B * C, T)

        _, pooled, _ = _encode(self.encoder, flat(input_ids), flat(token_type_ids), flat(attention_mask))  # (BC, H)
        return self.classifier(self.dropout(pooled)).view(B, C)                                           # (B, C)

    @staticmethod
    def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the softmax over the choices; ``labels`` (B,) the right choice's index."""
        return F.cross_entropy(logits, labels)


class FeatureBased(nn.Module):
    """The feature-based approach (Section 5.3, Table 7): a frozen encoder's activations, combined
    over ``layers``, fed to a BiLSTM and a token-level classification layer.

    ``layers`` index the encoder's hidden states (embeddings, layer 1, ..., layer L), so -1 is the
    last layer and 0 the embeddings; ``combine`` is ``"concat"`` (Table 7's best: the last four,
    4H features), ``"sum"`` (their plain sum) or ``"weighted"`` (a learned softmax-normalised
    weight per layer and a scale γ, as ELMo: Table 7's "Weighted Sum" rows; the paper does not say
    how its weights were obtained). The BiLSTM ("a randomly initialized two-layer 768-dimensional
    BiLSTM before the classification layer") is the paper's; its sizes are settings
    (``lstm_hidden`` units per direction, ``lstm_layers``), its initialisation PyTorch's.

    The encoder is frozen ("without fine-tuning any parameters of BERT"): its parameters do not
    require gradients and it always runs in eval mode (no dropout) under ``torch.no_grad``.
    """

    def __init__(self, *, encoder: nn.Module, hidden_size: int, num_labels: int,
                 layers: Sequence[int] = (-1, -2, -3, -4), combine: Literal["concat", "sum", "weighted"] = "concat",
                 lstm_hidden: int = 768, lstm_layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        if combine not in ("concat", "sum", "weighted"):
            raise ValueError(f"combine must be 'concat', 'sum' or 'weighted', got {combine!r}")
        if not layers:
            raise ValueError("layers must name at least one hidden state")
        self.encoder = encoder.eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.layers, self.combine = tuple(layers), combine
        if combine == "weighted":
            self.layer_logits = nn.Parameter(torch.zeros(len(self.layers)))   # softmax -> equal weights at start
            self.gamma = nn.Parameter(torch.ones(()))
        features = hidden_size * len(self.layers) if combine == "concat" else hidden_size
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(features, lstm_hidden, num_layers=lstm_layers, batch_first=True, bidirectional=True)
        self.classifier = _init_linear(nn.Linear(2 * lstm_hidden, num_labels))

    def train(self, mode: bool = True) -> FeatureBased:
        super().train(mode)
        self.encoder.eval()    # frozen: feature extraction never uses the encoder's dropout
        return self

    def features(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The combined activations (B, T, F): F = H·len(layers) for concat, H otherwise."""
        with torch.no_grad():
            _, _, hidden = _encode(self.encoder, input_ids, token_type_ids, attention_mask, hidden_states=True)
        chosen = [hidden[i] for i in self.layers]                                          # each (B, T, H)
        if self.combine == "concat":
            return torch.cat(chosen, dim=-1)                                               # (B, T, H·n)
        stacked = torch.stack(chosen)                                                      # (n, B, T, H)
        if self.combine == "sum":
            return stacked.sum(0)
        weights = self.layer_logits.softmax(0).view(-1, 1, 1, 1)
        return self.gamma * (weights * stacked).sum(0)                                     # γ Σ_l w_l h_l

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, K) from token ids (B, T); right padding (``attention_mask`` 0) is packed
        away so the backward LSTM starts at each sequence's last real token."""
        x = self.dropout(self.features(input_ids, token_type_ids, attention_mask))         # (B, T, F)
        T = x.shape[1]
        if attention_mask is None:
            out, _ = self.lstm(x)                                                          # (B, T, 2h)
        else:
            lengths = attention_mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        return self.classifier(self.dropout(out))                                          # (B, T, K)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
        """Mean cross-entropy over the positions whose label (B, T) is not ``ignore_index``."""
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=ignore_index)


def finetune_schedule_config(total_steps: int, *, warmup_fraction: float = 0.1) -> ScheduleConfig:
    """The learning-rate schedule of fine-tuning as a :class:`~paperzoo.optim.ScheduleConfig`
    (for :class:`~paperzoo.train.loop.TrainConfig`): linear warm-up from 0 over the first
    ``warmup_fraction`` of the steps, then linear decay to 0 at ``total_steps``."""
    if total_steps < 1 or not 0 <= warmup_fraction < 1:
        raise ValueError(f"need total_steps >= 1 and 0 <= warmup_fraction < 1, got {total_steps}, {warmup_fraction}")
    return ScheduleConfig(name="linear", warmup="linear", warmup_factor=0.0,
                          warmup_steps=int(round(warmup_fraction * total_steps)))


def google_adam(lr: float, *, weight_decay: float = 0.01) -> OptimizerConfig:
    """google-research/bert's optimiser, for pre-training and fine-tuning alike: Adam (β 0.9/0.999, ε 1e-6)
    without bias correction, decoupled weight decay, none on biases and LayerNorm parameters."""
    return OptimizerConfig(name="bert_adam", lr=lr, betas=(0.9, 0.999), eps=1e-6, weight_decay=weight_decay,
                           decay_bias_and_norm=False)


def finetune_optimizer(model: nn.Module, *, lr: float, weight_decay: float = 0.01, warmup_fraction: float = 0.1,
                       total_steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """BERT's fine-tuning optimiser and schedule: ``(optimizer, scheduler)``; call
    ``scheduler.step()`` after each ``optimizer.step()``.

    The optimiser is :class:`~paperzoo.optim.BertAdam`, Google's ``AdamWeightDecayOptimizer``:
    Adam with β1 0.9, β2 0.999 (Appendix A.2), ε 1e-6, no bias correction, and weight decay
    0.01 decoupled from the gradient (the paper's "L2 weight decay of 0.01"; the code adds λθ to
    the update, not to the gradient). Biases and LayerNorm parameters get no decay, as Google's
    code (:func:`no_decay_parameter_names`). Parameters that do not require gradients (a frozen
    encoder) are left out.

    The schedule (:func:`finetune_schedule_config`, through :func:`paperzoo.optim.build_schedule`)
    warms up linearly from 0 over the first ``warmup_fraction`` of ``total_steps`` and then
    decays linearly to 0, as pre-training's ("learning rate warmup over the first 10,000 steps,
    and linear decay", Appendix A.2). The 10% is Google's ``run_classifier.py`` and
    ``run_squad.py`` default (``warmup_proportion=0.1``); the paper states no fine-tuning warm-up.
    As in Google's ``create_optimizer``, the decay is ``1 − s/T`` from the end of the warm-up w on,
    so the rate steps from ``lr·(w − 1)/w`` down to ``lr·(1 − w/T)`` there (0.99·lr to 0.9·lr).
    ``lr`` is one of the paper's 5e-5, 3e-5, 2e-5 (:data:`FINETUNE_GRID`).
    """
    optimizer = build_optimizer(google_adam(lr, weight_decay=weight_decay), model)
    schedule = build_schedule(finetune_schedule_config(total_steps, warmup_fraction=warmup_fraction),
                              total_steps=total_steps)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
