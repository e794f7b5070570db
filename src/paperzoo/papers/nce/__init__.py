"""Gutmann & Hyvärinen (2010). Noise-contrastive estimation: A new estimation principle for unnormalized
statistical models. AISTATS, PMLR 9:297-304; and Mnih & Teh (2012). A fast and simple algorithm for training
neural probabilistic language models. ICML 2012, arXiv:1206.6426.

The NCE loss and the models are in :mod:`.model`; the claims in :mod:`.experiments`.
"""
