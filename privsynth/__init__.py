"""privsynth: differentially private synthetic tabular data, audited by privacy attacks."""

__version__ = "0.1.0"
