"""wallet-service: players, point accounts per point type, and the append-only ledger."""
