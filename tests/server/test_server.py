"""The one server module's start-up helpers (``cx.server``)."""

import socket

from cx import server


def test_no_delay_turns_nagle_off_on_listening_sockets_and_their_accepted_connections():
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no protocol named, as Streamlit
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    bystander = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # not listening: left alone
    try:
        assert listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert server.no_delay() >= 1
        assert listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert bystander.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        with socket.create_connection(listening.getsockname()):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listening.close()
        bystander.close()
