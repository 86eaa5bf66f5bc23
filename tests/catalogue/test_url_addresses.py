"""`import_tracks URL` does not reach the server's own network: loopback, private and reserved addresses are
refused unless IMPORT_ALLOW_PRIVATE_URLS, and every redirect is checked again."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogue.importer import ImportFileError, import_tracks, sources
from catalogue.models import Track

pytestmark = pytest.mark.django_db
CSV = "id,title,artist\nc1,One,Band\n"


@pytest.fixture
def csv_server(tmp_path: Path) -> Iterator[str]:
    """A catalogue file served on 127.0.0.1."""
    (tmp_path / "remote.csv").write_text(CSV)

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/remote.csv"
    server.shutdown()
    server.server_close()


@pytest.fixture
def redirect_to(csv_server: str) -> Iterator[str]:
    """A server on 127.0.0.2 that redirects every request to the catalogue file on 127.0.0.1."""

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", csv_server)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.2:{server.server_address[1]}/catalogue.csv"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.csv",
        "http://localhost:9/x.csv",
        "http://10.1.2.3/x.csv",
        "http://192.168.0.1/x.csv",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[::1]:9/x.csv",
        "http://[::ffff:127.0.0.1]:9/x.csv",
        "http://0.0.0.0:9/x.csv",
    ],
)
def test_private_and_loopback_addresses_are_refused(url: str) -> None:
    with pytest.raises(ImportFileError, match="loopback, private or reserved"):
        import_tracks(url)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ImportFileError, match="only http and https"):
        sources._checked_address("ftp://example.org/x.csv")


def test_a_local_server_is_allowed_when_the_setting_says_so(csv_server: str, settings) -> None:
    with pytest.raises(ImportFileError, match="loopback"):
        import_tracks(csv_server)
    settings.IMPORT_ALLOW_PRIVATE_URLS = True
    assert import_tracks(csv_server).created == 1


def test_a_redirect_to_a_private_address_is_refused(redirect_to: str, monkeypatch, settings) -> None:
    # Stand-in for a public host: 127.0.0.2 counts as public here, 127.0.0.1 stays loopback.
    real = sources.is_public
    monkeypatch.setattr(sources, "is_public", lambda a: a == ipaddress.ip_address("127.0.0.2") or real(a))
    with pytest.raises(ImportFileError, match=r"127\.0\.0\.1 is a loopback"):
        import_tracks(redirect_to)
    assert not Track.objects.exists()
    settings.IMPORT_ALLOW_PRIVATE_URLS = True  # the same redirect, allowed: the file arrives
    assert import_tracks(redirect_to).created == 1


def _serve(address: str, port: int, body: str, hosts: list[str]) -> http.server.ThreadingHTTPServer:
    """A server on address:port answering every GET with body, noting each request's Host header."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((address, port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_followed(monkeypatch) -> None:
    # A private service on 127.0.0.1 and the "public" catalogue (127.0.0.2 counts as public here) on the
    # same port; the name answers the public address first, then 127.0.0.1 (DNS rebinding).
    private_hosts: list[str] = []
    public_hosts: list[str] = []
    private = _serve("127.0.0.1", 0, "id,title,artist\nsecret,Internal,Admin\n", private_hosts)
    port = private.server_address[1]
    public = _serve("127.0.0.2", port, CSV, public_hosts)
    real_is_public = sources.is_public
    monkeypatch.setattr(
        sources, "is_public", lambda a: a == ipaddress.ip_address("127.0.0.2") or real_is_public(a)
    )
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding(host, *args, **kwargs):
        if host == "catalogue.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] if args else 0))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        report = import_tracks(f"http://catalogue.example:{port}/catalogue.csv")
    finally:
        for server in (private, public):
            server.shutdown()
            server.server_close()
    assert private_hosts == []  # the private service was never reached
    assert public_hosts == [f"catalogue.example:{port}"]  # the checked address, with the URL's host
    assert report.created == 1
    assert list(Track.objects.values_list("external_id", flat=True)) == ["c1"]
