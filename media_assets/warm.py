"""A warm process that ``media-assets process`` hands its work to, so that a short call does not wait for Python
to import Dagster, its storage layer and the models' libraries (about 2 s of a 3-s call on a 2-core machine).

``media-assets warm start`` starts one per Dagster instance (``DAGSTER_HOME``). It imports everything once and then
forks a child for each call: the child takes the caller's terminal (its stdin, stdout and stderr are passed over a
Unix socket), working directory and environment, rebuilds the definitions from that environment and runs the
same ``media-assets`` code a cold call runs. So a call behaves the same either way (output, exit code, Ctrl-C,
which the caller forwards to the child) and calls never share state: each is its own process, as before.

The caller falls back to running cold when no warm process answers, when the warm process was started from other
code (the package changed since) or another interpreter, or when a setting that modules read at import differs.
``MEDIA_ASSETS_WARM``: ``on`` (default: use one if it runs), ``off``, ``require`` (fail instead of running cold),
``start`` (start one when none runs, then use it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENV_WARM = "MEDIA_ASSETS_WARM"
WARM_MODES = ("on", "off", "require", "start")
DEFAULT_IDLE_TIMEOUT_S = 3600.0
PROTOCOL = 1
# Settings that modules read once when imported: a warm process started with other values cannot serve the call.
IMPORT_TIME_ENV = ("MEDIA_ASSETS_MAX_PARTITIONS_PER_RUN", "MEDIA_ASSETS_TRANSIENT_ATTEMPTS")
# Imported before the first call: Dagster and the project, then the model libraries (optional extras may be absent).
PRELOAD = ("torch", "onnxruntime", "ctranslate2", "faster_whisper")
_PACKAGES = ("media_assets", "resources", "sensors")
_HEADER = struct.Struct("!I")


class WarmUnavailable(Exception):
    """No warm process can take this call; the reason says why (the caller runs cold, or fails under require)."""


def warm_mode() -> str:
    mode = (os.environ.get(ENV_WARM) or "on").strip().lower()
    if mode not in WARM_MODES:
        raise ValueError(f"{ENV_WARM}={mode!r}: choose one of {', '.join(WARM_MODES)}")
    return mode


def socket_path(home: Path) -> Path:
    """The socket of the warm process for the instance at ``home``: a private folder of this user under the
    temporary folder (socket paths are limited to about 100 bytes, so the instance path is hashed)."""
    folder = Path(tempfile.gettempdir()) / f"media-assets-{os.getuid()}"
    return folder / f"warm-{hashlib.sha256(str(home).encode()).hexdigest()[:16]}.sock"


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise WarmUnavailable(f"{folder} is not a private folder of this user; not using it for the warm process")


def code_fingerprint(roots: Sequence[Path] | None = None) -> str:
    """The interpreter plus the newest modification of the project's Python files: a warm process started before
    an upgrade or an edit no longer matches, and calls run cold until it is restarted."""
    if roots is None:
        here = Path(__file__).resolve().parent.parent
        roots = [here / p for p in _PACKAGES]
    newest, count = 0, 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                if name.endswith(".py"):
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime_ns)
                    count += 1
    return f"{sys.executable}|{newest}|{count}"


def _import_time_settings(env: dict[str, str]) -> dict[str, str | None]:
    return {name: env.get(name) for name in IMPORT_TIME_ENV}


# ---------------------------------------------------------------------------------------------------- wire format


def _send(sock: socket.socket, message: dict, fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [payload], list(fds))
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, n: int, first: bytes = b"") -> bytes:
    buf = bytearray(first)
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the warm process connection closed")
        buf += chunk
    return bytes(buf)


def _recv(sock: socket.socket, with_fds: int = 0) -> tuple[dict, list[int]]:
    fds: list[int] = []
    first = b""
    if with_fds:
        first, fds, _flags, _addr = socket.recv_fds(sock, 65536, with_fds)
        if not first:
            raise ConnectionError("the warm process connection closed")
    head = _recv_exact(sock, _HEADER.size, first[: _HEADER.size])
    (size,) = _HEADER.unpack(head)
    body = _recv_exact(sock, size, first[_HEADER.size :])
    return json.loads(body), fds


# ---------------------------------------------------------------------------------------------------- client


def _connect(home: Path, timeout: float | None = 5.0) -> socket.socket:
    path = socket_path(home)
    if not path.exists():
        raise WarmUnavailable(f"no warm process for {home}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise WarmUnavailable(f"no warm process answers at {path} ({exc.strerror or exc})") from None
    return sock


def request(home: Path, op: str, timeout: float = 5.0) -> dict:
    """A control request (``ping`` or ``stop``) to the warm process of ``home``."""
    with contextlib.closing(_connect(home, timeout)) as sock:
        _send(sock, {"protocol": PROTOCOL, "op": op})
        return _recv(sock)[0]


def run_in_warm_process(home: Path, argv: Sequence[str]) -> int:
    """Run ``media-assets ARGV`` in a child of the warm process of ``home``, on this process's terminal; return its
    exit code. Raises :class:`WarmUnavailable` before anything ran when the warm process cannot take it."""
    sock = _connect(home)
    try:
        env = dict(os.environ)
        streams = ((sys.stdin, os.O_RDONLY), (sys.stdout, os.O_WRONLY), (sys.stderr, os.O_WRONLY))
        terminal = [_fd_or_devnull(stream, mode) for stream, mode in streams]
        _send(
            sock,
            {
                "protocol": PROTOCOL,
                "op": "run",
                "argv": list(argv),
                "cwd": os.getcwd(),
                "env": env,
                "fingerprint": code_fingerprint(),
                "home": str(home),
            },
            fds=terminal,
        )
        sock.settimeout(30.0)
        reply = _recv(sock)[0]
        if "refused" in reply:
            raise WarmUnavailable(reply["refused"])
        pid = int(reply["pid"])
        sock.settimeout(None)
        previous = {sig: signal.signal(sig, lambda s, _f: _forward(pid, s)) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                try:
                    final = _recv(sock)[0]
                    break
                except InterruptedError:
                    continue
        except (ConnectionError, OSError):
            # the warm process itself went away: wait for the child, whose exit code is lost with it
            while _alive(pid):
                time.sleep(0.1)
            print(f"media-assets: the warm process ended during the call (its worker {pid} is gone)", file=sys.stderr)
            return 1
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        return int(final["exit"])
    finally:
        sock.close()


def _fd_or_devnull(stream: object, mode: int) -> int:
    """The stream's file descriptor, or /dev/null when the caller has none (started with a closed stdin, say)."""
    try:
        return stream.fileno()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return os.open(os.devnull, mode)


