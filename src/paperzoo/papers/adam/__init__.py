"""Kingma & Ba (2014). Adam: A Method for Stochastic Optimization. arXiv:1412.6980 (ICLR 2015).

The optimizer itself is :class:`paperzoo.optim.Adam`; this package holds the paper's MNIST models and claims.
"""
