"""Placeholder: this paper's models and claims are being written."""
