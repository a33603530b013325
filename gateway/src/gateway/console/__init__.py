"""The operators' console at /console: signed in with an admin API key of a tenant's environment, it shows and acts
on that tenant's redemptions (search, one redemption's story, cancel), fulfillment jobs (stuck, failing and
waiting ones: retry, fail with a refund, ship, deliver), catalog (items with their stock levels, create and edit,
code pools with their levels, a CSV upload of codes), players (balances, ledger, grants, adjustments, suspend) and
health (readiness, the services' outbox and consumer numbers). Codes are shown masked, as the admin API shows
them; a reveal is one POST, recorded in the code-reveal audit by the read that unseals the code.

Every action calls the admin API's own route functions (gateway.routes.admin, gateway.routes.fulfillment) or the
same gRPC clients, with the credential the session was opened with; nothing here reads a database. Every form
carries the session's CSRF token (gateway.web.session); a POST without it is refused with 403 before anything
runs. Each page checks that the key is still in force: a revoked key's session ends at its next page."""
