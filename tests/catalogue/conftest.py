from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def serve_dir(settings) -> Iterator[Callable[[Path], str]]:
    """Serve a directory over HTTP on 127.0.0.1 from a thread; returns a function giving the base URL.
    Imports from it are allowed (IMPORT_ALLOW_PRIVATE_URLS), as for a catalogue on the local network."""
    settings.IMPORT_ALLOW_PRIVATE_URLS = True
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def staff_client(client: Client) -> Client:
    """A logged-in staff user with every track permission (add, change, delete, view)."""
    user = UserFactory.create(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="catalogue", codename__endswith="_track")
    )
    client.force_login(user)
    return client


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
