"""Ba, Kiros, Hinton (2016). Layer Normalization. arXiv:1607.06450."""
