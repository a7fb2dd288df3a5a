"""The EC2 client's shared parts: one botocore model loader per process (credentials stay each
client's own) and the fast path for ISO 8601 timestamps, which must give what botocore gives."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import botocore.utils
import dateutil.parser
import pytest

from atlas.credentials import Secret
from atlas_aws.client import Ec2, parse_timestamp
from atlas_aws.credentials import AwsKeys


def keys() -> AwsKeys:
    return AwsKeys(
        Secret("AKIA" + secrets.token_hex(8).upper()), Secret("s-" + secrets.token_hex(12))
    )


async def test_two_clients_share_the_model_loader_and_not_the_credentials() -> None:
    a_keys, b_keys = keys(), keys()
    # Nothing is sent: making a client does not connect.
    a = await Ec2.open(a_keys, "eu-west-1", endpoint_url="http://127.0.0.1:9")
    b = await Ec2.open(b_keys, "us-east-1", endpoint_url="http://127.0.0.1:9")
    try:
        assert a._client._loader is b._client._loader
        a_creds = a._client._request_signer._credentials
        b_creds = b._client._request_signer._credentials
        assert a_creds is not b_creds
        assert a_creds.access_key == a_keys.access_key_id.reveal()
        assert b_creds.access_key == b_keys.access_key_id.reveal()
        assert b_creds.secret_key == b_keys.secret_access_key.reveal()
        # Answers are parsed by the endpoint's factory's parsers (one per answer).
        for client in (a, b):
            parser = client._client._endpoint._response_parser_factory.create_parser("ec2")
            assert parser._timestamp_parser is parse_timestamp
    finally:
        await a.aclose()
        await b.aclose()


ISO = [
    "2026-12-06T22:31:36.000Z",
    "2026-12-06T22:31:36Z",
    "2026-12-06T22:31:36.5Z",
    "2026-12-06T22:31:36.123456Z",
    "2026-12-06T22:31:36+00:00",
    "2026-12-06T22:31:36.250+01:00",
    "2026-12-06T22:31:36-05:30",
    "2024-02-29T00:00:00.000Z",
]


@pytest.mark.parametrize("text", ISO)
def test_iso_timestamps_parse_as_botocore_parses_them(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = botocore.utils.parse_timestamp(text)

    def not_dateutil(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the fast path went to dateutil")

    monkeypatch.setattr(dateutil.parser, "parse", not_dateutil)
    got = parse_timestamp(text)
    assert got == expected
    assert got.utcoffset() == expected.utcoffset()
    assert got.tzinfo == expected.tzinfo
    assert (got.year, got.microsecond) == (expected.year, expected.microsecond)
    assert got.isoformat() == expected.isoformat()


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Dec 2026 22:31:36 GMT",  # RFC 822, as some AWS headers carry it
        "1765060296",  # epoch seconds
        1765060296,
        "2026-12-06T22:31:36",  # no time zone: botocore's own answer (naive)
        "2026-12-06T22:31:36.1234567Z",  # more than microseconds
    ],
)
def test_other_forms_go_to_botocores_parser(value: Any) -> None:
    assert parse_timestamp(value) == botocore.utils.parse_timestamp(value)
    assert parse_timestamp(value).tzinfo == botocore.utils.parse_timestamp(value).tzinfo


def test_a_bad_timestamp_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError, match="Invalid timestamp"):
        parse_timestamp("yesterday-ish")
    with pytest.raises(ValueError, match="Invalid timestamp"):
        parse_timestamp("2026-13-06T22:31:36Z")  # month 13: matches the form, not a date


def test_the_fast_path_is_a_datetime() -> None:
    assert isinstance(parse_timestamp("2026-12-06T22:31:36Z"), dt.datetime)