def _forward(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------------- server


@dataclass
class _Server:
    home: Path
    idle_timeout_s: float
    fingerprint: str
    settings: dict[str, str | None]
    started: float
    children: int = 0
    last_active: float = 0.0
    stopping: bool = False


def _preload(home: Path) -> None:
    """Import what a call needs (and open the instance once, which imports the storage layer)."""
    import importlib

    from media_assets.instance import get_instance

    instance = get_instance(home)
    instance.dispose()
    import media_assets.cli
    import media_assets.cli_runs  # noqa: F401
    import media_assets.definitions as definitions

    definitions.defs.resolve_job_def("process_media")
    import rich.progress
    import rich.table  # noqa: F401

    for name in PRELOAD:
        with contextlib.suppress(Exception):  # an optional extra that is not installed, or cannot load here
            importlib.import_module(name)


def serve(home: Path, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S) -> int:
    """The warm process: preload, then fork a child per call until idle for ``idle_timeout_s`` or stopped."""
    home = home.resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    path = socket_path(home)
    _private_folder(path.parent)
    t0 = time.perf_counter()
    _preload(home)
    server = _Server(home, idle_timeout_s, code_fingerprint(), _import_time_settings(dict(os.environ)), time.time())
    server.last_active = time.monotonic()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        if _answers(path):
            print(f"a warm process already serves {home} at {path}", file=sys.stderr)
            return 1
        path.unlink()  # left by a warm process that died
    listener.bind(str(path))
    os.chmod(path, 0o600)
    bound = path.stat().st_ino
    listener.listen(16)
    listener.settimeout(1.0)
    lock = threading.Lock()

    def stop(_signum: int, _frame: object) -> None:
        server.stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    print(f"warm process {os.getpid()} ready for {home} in {time.perf_counter() - t0:.1f}s at {path}", flush=True)
    try:
        while not server.stopping:
            with lock:
                idle = server.children == 0 and time.monotonic() - server.last_active > server.idle_timeout_s
            if idle:
                print(f"idle for {server.idle_timeout_s:.0f}s: stopping", flush=True)
                break
            try:
                conn, _ = listener.accept()
            except (TimeoutError, InterruptedError):
                continue
            with lock:
                server.last_active = time.monotonic()
            try:
                _handle(server, conn, listener, lock)
            except Exception as exc:  # one bad call never takes the warm process down
                print(f"call failed: {exc!r}", flush=True)
                conn.close()
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_ino == bound:  # not a newer warm process's socket
                path.unlink()
        _wait_for_calls(server, lock)
    return 0


def _wait_for_calls(server: _Server, lock: threading.Lock) -> None:
    """New calls go cold from here on; calls in progress finish and get their exit codes back before we exit."""
    announced = False
    while True:
        with lock:
            running = server.children
        if not running:
            return
        if not announced:
            print(f"stopping after {running} call(s) in progress", flush=True)
            announced = True
        time.sleep(0.1)


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _peer_uid(conn: socket.socket) -> int | None:
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _handle(server: _Server, conn: socket.socket, listener: socket.socket, lock: threading.Lock) -> None:
    conn.settimeout(10.0)
    uid = _peer_uid(conn)
    if uid is not None and uid != os.getuid():
        conn.close()
        return
    message, fds = _recv(conn, with_fds=3)
    try:
        op = message.get("op")
        if message.get("protocol") != PROTOCOL:
            _send(conn, {"refused": f"protocol {message.get('protocol')} (this warm process speaks {PROTOCOL})"})
        elif op == "ping":
            with lock:
                _send(
                    conn,
                    {"pid": os.getpid(), "home": str(server.home), "since": server.started, "calls": server.children},
                )
        elif op == "stop":
            server.stopping = True
            _send(conn, {"stopping": os.getpid()})
        elif op == "run":
            refusal = _refusal(server, message, fds)
            if refusal:
                _send(conn, {"refused": refusal})
                if refusal.startswith("started from other code"):
                    server.stopping = True  # stale: let the next `warm start` load the new code
            else:
                _fork_call(server, conn, listener, lock, message, fds)
                return  # the waiter thread owns conn now
        else:
            _send(conn, {"refused": f"unknown request {op!r}"})
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    conn.close()


def _refusal(server: _Server, message: dict, fds: list[int]) -> str | None:
    if len(fds) != 3:
        return "the call did not pass its terminal"
    if message.get("fingerprint") != server.fingerprint:
        return "started from other code (the package or interpreter changed since); restart it: media-assets warm start"
    env = message.get("env") or {}
    theirs = _import_time_settings(env)
    if theirs != server.settings:
        diff = ", ".join(f"{k}={theirs[k]!r}" for k in theirs if theirs[k] != server.settings[k])
        return f"started with other import-time settings than this call's {diff}"
    if message.get("home") != str(server.home):
        return f"serves the instance {server.home}, not {message.get('home')}"
    return None


def _fork_call(
    server: _Server, conn: socket.socket, listener: socket.socket, lock: threading.Lock, message: dict, fds: list[int]
) -> None:
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            listener.close()
            conn.close()
            code = _child(message, fds)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                import traceback

                traceback.print_exception(exc)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    with lock:
        server.children += 1
    _send(conn, {"pid": pid})

    def wait() -> None:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            _send(conn, {"exit": code if code >= 0 else 128 - code})
        conn.close()
        with lock:
            server.children -= 1
            server.last_active = time.monotonic()

    threading.Thread(target=wait, name=f"warm-call-{pid}", daemon=True).start()


def _child(message: dict, fds: list[int]) -> int:
    """A call in the forked child: the caller's terminal, folder and environment, fresh definitions, the CLI."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(0, encoding=sys.stdin.encoding, errors="replace", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=-1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(message["env"])
    os.chdir(message["cwd"])
    sys.argv = ["media-assets", *message["argv"]]
    import media_assets.definitions as definitions
    from media_assets.cli import main

    definitions.defs = definitions.build_definitions()  # from the caller's environment
    return main(message["argv"], warm=False)


# ---------------------------------------------------------------------------------------------------- commands


def start(home: Path, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S, wait_s: float = 120.0) -> dict:
    """Start a detached warm process for ``home`` (logging to ``$DAGSTER_HOME/logs/warm.log``) and wait until it
    answers; returns its ping. An already running one is kept."""
    with contextlib.suppress(WarmUnavailable):
        return request(home, "ping")
    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "media_assets.warm", str(home), "--idle-timeout", str(idle_timeout_s)]
    with open(log_dir / "warm.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=str(home)
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WarmUnavailable(f"the warm process exited with {proc.returncode}; see {log_dir / 'warm.log'}")
        with contextlib.suppress(WarmUnavailable, ConnectionError, OSError):
            return request(home, "ping")
        time.sleep(0.2)
    proc.terminate()
    raise WarmUnavailable(f"the warm process did not answer within {wait_s:.0f}s; see {log_dir / 'warm.log'}")


def stop(home: Path, wait_s: float = 30.0) -> int | None:
    """Stop the warm process of ``home``; its pid, or None when none ran. Calls in progress finish first."""
    try:
        pid = int(request(home, "stop")["stopping"])
    except WarmUnavailable:
        return None
    deadline = time.monotonic() + wait_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pid


if __name__ == "__main__":  # python -m media_assets.warm HOME [--idle-timeout S]: the warm process, in the foreground
    import argparse

    parser = argparse.ArgumentParser(prog="python -m media_assets.warm")
    parser.add_argument("home", type=Path)
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S)
    ns = parser.parse_args()
    sys.exit(serve(ns.home, ns.idle_timeout))
