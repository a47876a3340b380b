"""Where an engine looks for PostgreSQL's Unix socket, and when it does not use one."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy.engine import make_url

from shared.db.engine import unix_socket

URL = make_url("postgresql+asyncpg://app@127.0.0.1:5433/postgres")


def test_the_socket_of_the_urls_port_in_the_directory_is_used(tmp_path: Path) -> None:
    path = tmp_path / ".s.PGSQL.5433"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert unix_socket(URL, tmp_path) == path
        assert unix_socket(URL.set(port=5434), tmp_path) is None  # another cluster's port
    finally:
        server.close()


def test_no_directory_or_no_socket_there_means_tcp(tmp_path: Path) -> None:
    assert unix_socket(URL, None) is None
    assert unix_socket(URL, tmp_path) is None
    (tmp_path / ".s.PGSQL.5433").write_text("not a socket")
    assert unix_socket(URL, tmp_path) is None
