"""BERT: the bidirectional Transformer encoder and its two pre-training heads.

Devlin, Chang, Lee, Toutanova (2018). *BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding*. NAACL 2019. arXiv:1810.04805.

- Section 3, "Model Architecture": a multi-layer bidirectional Transformer encoder, "almost
  identical to the original" (Vaswani et al. 2017): L layers, hidden size H, A self-attention
  heads, feed-forward size 4H (footnote 3); BERT_BASE L=12, H=768, A=12 ("110M") and BERT_LARGE
  L=24, H=1024, A=16 ("340M"). The layers are :class:`paperzoo.papers.transformer.model.EncoderLayer`
  (post-LN, attention projections with biases, GELU feed-forward network).
- Section 3, "Input/Output Representations" and Figure 2: the input of each token is the sum of
  its token, segment (sentence A or B) and position embeddings; a [CLS] token comes first and its
  final hidden vector C is the aggregate representation; T_i is the final vector of token i.
- Section 3.1, Task #1 (masked LM): "the final hidden vectors corresponding to the mask tokens are
  fed into an output softmax over the vocabulary"; Task #2 (next sentence prediction): C is
  classified IsNext / NotNext (Figure 1).
- Appendix A.2: dropout 0.1 on all layers; the GELU activation (Hendrycks & Gimpel 2016) rather
  than ReLU; sequences of up to 512 tokens (learned position embeddings for 512 positions); "the
  training loss is the sum of the mean masked LM likelihood and the mean next sentence
  prediction likelihood" (:func:`pretraining_loss`).
- Section 5.1, Table 5, "LTR & No NSP": a left-to-right model, ``causal=True`` (every layer's
  self-attention masked to the left context; leave the NSP loss out with ``nsp_logits=None``).
- Section 5.3, Table 7: the feature-based approach reads the hidden states of several layers
  (``output_hidden_states=True``; "Concat Last Four Hidden" is ``torch.cat(h[-4:], -1)``).

What the paper leaves to the authors' code (google-research/bert ``modeling.py`` and
``run_pretraining.py``), which we follow, as Hugging Face's ``transformers`` does:

- The pooler: NSP (and sentence-level fine-tuning) read tanh(W C + b), not C itself.
- The masked-LM head: a dense H->H layer, GELU and LayerNorm before the output layer, whose weight
  is the token-embedding matrix (tied) plus an output-only bias per token.
- LayerNorm epsilon 1e-12; dropout also on the attention probabilities (0.1).
- The MLM head runs only at the masked positions (``masked_positions``, the code's
  ``gather_indexes``): 15% of the positions, so the V-way output layer costs ~7x less.
- The masked-LM loss is averaged over all real predictions of the batch (google's
  ``masked_lm_weights``; padded prediction slots weigh 0).
- Initialisation: weights of linear layers and embeddings from a normal with std 0.02 truncated
  at two standard deviations (TensorFlow's ``truncated_normal_initializer``, as google's code),
  biases 0, LayerNorm weight 1 and bias 0.

Deviations from Hugging Face's ``BertModel`` (the numbers are the same; tests/test_bert_model.py
holds the logits and every hidden state equal to HF's to float32 rounding):

- HF draws from an untruncated normal(0, 0.02) and zeroes the embedding row of ``pad_token_id``
  (``padding_idx``, which also stops that row's gradient through the lookup). We keep google's
  truncated normal and no ``padding_idx``: padded positions are masked as keys and never
  predicted, so the lookup gives the [PAD] row no gradient in pre-training anyway (the tied
  output layer does give it one, in both).
- Padding is masked with -inf (a bool mask) where google adds -10000 and HF the dtype's most
  negative number: the same after the softmax, except for a sequence without any real token
  (HF then attends uniformly, we output zeros from the fused kernel).
- ``attention_mask`` is the (B, T) 1/0 mask only (no 4-D masks); there are no ``position_ids``,
  ``inputs_embeds``, key/value caches or cross-attention (HF's decoder options).

Parameter counts (vocabulary 30,522; :class:`BertModel`, pooler included, equal to HF's):
BERT_BASE 109,482,240 (the paper's "110M") and BERT_LARGE 335,141,888 (the paper's "340M" is
1.4% above it). :class:`BertForPreTraining` adds the heads: 624,188 (base) and 1,084,220 (large),
the tied output matrix counted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import UserError
from ...registry import register_model
from ..transformer.model import EncoderLayer, causal_mask

__all__ = [
    "IGNORE_INDEX",
    "BertEmbeddings",
    "BertForPreTraining",
    "BertModel",
    "BertOutput",
    "MaskedLMHead",
    "PreTrainingLoss",
    "PreTrainingOutput",
    "bert_base",
    "bert_large",
    "bert_medium",
    "bert_mini",
    "bert_small",
    "bert_tiny",
    "example_batch",
    "from_hf_config",
    "init_bert_weights",
    "pretraining_loss",
    "truncated_normal_",
]

#: Label of a prediction slot that is no prediction (PyTorch's and HF's default ``ignore_index``).
IGNORE_INDEX = -100
#: google-research/bert's ``initializer_range``.
INIT_STD = 0.02


class BertOutput(NamedTuple):
    """What :class:`BertModel` returns.

    ``sequence`` (B, T, H): the last layer's hidden vectors T_i (HF's ``last_hidden_state``);
    ``pooled`` (B, H): tanh(W C + b) of the [CLS] vector C (HF's ``pooler_output``);
    ``hidden_states``: with ``output_hidden_states=True``, the L + 1 tensors (B, T, H) of the
    embeddings' output and of each layer's output, as HF's ``hidden_states``; otherwise None.
    """

    sequence: torch.Tensor
    pooled: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None


class PreTrainingOutput(NamedTuple):
    """What :class:`BertForPreTraining` returns.

    ``mlm_logits``: (B, P, V) at the given ``masked_positions``, else (B, T, V) at every position
    (HF's ``prediction_logits``); ``nsp_logits`` (B, 2), class 0 IsNext and 1 NotNext (HF's
    ``seq_relationship_logits``); ``hidden_states`` as in :class:`BertOutput`.
    """

    mlm_logits: torch.Tensor
    nsp_logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None


@torch.no_grad()
def truncated_normal_(tensor: torch.Tensor, std: float = INIT_STD) -> torch.Tensor:
    """Fill ``tensor`` from N(0, std^2), redrawing every value beyond two standard deviations, as
    TensorFlow's ``truncated_normal`` (the same distribution as ``nn.init.trunc_normal_(a=-2 std,
    b=2 std)``, ~10x faster on CPU: 4.6% of the values are redrawn, then 0.2%, ...)."""
    tensor.normal_(0.0, std)
    if tensor.is_meta:
        return tensor
    flat = tensor.view(-1)
    redraw = (flat.abs() > 2 * std).nonzero().squeeze(1)
    while redraw.numel():
        values = torch.empty(redraw.numel(), dtype=flat.dtype, device=flat.device).normal_(0.0, std)
        flat[redraw] = values
        redraw = redraw[values.abs() > 2 * std]
    return tensor


def init_bert_weights(module: nn.Module, std: float = INIT_STD) -> None:
    """google-research/bert's initialisation of one module (use with ``model.apply``): linear and
    embedding weights from N(0, std^2) truncated at +-2 std, biases 0, LayerNorm weight 1 bias 0."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        truncated_normal_(module.weight, std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, MaskedLMHead):
        nn.init.zeros_(module.bias)


