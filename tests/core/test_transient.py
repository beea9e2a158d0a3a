"""Transient faults are retried with backoff; bad input never is; a batch that runs out of memory is halved."""

from __future__ import annotations

import pytest

from media_assets.core.errors import CorruptedMediaError, ModelLoadError
from media_assets.core.transient import backoff_s, halving, is_out_of_memory, is_transient, with_retries


class ClientError(Exception):  # the shape of botocore's ClientError
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


class EndpointConnectionError(Exception): ...


class OperationalError(Exception): ...


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError("Could not connect to the endpoint URL"),
        ClientError(503, "SlowDown"),
        ClientError(500, "InternalError"),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
        OperationalError("server closed the connection unexpectedly"),
    ],
)
def test_infrastructure_faults_are_transient(exc: Exception) -> None:
    assert is_transient(exc)
    wrapped = RuntimeError("while writing transcript.json")
    wrapped.__cause__ = exc
    assert is_transient(wrapped)


@pytest.mark.parametrize(
    "exc",
    [
        CorruptedMediaError("/x.mp4", "invalid data found"),
        ModelLoadError("base", ["nowhere"]),
        ClientError(404, "NoSuchKey"),
        ClientError(403, "AccessDenied"),
        ValueError("a bug"),
        OperationalError("no such table: videos"),
    ],
)
def test_input_and_code_faults_are_not(exc: Exception) -> None:
    assert not is_transient(exc)


def test_bad_input_is_not_transient_even_if_a_network_error_is_underneath() -> None:
    exc = CorruptedMediaError("/x.mp4", "truncated")
    exc.__context__ = ConnectionResetError()
    assert not is_transient(exc)


def test_retries_back_off_with_jitter_and_give_up() -> None:
    calls, waits = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise EndpointConnectionError("down")
        return "ok"

    assert with_retries(flaky, attempts=4, base_s=1.0, sleep=waits.append) == ("ok", 2)
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0  # exponential, jittered
    with pytest.raises(EndpointConnectionError):
        with_retries(lambda: (_ for _ in ()).throw(EndpointConnectionError("down")), attempts=3, sleep=waits.append)
    bad = []
    with pytest.raises(CorruptedMediaError):
        with_retries(lambda: bad.append(1) or (_ for _ in ()).throw(CorruptedMediaError("/x", "bad")), sleep=print)
    assert len(bad) == 1  # never retried
    assert all(backoff_s(8) <= 30.0 for _ in range(50))


def test_a_batch_that_runs_out_of_memory_is_halved() -> None:
    sizes: list[int] = []

    def model(batch: list[int]) -> list[int]:
        sizes.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("onnxruntime: Failed to allocate memory for requested buffer")
        return [x * 10 for x in batch]

    assert halving(model, list(range(8))) == [x * 10 for x in range(8)]
    assert sizes == [8, 4, 2, 2, 4, 2, 2]
    assert is_out_of_memory(MemoryError()) and not is_out_of_memory(ValueError("shape"))
    with pytest.raises(ValueError):
        halving(lambda b: (_ for _ in ()).throw(ValueError("shape")), [1, 2, 3])  # other faults are not halved
