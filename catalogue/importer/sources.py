"""Reading bytes: a path, an http(s) URL or a stream, split into decoded lines; and the file's format."""

from __future__ import annotations

import codecs
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlparse

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .report import ImportFileError

CHUNK_SIZE = 1 << 16
HTTP_TIMEOUT = (10, 60)  # connect, read (seconds)
MAX_REDIRECTS = 5


class Source:
    """Context manager yielding (chunks of bytes, total size or None) for a path, URL or stream."""

    def __init__(self, source: str | Path | IO[bytes]) -> None:
        self.source = source
        self._close: list[Any] = []

    def __enter__(self) -> tuple[Iterator[bytes], int | None]:
        source = self.source
        if isinstance(source, str) and source.startswith(("http://", "https://")):
            return self._url(source)
        if isinstance(source, str | Path):
            path = Path(source)
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                raise ImportFileError(f"file not found: {path}") from None
            except OSError as exc:
                raise ImportFileError(f"cannot open {path}: {exc.strerror or exc}") from None
            self._close.append(handle)
            return _chunks(handle), path.stat().st_size
        return _chunks(source), None

    def _url(self, url: str) -> tuple[Iterator[bytes], int | None]:
        try:
            response = _get_public(url)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ImportFileError(f"cannot download {url}: {exc}") from None
        self._close.append(response)
        length = response.headers.get("Content-Length")
        compressed = bool(response.headers.get("Content-Encoding"))
        total = int(length) if length and length.isdigit() and not compressed else None

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_content(CHUNK_SIZE)
            except requests.RequestException as exc:
                raise ImportFileError(f"download of {url} failed: {exc}") from None

        return chunks(), total

    def __exit__(self, *exc: object) -> None:
        for handle in self._close:
            handle.close()


