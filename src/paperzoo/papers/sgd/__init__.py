"""Loshchilov & Hutter (2017). Decoupled Weight Decay Regularization. arXiv:1711.05101 (ICLR 2019).

The paper behind the ``sgd`` key: when "weight decay" is L2 regularisation (for SGD) and when it is
not (for Adam). SGD itself is :class:`paperzoo.optim.SGD`; this paper has no models of its own.
"""