class BertEmbeddings(nn.Module):
    """Section 3, Figure 2: token + segment + position embeddings, then LayerNorm and dropout."""

    def __init__(self, *, vocab_size: int = 30522, hidden: int = 768, max_position: int = 512,
                 type_vocab_size: int = 2, dropout: float = 0.1, norm_eps: float = 1e-12):
        super().__init__()
        self.token = nn.Embedding(vocab_size, hidden)
        self.segment = nn.Embedding(type_vocab_size, hidden)  # sentence A (0) or B (1)
        self.position = nn.Embedding(max_position, hidden)  # learned, absolute
        self.norm = nn.LayerNorm(hidden, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:  # (B, T) each
        T = input_ids.shape[1]
        if T > self.position.num_embeddings:
            raise UserError(f"a sequence of {T} tokens is longer than the {self.position.num_embeddings} positions "
                            "the model has position embeddings for (max_position)")
        positions = torch.arange(T, device=input_ids.device)  # (T,)
        # Figure 2: input = token embedding + segment embedding + position embedding
        x = self.token(input_ids) + self.segment(token_type_ids) + self.position(positions)  # (B, T, H)
        return self.dropout(self.norm(x))  # (B, T, H)


class BertModel(nn.Module):
    """The BERT encoder (Section 3): embeddings, L post-LN Transformer layers, and the pooler.

    ``forward(input_ids, token_type_ids=None, attention_mask=None, *, output_hidden_states=False)``
    with HF's argument names: ``input_ids`` (B, T); ``token_type_ids`` (B, T) 0 for sentence A and
    1 for B (default all 0); ``attention_mask`` (B, T) 1 for real tokens, 0 for padding (default
    all real) -> :class:`BertOutput`. Padding is masked as keys in every layer; padded positions
    still get (meaningless) outputs, as in HF. ``causal=True`` adds a left-to-right mask on every
    layer (Table 5's "LTR" model). Defaults are BERT_BASE's (Section 3, Appendix A.2).
    """

    def __init__(self, *, vocab_size: int = 30522, hidden: int = 768, num_layers: int = 12, num_heads: int = 12,
                 intermediate: int = 3072, max_position: int = 512, type_vocab_size: int = 2, dropout: float = 0.1,
                 attn_dropout: float = 0.1, norm_eps: float = 1e-12, causal: bool = False):
        super().__init__()
        self.causal = causal
        self.embeddings = BertEmbeddings(vocab_size=vocab_size, hidden=hidden, max_position=max_position,
                                         type_vocab_size=type_vocab_size, dropout=dropout, norm_eps=norm_eps)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model=hidden, num_heads=num_heads, d_ff=intermediate, dropout=dropout, attn_bias=True,
                         attn_dropout=attn_dropout, activation="gelu", norm_eps=norm_eps)
            for _ in range(num_layers))
        self.pooler = nn.Linear(hidden, hidden)  # google's code: tanh(W C + b)
        self.apply(init_bert_weights)

    def mask(self, attention_mask: torch.Tensor | None, length: int, device: torch.device) -> torch.Tensor | None:
        """The attention mask every layer uses, True where allowed: padding keys masked (B, 1, 1, T),
        and with ``causal`` every later key too (B, 1, T, T) or (T, T); None if nothing is masked."""
        if attention_mask is not None and attention_mask.dim() != 2:
            raise UserError(f"attention_mask must be (batch, length) with 1 for tokens and 0 for padding, "
                            f"not of shape {tuple(attention_mask.shape)}")
        keys = None if attention_mask is None else attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        if not self.causal:
            return keys
        left = causal_mask(length, device)  # (T, T): position t sees 0..t
        return left if keys is None else left & keys  # (B, 1, T, T)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, *, output_hidden_states: bool = False) -> BertOutput:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, H)
        mask = self.mask(attention_mask, input_ids.shape[1], input_ids.device)
        hidden = [x]
        for layer in self.layers:
            x = layer(x, mask)  # (B, T, H)
            hidden.append(x)
        pooled = torch.tanh(self.pooler(x[:, 0]))  # the [CLS] vector C, pooled: (B, H)
        return BertOutput(x, pooled, tuple(hidden) if output_hidden_states else None)


