"""Generator-agnostic privacy attacks on a (train, holdout, synthetic) triple.

Distance tests, membership inference and attribute inference, each with a holdout control, a
baseline and a confidence interval. This package never imports privsynth's synthesizers or ledger:
it audits a synthetic table made by any tool.
"""
