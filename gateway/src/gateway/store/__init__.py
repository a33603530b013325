"""The demo storefront at /store: a player of the storefront's tenant (STORE_TENANT, sandbox) signs in as one of
the demo players (STORE_PLAYERS), browses the items with prices and stock, sees a quote, redeems, pages the
history and cancels. Off (404) while STORE_TENANT is empty.

Every page calls the canonical API's own route functions (gateway.routes) with the player's token, verified as
the API verifies it: the same validation (the request bodies' models), the same idempotency (the redeem form
carries an Idempotency-Key made when the page was drawn, so a form sent twice is one redemption) and the same
auth (a token signed by the gateway for that player, kept in the session cookie, never shown to the page's
scripts)."""
