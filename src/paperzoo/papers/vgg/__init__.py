"""Simonyan, Zisserman (2015). Very Deep Convolutional Networks for Large-Scale Image Recognition. arXiv:1409.1556."""
