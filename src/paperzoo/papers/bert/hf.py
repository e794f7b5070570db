"""Hugging Face BERT weights in paperzoo's BERT, and back.

:func:`load_hf_bert` copies an HF ``BertForPreTraining`` state dict (or a bare ``BertModel`` one,
without the ``bert.`` prefix: then the encoder only) into :class:`~.model.BertForPreTraining` or
:class:`~.model.BertModel`; :func:`to_hf_bert` gives the state dict that HF's model of the same
configuration loads with ``strict=True`` (:func:`hf_config` gives that configuration). Both
directions read one table of name pairs (:data:`EMBEDDINGS`, :data:`LAYER`, :data:`POOLER`,
:data:`HEADS`). :func:`load_pretrained` reads a local HF folder (``config.json`` and safetensors
weights); it never downloads, and it refuses pickled weights (``pytorch_model.bin``), whose loading
can run arbitrary code.

Old checkpoints (google's converted ones, such as ``bert-base-uncased``) name LayerNorm parameters
``gamma`` and ``beta`` and save the ``position_ids`` buffer: both are understood. HF's output layer
``cls.predictions.decoder`` is tied to the token embeddings and to ``cls.predictions.bias``; its
copies in a state dict are checked to be the tied tensors and otherwise not read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ...errors import UserError
from .model import BertForPreTraining, BertModel, from_hf_config

__all__ = ["EMBEDDINGS", "HEADS", "LAYER", "POOLER", "TIED", "hf_config", "load_hf_bert", "load_pretrained",
           "name_pairs", "to_hf_bert"]


def _tensors(modules: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(paperzoo module, HF module) pairs -> the pairs of their ``weight`` and ``bias`` tensors."""
    return [(f"{ours}.{p}", f"{hf}.{p}") for ours, hf in modules for p in ("weight", "bias")]


# The table: (paperzoo tensor, HF tensor) name pairs.
#: The embeddings, relative to the encoder (``BertModel``) in both.
EMBEDDINGS = [("embeddings.token.weight", "embeddings.word_embeddings.weight"),
              ("embeddings.segment.weight", "embeddings.token_type_embeddings.weight"),
              ("embeddings.position.weight", "embeddings.position_embeddings.weight"),
              *_tensors([("embeddings.norm", "embeddings.LayerNorm")])]
#: One encoder layer, relative to ``layers.{i}`` (paperzoo) and ``encoder.layer.{i}`` (HF).
LAYER = _tensors([("self_attn.q_proj", "attention.self.query"),
                  ("self_attn.k_proj", "attention.self.key"),
                  ("self_attn.v_proj", "attention.self.value"),
                  ("self_attn.out_proj", "attention.output.dense"),
                  ("norm1", "attention.output.LayerNorm"),
                  ("ffn.linear1", "intermediate.dense"),
                  ("ffn.linear2", "output.dense"),
                  ("norm2", "output.LayerNorm")])
#: The pooler, relative to the encoder.
POOLER = _tensors([("pooler", "pooler.dense")])
#: The pre-training heads, relative to BertForPreTraining in both.
HEADS = [*_tensors([("mlm.dense", "cls.predictions.transform.dense"),
                    ("mlm.norm", "cls.predictions.transform.LayerNorm"),
                    ("nsp", "cls.seq_relationship")]),
         ("mlm.bias", "cls.predictions.bias")]
#: HF's tied copies: name -> the HF tensor it is tied to (not in the table: the same tensors).
TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias"}
#: Buffers HF saves in some versions; not weights.
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


def name_pairs(num_layers: int, *, heads: bool, prefix: tuple[str, str] = ("", "")) -> list[tuple[str, str]]:
    """Every (paperzoo tensor, HF tensor) name pair of an encoder of ``num_layers`` layers, its names
    prefixed by ``prefix`` (e.g. ``("bert.", "bert.")``), plus the pre-training heads with ``heads``."""
    layers = [(f"layers.{i}.{ours}", f"encoder.layer.{i}.{hf}") for i in range(num_layers) for ours, hf in LAYER]
    pairs = [(prefix[0] + ours, prefix[1] + hf) for ours, hf in EMBEDDINGS + layers + POOLER]
    return pairs + HEADS if heads else pairs


def _modern(name: str) -> str:
    """HF's current name for a tensor of an old checkpoint (LayerNorm ``gamma`` and ``beta``)."""
    if ".LayerNorm." in name and name.endswith((".gamma", ".beta")):
        return name.rsplit(".", 1)[0] + (".weight" if name.endswith(".gamma") else ".bias")
    return name


def _encoder(model: BertForPreTraining | BertModel) -> BertModel:
    if isinstance(model, BertForPreTraining):
        return model.bert
    if isinstance(model, BertModel):
        return model
    raise UserError(f"expected paperzoo's BertForPreTraining or BertModel, not {type(model).__name__}")


