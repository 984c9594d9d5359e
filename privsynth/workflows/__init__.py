"""The application layer: each stage of a release as one call taking a config, returning a result.

``privsynth.cli`` turns options into a config and calls one function here; Python users call the
same functions. Nothing here knows about flags or exit-code printing (the CLI's ``OptionError``
translation names the flag for a bad field). Modules, one workflow each:

- :mod:`privsynth.workflows.synthesize`: :func:`synthesize_release` (``privsynth synth``).
- :mod:`privsynth.workflows.audit`: :func:`audit_tables` (``privsynth audit``).
- :mod:`privsynth.workflows.certification`: :func:`certify` (``privsynth certify``).
- :mod:`privsynth.workflows.config`: the frozen, keyword-only configs they take.

The names below load lazily (PEP 562), so importing one workflow does not load the others (the
audit workflow never loads the synthesizers).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RegistryTarget": "config",
    "SynthesisConfig": "config",
    "AuditTablesConfig": "config",
    "CertifyConfig": "config",
    "DpAuditSettings": "config",
    "SynthesisResult": "synthesize",
    "synthesize_release": "synthesize",
    "AuditOutcome": "audit",
    "audit_tables": "audit",
    "CertifyResult": "certification",
    "certify": "certification",
    "split_holdout": "common",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'privsynth.workflows' has no attribute {name!r}")
    return getattr(importlib.import_module(f"privsynth.workflows.{_EXPORTS[name]}"), name)
