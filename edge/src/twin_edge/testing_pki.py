"""Test support: a throwaway certificate authority, server and client certificates made with the ``openssl``
command line (no Python dependency). Not imported by the rest of twin_edge."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True, slots=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path

    def client(self, name: str) -> tuple[Path, Path]:
        """Certificate and key of client ``name`` (made by :func:`make_pki`)."""
        return self.ca.parent / f"{name}.crt", self.ca.parent / f"{name}.key"


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def make_pki(directory: Path, *, server_names: tuple[str, ...] = ("localhost",), clients: tuple[str, ...] = ()) -> Pki:
    """A CA, a server certificate for DNS ``server_names`` (no IP addresses: connecting by IP fails the host-name
    check) and one client certificate per name in ``clients``, all valid for two days."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        *_EC,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=twin test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    san = ",".join(f"DNS:{n}" for n in server_names)
    for name, ext in [("server", f"subjectAltName={san}"), *((c, f"subjectAltName=DNS:{c}") for c in clients)]:
        (directory / f"{name}.ext").write_text(ext + "\n", encoding="ascii")
        _openssl("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=directory,
        )
    return Pki(directory / "ca.crt", directory / "server.crt", directory / "server.key")
