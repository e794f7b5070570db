"""Kullback & Leibler (1951). On Information and Sufficiency. Ann. Math. Statist. 22(1), 79-86; and
Lin (1991). Divergence Measures Based on the Shannon Entropy. IEEE Trans. Inf. Theory 37(1), 145-151.

The ``divergence`` key: a topic from the notes (Section 9, KL and JS divergence) rather than one
paper. The divergences are :mod:`paperzoo.metrics.divergence`; there are no models.
"""