class MaskedLMHead(nn.Module):
    """Section 3.1 Task #1's output softmax over the vocabulary, as google's code builds it:
    dense H->H, GELU, LayerNorm, then the token-embedding matrix E (tied, passed to ``forward``)
    transposed plus an output-only bias b. ``forward(h, embedding)``: h (B, P, H), E (V, H) ->
    logits (B, P, V)."""

    def __init__(self, *, hidden: int = 768, vocab_size: int = 30522, norm_eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=norm_eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:  # (B, P, H), (V, H)
        h = self.norm(F.gelu(self.dense(h)))  # (B, P, H)
        return F.linear(h, embedding, self.bias)  # h E^T + b: (B, P, V)


class BertForPreTraining(nn.Module):
    """BERT with its two pre-training heads (Section 3.1): masked LM and next sentence prediction.

    ``forward(input_ids, token_type_ids=None, attention_mask=None, masked_positions=None, *,
    output_hidden_states=False)`` -> :class:`PreTrainingOutput`. ``masked_positions`` (B, P) long:
    the MLM head runs only at those positions (google's ``gather_indexes``) -> (B, P, V); without,
    at every position -> (B, T, V), as HF's ``prediction_logits``. The constructor takes
    :class:`BertModel`'s arguments; ``self.bert`` is the encoder (what fine-tuning starts from).
    """

    def __init__(self, *, vocab_size: int = 30522, hidden: int = 768, num_layers: int = 12, num_heads: int = 12,
                 intermediate: int = 3072, max_position: int = 512, type_vocab_size: int = 2, dropout: float = 0.1,
                 attn_dropout: float = 0.1, norm_eps: float = 1e-12, causal: bool = False):
        super().__init__()
        self.bert = BertModel(vocab_size=vocab_size, hidden=hidden, num_layers=num_layers, num_heads=num_heads,
                              intermediate=intermediate, max_position=max_position, type_vocab_size=type_vocab_size,
                              dropout=dropout, attn_dropout=attn_dropout, norm_eps=norm_eps, causal=causal)
        self.mlm = MaskedLMHead(hidden=hidden, vocab_size=vocab_size, norm_eps=norm_eps)
        self.nsp = nn.Linear(hidden, 2)  # Task #2: IsNext (0) / NotNext (1) from the pooled C
        self.mlm.apply(init_bert_weights)
        self.nsp.apply(init_bert_weights)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, masked_positions: torch.Tensor | None = None, *,
                output_hidden_states: bool = False) -> PreTrainingOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask, output_hidden_states=output_hidden_states)
        h = out.sequence  # (B, T, H)
        if masked_positions is not None:  # google's gather_indexes: only the masked tokens' vectors
            h = h.gather(1, masked_positions[..., None].expand(-1, -1, h.shape[-1]))  # (B, P, H)
        # Section 3.1: the final hidden vectors of the mask tokens are fed into a softmax over the vocabulary
        mlm = self.mlm(h, self.bert.embeddings.token.weight)  # (B, P, V) or (B, T, V)
        return PreTrainingOutput(mlm, self.nsp(out.pooled), out.hidden_states)  # nsp: (B, 2)