# Byte-order marks of the wide encodings, longest first (UTF-32 LE's starts with UTF-16 LE's).
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def as_utf8(chunks: Iterator[bytes], name: str) -> tuple[Iterator[bytes], str | None]:
    """The chunks re-encoded as UTF-8 when the file starts with a UTF-16 or UTF-32 byte-order mark (and the
    encoding's name), else unchanged (and None). A wide encoding without a mark (every other byte NUL) cannot
    be read as UTF-8 and is refused with a message saying so."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 4:
            break
    rest = _prepend(head, chunks)
    encoding = next((enc for bom, enc in WIDE_BOMS if head.startswith(bom)), None)
    if encoding is None:
        sample = head[:4096]
        if len(sample) >= 8 and sample.count(0) > len(sample) // 4:
            raise ImportFileError(
                f"{name} is not UTF-8 text (it looks like UTF-16 or UTF-32 without a byte-order mark); "
                "save it as UTF-8"
            )
        return rest, None
    return _transcode(rest, encoding, name), encoding.upper()


def _prepend(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from chunks


def _transcode(chunks: Iterator[bytes], encoding: str, name: str) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        for chunk in chunks:
            yield decoder.decode(chunk).encode("utf-8")
            offset += len(chunk)
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name}: not valid {encoding.upper()} near byte {offset + exc.start}; save the file as UTF-8"
        ) from None


def _get_public(url: str) -> requests.Response:
    """GET the URL (streamed), following up to MAX_REDIRECTS redirects, each hop checked by _checked_address:
    an import must not be a way to reach the server's own network. Each hop connects to the address that
    was checked (the Host header and TLS name stay the URL's host), so a name that resolves to a public
    address for the check and to a private one for the connection (DNS rebinding) gets nowhere."""
    with requests.Session() as session:
        for _ in range(MAX_REDIRECTS + 1):
            address = _checked_address(url)
            if address is not None:
                adapter = PinnedAdapter(address)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
            response = session.get(url, stream=True, timeout=HTTP_TIMEOUT, allow_redirects=False)
            if not response.is_redirect:
                return response
            response.close()
            url = urljoin(url, response.headers["Location"])
    raise ImportFileError(f"cannot download {url}: more than {MAX_REDIRECTS} redirects")


def _checked_address(url: str) -> str | None:
    """The public address to connect to for this URL. Refuses a URL whose host is, or resolves to, a
    loopback, private, link-local or otherwise non-public address, unless settings.IMPORT_ALLOW_PRIVATE_URLS
    (e.g. a catalogue served on the local network; then None: connect as usual)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ImportFileError(f"cannot download {url}: only http and https addresses are imported")
    if settings.IMPORT_ALLOW_PRIVATE_URLS:
        return None
    try:
        found = socket.getaddrinfo(parsed.hostname, None, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in found]
    except (socket.gaierror, UnicodeError) as exc:
        raise ImportFileError(f"cannot download {url}: {parsed.hostname} not found ({exc})") from None
    for address in sorted(set(addresses)):
        if not is_public(ipaddress.ip_address(address.split("%")[0])):
            raise ImportFileError(
                f"cannot download {url}: {parsed.hostname} is a loopback, private or reserved address "
                f"({address}); set IMPORT_ALLOW_PRIVATE_URLS=1 to import from such addresses"
            )
    if not addresses:
        raise ImportFileError(f"cannot download {url}: {parsed.hostname} not found")
    return addresses[0]


class PinnedAdapter(HTTPAdapter):
    """Connects every request to one IP address, whatever the URL's host resolves to now; the URL's host
    is still what the Host header, the TLS server name and the certificate check use."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pinned(HTTPConnectionPool, HTTPConnection, self.address),
            "https": _pinned(HTTPSConnectionPool, HTTPSConnection, self.address),
        }


def _pinned(pool: type[HTTPConnectionPool], connection: type[HTTPConnection], address: str) -> Any:
    def _new_conn(self: HTTPConnection) -> Any:
        # urllib3 resolves and connects to _dns_host, which is also what self.host (the Host header, the
        # TLS name) reads: swapped for the socket's creation only.
        host = self._dns_host
        self._dns_host = address
        try:
            return connection._new_conn(self)
        finally:
            self._dns_host = host

    pinned_connection = type(f"Pinned{connection.__name__}", (connection,), {"_new_conn": _new_conn})
    return type(f"Pinned{pool.__name__}", (pool,), {"ConnectionCls": pinned_connection})


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _chunks(handle: IO[bytes] | IO[str]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


class LineReader:
    """Splits chunks into physical lines (on \\n) and decodes each as UTF-8.

    Lines that are not UTF-8 are decoded with replacement characters and remembered in `bad`
    (line number -> reason) so the row they belong to can be rejected.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._head: bytes | None = None
        self.bytes_read = 0
        self.number = 0
        self.bad: dict[int, str] = {}

    def peek(self) -> bytes:
        """The first chunk, kept for reading again: enough to sniff the format."""
        if self._head is None:
            self._head = next(self._chunks, b"")
        return self._head

    def _raw_lines(self) -> Iterator[bytes]:
        pending = self.peek()
        for chunk in self._chunks:
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield line + b"\n"
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
        if pending:
            yield pending

    def __iter__(self) -> Iterator[str]:
        for raw in self._raw_lines():
            self.number += 1
            self.bytes_read += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[self.number] = (
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8"
                )
                text = raw.decode("utf-8", "replace")
            if self.number == 1:
                text = text.removeprefix("\ufeff")
            yield text


def detect_format(name: str, head: bytes) -> str:
    """'csv' or 'jsonl': by the name's extension, else by the first non-blank byte of the content."""
    suffix = Path(urlparse(name).path if "://" in name else name).suffix.lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ImportFileError(f"{name} is empty")
    if stripped[:1] == b"[" and suffix != ".csv":
        raise ImportFileError(f"{name} is a JSON array; write one JSON object per line (JSON Lines)")
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    return "jsonl" if stripped[:1] == b"{" else "csv"
