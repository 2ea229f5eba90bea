"""How a request that got no answer is told, in words (shells/kube.py ``failure``), for the exceptions the
kubernetes client lets through from urllib3 2.x: never urllib3's wrapper name (``MaxRetryError``)."""

import http.client

import pytest
import urllib3.exceptions as u3
from kubernetes.client.exceptions import ApiException

from kubectl_dagster.shells import kube


def refused():
    return u3.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")


CASES = [
    ("refused", u3.MaxRetryError(None, "/api", refused()), ("other", "the connection was refused")),
    (
        "unreachable-network",
        u3.NewConnectionError(None, "Failed to establish a new connection: [Errno 101] Network is unreachable"),
        ("other", "the connection failed: network is unreachable"),
    ),
    (
        "no-such-host",
        u3.NameResolutionError("api.example", None, OSError("no")),
        ("other", "the server's host name does not resolve"),
    ),
    ("connect-timeout", u3.ConnectTimeoutError(None, "timed out"), ("connect-timeout", "no connection in time")),
    ("read-timeout", u3.ReadTimeoutError(None, "/api", "Read timed out."), ("read-timeout", "no answer in time")),
    (
        "dropped",
        u3.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed")),
        ("other", "the server closed the connection without an answer"),
    ),
    (
        "tls",  # the client turns urllib3's SSLError into ApiException(status=0)
        ApiException(status=0, reason="SSLError\n[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
        ("tls", "wrong version number"),
    ),
]


@pytest.mark.parametrize("exc, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_failures_in_words(exc, expected):
    assert kube.failure(exc) == expected
