"""Sagas: a small generic runner (engine) and the redeem saga's steps (redeem)."""
