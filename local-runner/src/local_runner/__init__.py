"""The local runner: `python -m local_runner run` starts the whole platform on one machine."""
