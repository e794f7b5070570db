"""Kingma & Welling (2013). Auto-Encoding Variational Bayes. arXiv:1312.6114 (ICLR 2014)."""
CLAIM_MODULES = ("experiments", "gradients", "curves", "latent")
