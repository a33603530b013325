"""The gateway: the canonical HTTP API in front of the rewards gRPC services, and who may call it."""
