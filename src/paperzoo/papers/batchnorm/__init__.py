"""Ioffe, Szegedy (2015). Batch Normalization: Accelerating Deep Network Training by Reducing Internal
Covariate Shift. arXiv:1502.03167."""
