"""Privacy accounting (zCDP ledger) and the OpenDP-backed mechanisms that spend from it."""
