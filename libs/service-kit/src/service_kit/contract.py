"""Values both sides of a gRPC call must agree on, stated once: the gateway checks a request against them before
the call, the service owns them. Changing one changes both sides (and the OpenAPI document: `make clients`)."""

from __future__ import annotations

# An Idempotency-Key is kept by redemption-service in a VARCHAR(200) column (migration 0001).
MAX_IDEMPOTENCY_KEY_LENGTH = 200
# A redemption asked for without saying what triggered it (coins-gateway's `triggerSource`).
DEFAULT_TRIGGER_SOURCE = "MANUAL"
# The failure code a failed or canceled redemption reports when fulfillment gave none.
DEFAULT_FAILURE_CODE = "FULFILLMENT_FAILED"
