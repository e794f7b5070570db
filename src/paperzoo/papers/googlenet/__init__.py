"""Szegedy et al. (2015). Going Deeper with Convolutions. arXiv:1409.4842."""
