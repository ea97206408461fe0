"""polyhal conformance suite: every case of shared/CONFORMANCE.md, on every driver."""
