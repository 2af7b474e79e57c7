import pytest

from drtranscribe.api.tracing import trace_fields

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_cloud_trace_header_span_id_becomes_16_hex_characters() -> None:
    """X-Cloud-Trace-Context's span id is decimal; Cloud Logging's spanId is 16 hex."""
    fields = trace_fields({"x-cloud-trace-context": f"{TRACE}/123;o=1"}, "proj")
    assert fields == {
        "logging.googleapis.com/trace": f"projects/proj/traces/{TRACE}",
        "logging.googleapis.com/spanId": "000000000000007b",
    }
    largest = trace_fields({"x-cloud-trace-context": f"{TRACE}/{2**64 - 1}"}, "proj")
    assert largest["logging.googleapis.com/spanId"] == "ffffffffffffffff"


@pytest.mark.parametrize("span", ["0", str(2**64)])
def test_cloud_trace_span_out_of_range_is_left_out(span: str) -> None:
    fields = trace_fields({"x-cloud-trace-context": f"{TRACE}/{span};o=1"}, "proj")
    assert fields == {"logging.googleapis.com/trace": f"projects/proj/traces/{TRACE}"}


def test_w3c_traceparent() -> None:
    fields = trace_fields({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}, "proj")
    assert fields["logging.googleapis.com/trace"] == f"projects/proj/traces/{TRACE}"
    assert fields["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "headers", [{}, {"traceparent": "garbage"}, {"x-cloud-trace-context": "xyz"}]
)
def test_no_or_malformed_header_adds_nothing(headers: dict[str, str]) -> None:
    assert trace_fields(headers, "proj") == {}
