"""Synthesizers: independent, MST, MWEM and AIM, all with one fit/sample API."""

from __future__ import annotations

import importlib

from privsynth.errors import InputError
from privsynth.synthesizers.base import Synthesizer

# method name -> (module, class); imported lazily so a method's module loads only when used.
METHODS: dict[str, tuple[str, str]] = {
    "independent": ("privsynth.synthesizers.independent", "IndependentSynthesizer"),
    "mst": ("privsynth.synthesizers.mst", "MSTSynthesizer"),
    "mwem": ("privsynth.synthesizers.mwem", "MWEMSynthesizer"),
    "aim": ("privsynth.synthesizers.aim", "AIMSynthesizer"),
}


def get_synthesizer(name: str) -> type[Synthesizer]:
    """The synthesizer class registered under ``name``."""
    key = name.lower().strip()
    if key not in METHODS:
        raise InputError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    module, cls = METHODS[key]
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"method {name!r} is not available in this build ({exc})") from exc


__all__ = ["METHODS", "Synthesizer", "get_synthesizer"]
