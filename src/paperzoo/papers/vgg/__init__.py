"""Simonyan, Zisserman (2015). Very Deep Convolutional Networks for Large-Scale Image Recognition. arXiv:1409.1556."""

#: The claim modules: the CIFAR-10 comparisons (and the paper's card), and Section 3.3's data parallelism.
CLAIM_MODULES = ("experiments", "data_parallel")
