"""Huang, Liu, van der Maaten, Weinberger (2017). Densely Connected Convolutional Networks. arXiv:1608.06993."""
