"""The console's pure pieces: a CSV file of codes checked line by line, the services' metrics read for the health
page, and an item's stock level."""

from __future__ import annotations

import pytest
from gateway.config import Settings
from gateway.console.codes_file import MAX_REPORTED_ERRORS, read_codes
from gateway.console.routes import stock_level
from gateway.console.service_metrics import numbers_of, parse_targets, scrape_all
from gateway.schemas import AdminItem
from local_runner.infra import free_port
from rewards.catalog.v1 import catalog_pb2


def test_a_good_file_gives_its_codes_with_or_without_a_header_or_pins():
    read = read_codes(b"\xef\xbb\xbfcode,pin\r\nA-1, 1111\r\n\"B,2\",\r\nC-3\r\n", 1000)
    assert read.errors == []
    assert [(c.code, c.pin) for c in read.codes] == [("A-1", "1111"), ("B,2", None), ("C-3", None)]
    assert [c.code for c in read_codes(b"code\nA\n", 1000).codes] == ["A"]
    assert [c.code for c in read_codes(b"A,1\nB,2\n", 1000).codes] == ["A", "B"]   # no header


def test_a_bad_file_names_every_bad_line_never_a_code_and_keeps_no_code():
    secret = "SECRET-1"
    read = read_codes(f"code,pin\n{secret},1\n\n{secret},2\n  ,3\n{'x' * 201},4\nB,{'9' * 201}\nC,1,2\nD,1\n"
                      .encode(), 10_000)
    assert read.codes == []
    assert read.errors == ["line 3: empty line", "line 4: the same code as line 2", "line 5: the code is empty",
                           "line 6: the code is too long (201 characters, at most 200)",
                           "line 7: the PIN is too long (201 characters, at most 200)",
                           "line 8: 3 fields, expected code,pin"]
    assert not any(secret in e for e in read.errors)


@pytest.mark.parametrize(("data", "error"), [
    (b"", "the file has no codes: one code a line, code,pin"),
    (b"code,pin\n", "the file has no codes: one code a line, code,pin"),
    (b"\xff\xfeA", "the file is not UTF-8 text (byte 0)"),
    (b'A\n"B\n', "line 2: malformed CSV (unexpected end of data)"),
    (b"A,1\n" * 300, "the file is larger than 1000 bytes: split it"),
])
def test_a_file_that_is_not_codes_is_refused_whole(data, error):
    read = read_codes(data, 1000)
    assert read.codes == [] and read.errors == [error]


def test_a_file_of_many_bad_lines_reports_the_first_ones_and_a_count():
    read = read_codes(b"\n" * 50 + b"A\n", 10_000)
    assert len(read.errors) == 50
    assert read.shown_errors[-1] == f"and {50 - MAX_REPORTED_ERRORS} more lines with errors"
    assert len(read.shown_errors) == MAX_REPORTED_ERRORS + 1


def test_the_metrics_targets_are_name_url_pairs_and_a_bad_one_stops_the_gateway():
    assert parse_targets(" a=http://h:1/metrics, ,b = https://h:2/m ") == [("a", "http://h:1/metrics"),
                                                                          ("b", "https://h:2/m")]
    assert parse_targets("") == []
    for bad in ("http://h:1/metrics", "a=h:1/metrics", "=http://h:1/", "a=ftp://h/", "a=http:///x"):
        with pytest.raises(ValueError, match="is not name=http"):
            parse_targets(bad)
    with pytest.raises(ValueError, match="is not name=http"):
        Settings(database_url="postgresql://x/y", console_metrics_urls="redemption=nowhere")


METRICS = """\
# HELP rewards_outbox_backlog Outbox rows not yet published
# TYPE rewards_outbox_backlog gauge
rewards_outbox_backlog{service="redemption"} 4.0
# HELP rewards_outbox_oldest_age_seconds Age of the oldest unpublished outbox row (0 when none)
# TYPE rewards_outbox_oldest_age_seconds gauge
rewards_outbox_oldest_age_seconds{service="redemption"} 12.5
# HELP rewards_consumer_pending Messages waiting for the durable consumer (JetStream num_pending)
# TYPE rewards_consumer_pending gauge
rewards_consumer_pending{consumer="results",service="redemption"} 3.0
rewards_consumer_pending{consumer="cancels",service="redemption"} 0.0
# HELP rewards_saga_oldest_unfinished_age_seconds Age of the oldest saga still running
# TYPE rewards_saga_oldest_unfinished_age_seconds gauge
rewards_saga_oldest_unfinished_age_seconds 2.0
# HELP rewards_grpc_requests_total x
# TYPE rewards_grpc_requests_total counter
rewards_grpc_requests_total{method="Get"} 9.0
"""


def test_the_health_page_reads_the_outbox_and_consumer_numbers_of_a_service():
    n = numbers_of("redemption-service", METRICS)
    assert n.reachable and (n.outbox_backlog, n.outbox_oldest_age, n.saga_oldest_age) == (4, 12.5, 2)
    assert n.consumers == {"results": 3, "cancels": 0}
    bare = numbers_of("catalog-service", "# TYPE x counter\nx_total 1.0\n")
    assert bare.reachable and bare.outbox_backlog is None and bare.consumers == {}


async def test_a_service_whose_metrics_do_not_answer_is_shown_unreachable():
    (n,) = await scrape_all([("gone", f"http://127.0.0.1:{free_port()}/metrics")])
    assert not n.reachable and n.problem and n.outbox_backlog is None
    assert await scrape_all([]) == []


def test_an_item_s_stock_level():
    def level(**fields: object) -> str:
        return stock_level(AdminItem.from_proto(catalog_pb2.Item(id="i", name="I", **fields)), 10)

    assert [level(stock=0), level(stock=1), level(stock=10), level(stock=11), level(unlimited_stock=True)] == \
        ["out", "low", "low", "ok", "unlimited"]
