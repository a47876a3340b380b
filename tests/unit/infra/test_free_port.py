"""Ports for servers the platform starts: never ones an outgoing connection may take first."""

from __future__ import annotations

import socket

from shared.infra import embedded


def test_free_ports_are_below_the_ephemeral_range_distinct_and_bindable():
    low = embedded._ephemeral_low()
    ports = [embedded.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)  # never the same port twice in a process
    if low is not None:  # Linux: outgoing connections take their ports from low upwards
        assert all(max(1025, low - 10_000) <= port < low for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_without_the_kernel_range_a_port_is_asked_of_the_kernel(monkeypatch, tmp_path):
    monkeypatch.setattr(embedded, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert embedded._ephemeral_low() is None
    port = embedded.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