# --- the pre-training loss ---------------------------------------------------------------------

class PreTrainingLoss(NamedTuple):
    """``loss`` = ``mlm`` + ``nsp`` (``nsp`` is None without an NSP loss, and ``loss`` is ``mlm``)."""

    loss: torch.Tensor
    mlm: torch.Tensor
    nsp: torch.Tensor | None


def pretraining_loss(mlm_logits: torch.Tensor, mlm_labels: torch.Tensor, nsp_logits: torch.Tensor | None = None,
                     nsp_labels: torch.Tensor | None = None, *, mlm_weights: torch.Tensor | None = None,
                     ignore_index: int = IGNORE_INDEX) -> PreTrainingLoss:
    """Appendix A.2: "the sum of the mean masked LM likelihood and the mean next sentence prediction
    likelihood" (as negative log-likelihoods, to minimise).

    ``mlm_logits`` (B, P, V) and ``mlm_labels`` (B, P), the original ids of the masked tokens.
    Which slots are real predictions, stated one of two ways (or both, then both must agree):

    - ``mlm_labels == ignore_index`` (-100, PyTorch's and HF's convention) at slots that are no
      prediction: the padding of ``masked_positions``, or every unmasked position when the logits
      are (B, T, V);
    - ``mlm_weights`` (B, P), 1 for a real prediction and 0 for a padded slot (google's
      ``masked_lm_weights``).

    The MLM term is the mean over the real predictions of the whole batch (google's
    ``sum(w * nll) / sum(w)``), so a padded slot never counts, whatever label it holds. A label
    outside [0, V) that is not ``ignore_index`` is an error (the classic bug: slots padded with -1
    or 0 while the loss ignores another value). ``nsp_logits`` (B, 2) with ``nsp_labels`` (B,),
    0 IsNext and 1 NotNext: mean cross-entropy; leave both None for Table 5's "No NSP".
    """
    V = mlm_logits.shape[-1]
    real = mlm_labels != ignore_index  # (B, P)
    bad = real & ((mlm_labels < 0) | (mlm_labels >= V))
    if bad.any():
        raise UserError(f"masked-LM label {mlm_labels[bad][0].item()} is outside the vocabulary [0, {V}); mark "
                        f"slots that are no prediction with ignore_index={ignore_index} or give mlm_weights 0 there")
    weights = real.float() if mlm_weights is None else mlm_weights.float() * real  # (B, P)
    nll = F.cross_entropy(mlm_logits.float().flatten(0, -2), mlm_labels.flatten(), ignore_index=ignore_index,
                          reduction="none").view_as(weights)  # -log p(original token): (B, P)
    mlm = (weights * nll).sum() / weights.sum().clamp(min=torch.finfo(torch.float32).tiny)  # mean over real ones
    if (nsp_logits is None) != (nsp_labels is None):
        raise UserError("give both nsp_logits and nsp_labels, or neither (no NSP loss)")
    if nsp_logits is None:
        return PreTrainingLoss(mlm, mlm, None)
    nsp = F.cross_entropy(nsp_logits.float(), nsp_labels)  # mean over the batch
    return PreTrainingLoss(mlm + nsp, mlm, nsp)


