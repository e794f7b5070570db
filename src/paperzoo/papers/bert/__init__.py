"""Devlin, Chang, Lee, Toutanova (2018). BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding. NAACL 2019. arXiv:1810.04805.

The encoder and the pre-training heads are in :mod:`.model`; Hugging Face weights in :mod:`.hf`;
WordPiece in :mod:`.tokenizer`; google's pre-training instances in :mod:`.pretraining_data`; the
pre-training task and recipe in :mod:`.pretrain`; the fine-tuning heads in :mod:`.heads`.
"""

#: The modules that register this paper's card and claims (paperzoo.claims.catalog imports them on demand).
CLAIM_MODULES = ("card", "experiments")
