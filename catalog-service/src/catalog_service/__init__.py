"""catalog-service: the store's items, their stock and the reservations the redemption saga holds."""