def load_hf_bert(model: BertForPreTraining | BertModel,
                 hf_state_dict: Mapping[str, torch.Tensor]) -> BertForPreTraining | BertModel:
    """Copy an HF BERT state dict into ``model`` (in place; returns it).

    ``hf_state_dict`` is HF ``BertForPreTraining``'s (``bert.*`` and ``cls.*``) or a bare
    ``BertModel``'s (``embeddings.*``, ``encoder.*``, ``pooler.*``). Into a BertForPreTraining the
    former loads everything, the latter the encoder only (the heads keep their weights); into a
    BertModel either loads the encoder and the pre-training heads ``cls.*`` are left out (fine-tuning
    starts from the encoder, Section 3.2). Every other tensor must match one of ``model``'s and
    every tensor of ``model`` must be given, with the same shape: otherwise a UserError lists the
    missing, unexpected and mis-shaped names.
    """
    encoder = _encoder(model)
    sd = {_modern(k): v for k, v in hf_state_dict.items() if not k.endswith(_BUFFERS)}
    bare = not any(k.startswith(("bert.", "cls.")) for k in sd)
    if bare:
        sd = {f"bert.{k}": v for k, v in sd.items()}
    heads = isinstance(model, BertForPreTraining) and not bare
    if not isinstance(model, BertForPreTraining):
        sd = {k: v for k, v in sd.items() if not k.startswith("cls.")}
    pairs = name_pairs(len(encoder.layers), heads=heads, prefix=("bert." if heads else "", "bert."))
    target = model if heads else encoder
    ours = target.state_dict()
    uncovered = sorted(set(ours) - {o for o, _ in pairs})
    if uncovered:  # the table no longer describes the model: a bug here, not in the checkpoint
        raise RuntimeError(f"paperzoo tensors without an HF name: {uncovered}")
    for alias, source in TIED.items():  # HF's copies of tied tensors: checked, not read
        copy = sd.pop(alias, None)
        if copy is not None and source in sd and not torch.equal(copy, sd[source]):
            raise UserError(f"{alias} differs from {source}: an untied output layer, which paperzoo's BERT "
                            "does not implement (its output layer is the token-embedding matrix)")
    missing = [hf for _, hf in pairs if hf not in sd]
    unexpected = sorted(set(sd) - {hf for _, hf in pairs})
    shapes = [f"{hf} {tuple(sd[hf].shape)} (paperzoo {tuple(ours[o].shape)})" for o, hf in pairs
              if hf in sd and sd[hf].shape != ours[o].shape]
    if missing or unexpected or shapes:
        raise UserError("the HF state dict does not fit this BERT: "
                        + "; ".join(f"{what}: {', '.join(names)}" for what, names in
                                    (("missing", missing), ("unexpected", unexpected), ("shape", shapes)) if names))
    with torch.no_grad():
        for o, hf in pairs:
            ours[o].copy_(sd[hf])
    return model


def to_hf_bert(model: BertForPreTraining | BertModel) -> dict[str, torch.Tensor]:
    """The HF state dict of ``model`` (copies of its tensors): ``transformers.BertForPreTraining``'s
    names for a BertForPreTraining, bare ``BertModel`` names for a BertModel, loadable with
    ``strict=True`` into HF's model built from :func:`hf_config`. The tied output layer's copies
    (``cls.predictions.decoder.*``) are included, as HF's own ``state_dict()`` has them."""
    encoder = _encoder(model)
    heads = isinstance(model, BertForPreTraining)
    pairs = name_pairs(len(encoder.layers), heads=heads, prefix=("bert.", "bert.") if heads else ("", ""))
    ours = model.state_dict()
    out = {hf: ours[o].detach().clone() for o, hf in pairs}
    if heads:
        out.update({alias: out[source].clone() for alias, source in TIED.items()})
    return out


def hf_config(model: BertForPreTraining | BertModel) -> dict[str, Any]:
    """The fields of HF's ``BertConfig`` for ``model`` (``transformers.BertConfig(**hf_config(m))``)."""
    enc = _encoder(model)
    layer = enc.layers[0]
    emb = enc.embeddings
    return dict(model_type="bert", vocab_size=emb.token.num_embeddings, hidden_size=emb.token.embedding_dim,
                num_hidden_layers=len(enc.layers), num_attention_heads=layer.self_attn.num_heads,
                intermediate_size=layer.ffn.linear1.out_features, hidden_act="gelu",
                hidden_dropout_prob=emb.dropout.p, attention_probs_dropout_prob=layer.self_attn.attn_dropout,
                max_position_embeddings=emb.position.num_embeddings, type_vocab_size=emb.segment.num_embeddings,
                layer_norm_eps=emb.norm.eps, position_embedding_type="absolute", is_decoder=enc.causal,
                tie_word_embeddings=True)


_PICKLED = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.h5", "*.msgpack")


def _safetensors_files(folder: Path) -> list[Path]:
    if (folder / "model.safetensors").is_file():
        return [folder / "model.safetensors"]
    index = folder / "model.safetensors.index.json"
    if index.is_file():  # sharded: model-00001-of-0000N.safetensors ...
        return [folder / f for f in sorted(set(json.loads(index.read_text())["weight_map"].values()))]
    other = sorted(p.name for pattern in _PICKLED for p in folder.glob(pattern))
    if other:
        raise UserError(f"{folder} has only {', '.join(other)}: paperzoo reads safetensors weights only (loading "
                        "pickled files can run arbitrary code). Convert them to safetensors first, e.g. with "
                        "transformers: BertForPreTraining.from_pretrained(folder).save_pretrained(folder), which "
                        "writes model.safetensors")
    raise UserError(f"{folder} has no model.safetensors (nor model.safetensors.index.json)")


def load_pretrained(folder: str | Path) -> BertForPreTraining | BertModel:
    """The BERT of a local Hugging Face folder (``config.json`` and ``model.safetensors``, or its
    shards), in eval mode as HF's ``from_pretrained`` returns it: a BertForPreTraining when the
    weights hold the pre-training heads (``cls.*``), else a BertModel. No network access."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder} has no config.json (a Hugging Face model folder has config.json and "
                        "model.safetensors)")
    files = _safetensors_files(folder)
    config = json.loads((folder / "config.json").read_text())
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(f))
    heads = any(k.startswith("cls.") for k in state)
    model = from_hf_config(config, heads=heads)
    return load_hf_bert(model, state).eval()
