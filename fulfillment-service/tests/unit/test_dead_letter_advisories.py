"""Reading the server's max-deliveries advisories: only a well-formed one about the jobs stream names a job."""

from __future__ import annotations

import json

import pytest
from fulfillment_service.dead_letters import MalformedAdvisory, consumer_config, read_dead_letter
from service_kit.messaging import DEAD_LETTERS_STREAM, JOBS_STREAM, STREAMS, max_deliveries_subject


def advisory(**fields: object) -> bytes:
    body = {"type": "io.nats.jetstream.advisory.v1.max_deliver", "id": "x", "timestamp": "2026-01-01T00:00:00Z",
            "stream": JOBS_STREAM, "consumer": "fulfillment-worker", "stream_seq": 42, "deliveries": 5}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def test_an_advisory_names_the_job_by_its_stream_sequence() -> None:
    letter = read_dead_letter(advisory())
    assert (letter.stream_seq, letter.consumer, letter.deliveries) == (42, "fulfillment-worker", 5)


@pytest.mark.parametrize("data", [
    b"not json", b"[1]", advisory(type="io.nats.jetstream.advisory.v1.terminated"), advisory(stream="OTHER"),
    advisory(stream_seq=0), advisory(stream_seq="42"), advisory(stream_seq=True), advisory(stream_seq=None),
])
def test_anything_else_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedAdvisory):
        read_dead_letter(data)


def test_the_dead_letters_stream_captures_every_jobs_consumer() -> None:
    assert STREAMS[DEAD_LETTERS_STREAM] == [f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS_STREAM}.*"]
    assert max_deliveries_subject(JOBS_STREAM, "fulfillment-worker").endswith(f".{JOBS_STREAM}.fulfillment-worker")
    config = consumer_config("dl", 2.0)
    assert (config.filter_subject, config.max_deliver) == (STREAMS[DEAD_LETTERS_STREAM][0], None)
