"""Real redis-server processes for tests and benchmarks: standalone, and a 3-node cluster.

Each server runs on a free port of 127.0.0.1 with its own temporary directory, AOF on (everysec,
the setting docs/relay.md recommends), and is stopped by the caller. No mock, no fake: the Redis
relay store is only ever tested against the real server that Debian ships (scripts/setup.sh
installs redis-server).
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster: bool = False) -> int:
    """A free port; a cluster node also needs port + 10000 free (its cluster bus), so <= 55535."""
    if not cluster:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
            return port
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 55_000)
        if _is_free(port) and _is_free(port + 10_000):
            return port
    raise RuntimeError("no free port pair for a Redis cluster node")


def available() -> bool:
    return Path(REDIS_SERVER).exists()


class RedisServer:
    """One redis-server process.

    Args:
        directory: its working directory (AOF and dump files).
        appendfsync: ``everysec`` (default) or ``always``; ``no`` turns persistence off entirely.
        cluster: start in cluster mode (a node of ``RedisCluster``).
    """

    def __init__(self, directory: Path, *, appendfsync: str = "everysec", cluster: bool = False):
        self.directory = directory
        self.appendfsync = appendfsync
        self.cluster = cluster
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, port: int | None = None) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or self.port or free_port(cluster=self.cluster)
        args = [
            REDIS_SERVER,
            *self._listen_args(),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        if self.appendfsync == "no":
            args += ["--appendonly", "no"]
        else:
            args += ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        if self.cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.directory / "nodes.conf"),
                "--cluster-node-timeout", "2000",
            ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def _listen_args(self) -> list[str]:
        return ["--port", str(self.port)]

    def _connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=0.5)

    def cli(self, *command: str, timeout: float = 10.0) -> str:
        done = subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return done.stdout.strip()

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: see {self.directory / 'redis.log'}")
            try:
                with self._connect() as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start in time")

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets the chance to flush."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class TlsRedisServer(RedisServer):
    """A redis-server that speaks only TLS (``rediss://``), with its own test CA and a server
    certificate for 127.0.0.1 made by the openssl command; ``ca_file`` is what clients trust."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, appendfsync="no")
        self.ca_file = directory / "ca.pem"

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca_file}"

    def start(self, port: int | None = None) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.ca_file.exists():
            _make_certificates(self.directory)
        return super().start(port)

    def _listen_args(self) -> list[str]:
        return [
            "--port", "0",
            "--tls-port", str(self.port),
            "--tls-cert-file", str(self.directory / "server.pem"),
            "--tls-key-file", str(self.directory / "server.key"),
            "--tls-ca-cert-file", str(self.ca_file),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def _connect(self) -> socket.socket:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        raw = super()._connect()
        try:
            return context.wrap_socket(raw, server_hostname="127.0.0.1")
        except OSError:
            raw.close()
            raise

    def cli(self, *command: str, timeout: float = 10.0) -> str:
        done = subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), "--tls", "--cacert",
             str(self.ca_file), *command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        return done.stdout.strip()


def _make_certificates(directory: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=parley-test-ca")  # fmt: skip
    openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "san.ext")  # fmt: skip


class RedisClusterServers:
    """Three master nodes joined into one Redis Cluster (no replicas)."""

    def __init__(self, directory: Path) -> None:
        self.nodes = [RedisServer(directory / f"node{i}", cluster=True) for i in range(3)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *addresses, "--cluster-replicas", "0",
             "--cluster-yes"],
            capture_output=True,
            check=True,
            timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in n.cli("cluster", "info") for n in self.nodes):
                return self
            time.sleep(0.1)
        raise RuntimeError("the Redis cluster did not become ready")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
