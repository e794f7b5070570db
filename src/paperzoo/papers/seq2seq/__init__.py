"""Sutskever, Vinyals, Le (2014). Sequence to Sequence Learning with Neural Networks. arXiv:1409.3215.
With Bahdanau, Cho, Bengio (2015). Neural Machine Translation by Jointly Learning to Align and Translate.
arXiv:1409.0473."""
