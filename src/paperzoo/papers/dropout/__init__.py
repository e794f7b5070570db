"""Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov (2014). Dropout: A Simple Way to Prevent
Neural Networks from Overfitting. JMLR 15(56):1929-1958.

The layer itself is :class:`paperzoo.nn.Dropout`; this package holds the paper's claims.
"""
