"""Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville, Bengio (2014). Generative
Adversarial Nets. arXiv:1406.2661 (NIPS 2014)."""

CLAIM_MODULES = ("experiments", "mnist")
