"""redemption-service: redemptions, the redeem saga, idempotency keys and the fulfillment outbox."""
