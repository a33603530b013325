"""What the two web apps served by the gateway share (the demo storefront, gateway.store, and the operators'
console, gateway.console): Jinja2 templates and static assets shipped in this package, signed session cookies
with their CSRF token, and the page counters. The pages call the same route functions as the JSON API, so
validation, idempotency and auth are the API's own; nothing here is on the API's path (no middleware)."""
