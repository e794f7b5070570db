"""Vaswani et al. (2017). Attention Is All You Need. arXiv:1706.03762."""

#: The modules that register this paper's claims (paperzoo.claims.catalog imports them on demand).
CLAIM_MODULES = ("experiments", "table3", "analysis")
