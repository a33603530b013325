"""The redemption events for the tenants (service_kit.domain_events, docs/events.md): written to this service's
outbox by the statement that makes the change they report, and published by the one relay (outbox.py).

Each is built in SQL from the redemption's row (named columns only: never its fulfillment document, so never a
code or PIN), so the hot path's statements (confirm, complete_inline) add a CTE rather than a round trip. Event
rows have no redemption_id: that column names the fulfillment job's row, which the inline completion, the job's
release and the reconciler look for, and an event is none of those.
"""

from __future__ import annotations

from service_kit import domain_events as de

# The payload of every redemption event, from a row of `redemptions` (or a CTE returning its columns).
_COMMON = """'redemption_id', id, 'number', number, 'player_id', player_id, 'item_id', item_id,
    'variant_id', variant_id, 'rounds', rounds, 'item_name', item_name, 'point_type', point_type, 'cost', cost,
    'point_scale', point_scale, 'fulfillment_strategy', fulfillment_strategy, 'status', status,
    'delivery_status', delivery_status, 'created_at', created_at"""
DATA = {
    de.REDEMPTION_CREATED: f"jsonb_build_object({_COMMON})",
    de.REDEMPTION_COMPLETED: f"jsonb_build_object({_COMMON}, 'completed_at', completed_at)",
    de.REDEMPTION_CANCELED: f"""jsonb_build_object({_COMMON}, 'canceled_at', canceled_at, 'reason', cancel_reason,
        'failure_code', failure_code,
        'refund', jsonb_build_object('point_type', point_type, 'amount', cost, 'point_scale', point_scale))""",
    de.REDEMPTION_FAILED: f"""jsonb_build_object({_COMMON}, 'failure_code', failure_code,
        'failure_message', failure_message)""",
}


def insert_event(event_type: str, source: str, trace_context: str) -> str:
    """The INSERT of the event about each row of `source` (a CTE of redemptions' rows, or `redemptions WHERE
    ...`), with `trace_context` (a jsonb SQL expression) as its NATS headers."""
    return de.sql_outbox_insert(event_type, source, data=DATA[event_type], trace_context=trace_context)