# --- Hugging Face configurations -----------------------------------------------------------------

#: HF ``BertConfig`` field -> our constructor argument (every other field is checked or ignored).
_HF_FIELDS = {"vocab_size": "vocab_size", "hidden_size": "hidden", "num_hidden_layers": "num_layers",
              "num_attention_heads": "num_heads", "intermediate_size": "intermediate",
              "max_position_embeddings": "max_position", "type_vocab_size": "type_vocab_size",
              "hidden_dropout_prob": "dropout", "attention_probs_dropout_prob": "attn_dropout",
              "layer_norm_eps": "norm_eps"}


def from_hf_config(config: Any, *, heads: bool = True) -> BertForPreTraining | BertModel:
    """paperzoo's :class:`BertForPreTraining` (``heads=False``: :class:`BertModel`) for a Hugging Face
    ``transformers.BertConfig`` or a dict of its fields (a ``config.json``), randomly initialised;
    load weights with :func:`paperzoo.papers.bert.hf.load_hf_bert`. ``is_decoder=True`` (without
    cross-attention) becomes ``causal=True``. Refuses what we do not implement (another model type,
    an activation other than the exact ``gelu``, relative position embeddings, cross-attention,
    an untied output layer) with a UserError."""
    cfg: Mapping[str, Any] = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    refuse = {
        "model_type": (cfg.get("model_type", "bert"), "bert"),
        "hidden_act": (cfg.get("hidden_act", "gelu"), "gelu"),
        "position_embedding_type": (cfg.get("position_embedding_type") or "absolute", "absolute"),
        "add_cross_attention": (bool(cfg.get("add_cross_attention", False)), False),
        "tie_word_embeddings": (bool(cfg.get("tie_word_embeddings", True)), True),
    }
    for field, (value, ours) in refuse.items():
        if value != ours:
            raise UserError(f"this BERT configuration has {field}={value!r}; paperzoo's BERT implements only "
                            f"{field}={ours!r}")
    kwargs = {ours: cfg[hf] for hf, ours in _HF_FIELDS.items() if cfg.get(hf) is not None}
    cls = BertForPreTraining if heads else BertModel
    return cls(**kwargs, causal=bool(cfg.get("is_decoder", False)))


