"""fulfillment-service: takes fulfillment jobs from NATS JetStream, fulfils them, reports results."""
