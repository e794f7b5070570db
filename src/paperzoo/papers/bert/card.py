"""BERT's paper card (``paperzoo show bert``); the claims that will cite it register beside it."""

from __future__ import annotations

from ...claims.catalog import PaperCard, register_paper

PAPER = register_paper(PaperCard(
    key="bert",
    title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    authors="Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova",
    year=2018,
    arxiv="1810.04805",
    venue="NAACL 2019",
    problem=("Pre-trained language representations helped downstream tasks, but the strong ones were unidirectional "
             "(OpenAI GPT reads left to right; ELMo concatenates two one-way models), so no layer sees both sides of a "
             "token, which hurts token-level tasks such as question answering most."),
    idea=("Pre-train a deep bidirectional Transformer encoder on unlabelled text with two tasks: a masked language "
          "model (predict 15% of the tokens from both sides; 80% of them replaced by [MASK], 10% by a random token, "
          "10% left) and next sentence prediction on sentence pairs; then fine-tune all parameters with one small "
          "output layer per task ([CLS] for sentence tasks, every token for tagging, start/end vectors for spans)."),
    notes=("The pre-training corpus here is 3.05M words of NLTK corpora and WikiText-2 valid+test (the paper: "
           "BooksCorpus and English Wikipedia, 3.3B words), so only small models and the paper's patterns, not its "
           "numbers, can be reproduced on a CPU.",
           "bert.pretraining-helps is registered; bidirectionality, NSP, the masking mix, model size and the "
           "feature-based approach are still to come."),
))
