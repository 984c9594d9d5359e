"""Risk report and release gate: policy, verdict, utility, provenance and renderings."""