# --- builders --------------------------------------------------------------------------------------
# Section 3's BERT_BASE and BERT_LARGE, and the smaller models google-research/bert released (Turc,
# Chang, Lee, Toutanova 2019, "Well-Read Students Learn Better", arXiv:1908.08962); 4H everywhere.
# Registered with an example input: (input_ids, token_type_ids, attention_mask), two segments, padding.


def example_batch(n: int, *, vocab_size: int = 30522, length: int = 12,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` random sequence pairs of ``length`` tokens: ``input_ids`` (n, T) in [1, vocab_size) with
    padding id 0, ``token_type_ids`` (n, T) 0 for the first half and 1 after, ``attention_mask``
    (n, T) with 0, 1 or 2 padded positions at the end (row i has i % 3)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab_size, (n, length), generator=g)
    types = (torch.arange(length) >= length // 2).long().expand(n, -1).clone()
    mask = (torch.arange(length) < length - torch.arange(n)[:, None] % 3).long()  # (n, T)
    return ids * mask, types * mask, mask


def _registered(*, vocab_size: int = 30522, tiny: bool = False):
    return register_model(paper="bert", input_size=(128,), num_classes=vocab_size, tiny=tiny,
                          example_input=lambda n: example_batch(n, vocab_size=vocab_size))


def _bert(num_layers: int, hidden: int, num_heads: int, **kwargs: Any) -> BertForPreTraining:
    return BertForPreTraining(num_layers=num_layers, hidden=hidden, num_heads=num_heads, intermediate=4 * hidden,
                              **kwargs)


@_registered(tiny=True)
def bert_tiny(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
              causal: bool = False) -> BertForPreTraining:
    """BERT-Tiny (L=2, H=128, A=2; Turc et al. 2019), 4.4M parameters with the 30,522-token vocabulary."""
    return _bert(2, 128, 2, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)


@_registered()
def bert_mini(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
              causal: bool = False) -> BertForPreTraining:
    """BERT-Mini (L=4, H=256, A=4; Turc et al. 2019), 11.3M parameters."""
    return _bert(4, 256, 4, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)


@_registered()
def bert_small(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
               causal: bool = False) -> BertForPreTraining:
    """BERT-Small (L=4, H=512, A=8; Turc et al. 2019), 29.1M parameters."""
    return _bert(4, 512, 8, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)


@_registered()
def bert_medium(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
                causal: bool = False) -> BertForPreTraining:
    """BERT-Medium (L=8, H=512, A=8; Turc et al. 2019), 41.7M parameters."""
    return _bert(8, 512, 8, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)


@_registered()
def bert_base(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
              causal: bool = False) -> BertForPreTraining:
    """BERT_BASE (Section 3: L=12, H=768, A=12), 110.1M parameters with the pre-training heads."""
    return _bert(12, 768, 12, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)


@_registered()
def bert_large(*, vocab_size: int = 30522, dropout: float = 0.1, attn_dropout: float = 0.1,
               causal: bool = False) -> BertForPreTraining:
    """BERT_LARGE (Section 3: L=24, H=1024, A=16), 336.2M parameters with the pre-training heads."""
    return _bert(24, 1024, 16, vocab_size=vocab_size, dropout=dropout, attn_dropout=attn_dropout, causal=causal)
