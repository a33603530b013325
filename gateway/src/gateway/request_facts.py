"""What a request learns on its way (the tenant, from its credential), for its access line (gateway.edge) and
every later log line of it. Apart from gateway.edge, which imports every API (to render their errors), so that
the routes' authentication can note the tenant without importing the edge."""

from __future__ import annotations

import contextvars

from service_kit.logs import tenant_var

# In a box the edge middleware creates: a value set in a dependency would not reach the middleware back through a
# copied context, a box's content does.
facts_var: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("gateway_request_facts",
                                                                                   default=None)


def note_tenant(tenant_id: str) -> None:
    """Authentication found the request's tenant: for its access line and every later log line of it."""
    facts = facts_var.get()
    if facts is not None:
        facts["tenant"] = tenant_id
    tenant_var.set(tenant_id)
