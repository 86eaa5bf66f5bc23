"""Playlist files: JSPF (ListenBrainz style), XSPF and extended M3U8 out; JSPF and XSPF in.

Plain Python over plain values (no Django): the services turn playlists into a PlaylistDocument and parsed
files into matched tracks.

JSPF follows ListenBrainz: {"playlist": {"title", "creator", "date", "annotation", "identifier",
"extension": {MB_PLAYLIST_EXTENSION: {...}}, "track": [...]}}; each track has "title", "creator" (the
artist), "album", "duration" (ms, when known), "identifier" (MusicBrainz recording URLs, where the
catalogue knows the id) and "extension" {MB_TRACK_EXTENSION: {"added_at", "added_by"},
TRACK_EXTENSION: {"external_id", "photo", "isrc", "note", ...}}.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as _escape

from lxml import etree

TRACK_EXTENSION = "https://photophone.app/jspf/track"  # our per-track data (DESIGN.md section 5)
PLAYLIST_EXTENSION = "https://photophone.app/jspf/playlist"
MB_TRACK_EXTENSION = "https://musicbrainz.org/doc/jspf#track"
MB_PLAYLIST_EXTENSION = "https://musicbrainz.org/doc/jspf#playlist"
XSPF_NS = "http://xspf.org/ns/0/"
MB_RECORDING = "https://musicbrainz.org/recording/"
FORMATS = ("jspf", "xspf", "m3u8")
CONTENT_TYPES = {
    "jspf": "application/jspf+json",
    "xspf": "application/xspf+xml",
    "m3u8": "audio/x-mpegurl",
}
MAX_IMPORT_TRACKS = 10_000
_MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")


@dataclass
class DocumentTrack:
    title: str
    artist: str
    external_id: str = ""
    album: str = ""
    duration_ms: int | None = None
    musicbrainz_recording_id: str = ""
    isrc: str = ""
    link: str = ""  # where to listen (the M3U8 line, XSPF info)
    photo: str = ""  # the photo the track was chosen for
    note: str = ""
    added_at: datetime | None = None
    added_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for our JSPF extension


@dataclass
class PlaylistDocument:
    title: str
    creator: str
    date: datetime
    tracks: Sequence[DocumentTrack]
    annotation: str = ""
    identifier: str = ""  # the playlist's URL, when it has one
    notes: list[str] = field(default_factory=list)  # e.g. tracks left out because they were deleted

    @property
    def full_annotation(self) -> str:
        return "\n".join(part for part in (self.annotation, *self.notes) if part)


def export(document: PlaylistDocument, fmt: str) -> str:
    if fmt == "jspf":
        return to_jspf(document)
    if fmt == "xspf":
        return to_xspf(document)
    if fmt == "m3u8":
        return to_m3u8(document)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def to_jspf(document: PlaylistDocument) -> str:
    tracks = []
    for track in document.tracks:
        item: dict[str, Any] = {"title": track.title, "creator": track.artist}
        if track.album:
            item["album"] = track.album
        if track.duration_ms is not None:
            item["duration"] = int(track.duration_ms)
        item["identifier"] = (
            [MB_RECORDING + track.musicbrainz_recording_id] if track.musicbrainz_recording_id else []
        )
        ours = {"external_id": track.external_id, "photo": track.photo, **track.extra}
        if track.link:
            ours["link"] = track.link
        if track.isrc:
            ours["isrc"] = track.isrc
        if track.note:
            ours["note"] = track.note
        extension: dict[str, Any] = {TRACK_EXTENSION: ours}
        if track.added_at is not None:
            extension[MB_TRACK_EXTENSION] = {"added_at": _iso(track.added_at), "added_by": track.added_by}
        item["extension"] = extension
        tracks.append(item)
    playlist: dict[str, Any] = {
        "title": document.title,
        "creator": document.creator,
        "date": _iso(document.date),
    }
    if document.full_annotation:
        playlist["annotation"] = document.full_annotation
    if document.identifier:
        playlist["identifier"] = document.identifier
    playlist["extension"] = {
        MB_PLAYLIST_EXTENSION: {"creator": document.creator, "public": bool(document.identifier)},
        PLAYLIST_EXTENSION: {"notes": document.notes},
    }
    playlist["track"] = tracks
    # Compact: json's C encoder does not indent (indenting 1,000 tracks took 3x as long).
    return json.dumps({"playlist": playlist}, ensure_ascii=False, separators=(",", ":"))


def to_xspf(document: PlaylistDocument) -> str:
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<playlist version="1" xmlns="{XSPF_NS}">\n')
    out.write(f"  <title>{escape(document.title)}</title>\n")
    out.write(f"  <creator>{escape(document.creator)}</creator>\n")
    if document.full_annotation:
        out.write(f"  <annotation>{escape(document.full_annotation)}</annotation>\n")
    if document.identifier:
        out.write(f"  <location>{escape(document.identifier)}</location>\n")
    out.write(f"  <date>{_iso(document.date)}</date>\n")
    out.write("  <trackList>\n")
    for track in document.tracks:
        out.write("    <track>\n")
        if track.musicbrainz_recording_id:
            out.write(
                f"      <identifier>{MB_RECORDING}{escape(track.musicbrainz_recording_id)}</identifier>\n"
            )
        if track.isrc:
            out.write(f"      <identifier>urn:isrc:{escape(track.isrc)}</identifier>\n")
        out.write(f"      <title>{escape(track.title)}</title>\n")
        out.write(f"      <creator>{escape(track.artist)}</creator>\n")
        if track.note:
            out.write(f"      <annotation>{escape(track.note)}</annotation>\n")
        if track.link:
            out.write(f"      <info>{escape(track.link)}</info>\n")
        if track.album:
            out.write(f"      <album>{escape(track.album)}</album>\n")
        if track.duration_ms is not None:
            out.write(f"      <duration>{int(track.duration_ms)}</duration>\n")
        out.write(f'      <extension application="{TRACK_EXTENSION}">\n')
        out.write(f"        <external_id>{escape(track.external_id)}</external_id>\n")
        out.write(f"        <photo>{escape(track.photo)}</photo>\n")
        out.write("      </extension>\n")
        out.write("    </track>\n")
    out.write("  </trackList>\n</playlist>\n")
    return out.getvalue()


def to_m3u8(document: PlaylistDocument) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(document.title)}"]
    lines += [f"# {_one_line(note)}" for note in document.notes]
    for track in document.tracks:
        seconds = round(track.duration_ms / 1000) if track.duration_ms is not None else -1
        lines.append(f"#EXTINF:{seconds},{_one_line(track.artist)} - {_one_line(track.title)}")
        lines.append(track.link or f"#{track.external_id}")
    return "\n".join(lines) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """Text for an XML element: markup escaped, characters XML 1.0 cannot hold dropped."""
    return _escape(_NOT_XML.sub("", text))


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- import --------------------------------------------------------------------------------------------


class NotAPlaylist(ValueError):
    """The file is not a JSPF or XSPF playlist; the message is for the user."""


class TooManyTracks(ValueError):
    """More than MAX_IMPORT_TRACKS tracks; the message is for the user."""


@dataclass
class ParsedTrack:
    position: int  # 1-based, as the user counts
    title: str = ""
    artist: str = ""
    album: str = ""
    duration_ms: int | None = None
    musicbrainz_recording_id: str = ""
    isrc: str = ""
    external_id: str = ""


@dataclass
class ParsedPlaylist:
    title: str
    annotation: str
    tracks: list[ParsedTrack]


def parse(data: bytes, filename: str = "") -> ParsedPlaylist:
    """A JSPF or XSPF file (told apart by its content, not its name)."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return parse_jspf(data)
    if text.startswith(b"<"):
        return parse_xspf(data)
    raise NotAPlaylist(
        f"{filename or 'The file'} is not a playlist: expected a JSPF (JSON) or XSPF (XML) file."
    )


def _too_many(count: int) -> None:
    if count > MAX_IMPORT_TRACKS:
        raise TooManyTracks(
            f"The playlist has {count:,} tracks; at most {MAX_IMPORT_TRACKS:,} can be imported at once. "
            "Split it into smaller playlists."
        )


def parse_jspf(data: bytes) -> ParsedPlaylist:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAPlaylist(f"The file is not valid JSON ({exc}).") from exc
    playlist = document.get("playlist") if isinstance(document, dict) else None
    if not isinstance(playlist, dict) or not isinstance(playlist.get("track", []), list):
        raise NotAPlaylist('The file is JSON but not JSPF: it has no "playlist" object with a "track" list.')
    items = playlist.get("track", [])
    _too_many(len(items))
    tracks = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            tracks.append(ParsedTrack(position))
            continue
        identifiers = item.get("identifier") or []
        identifiers = [identifiers] if isinstance(identifiers, str) else identifiers
        ours = (item.get("extension") or {}).get(TRACK_EXTENSION) or {}
        tracks.append(
            ParsedTrack(
                position=position,
                title=_text(item.get("title")),
                artist=_text(item.get("creator")),
                album=_text(item.get("album")),
                duration_ms=_int(item.get("duration")),
                musicbrainz_recording_id=_mbid(identifiers),
                isrc=_isrc([*identifiers, f"urn:isrc:{_text(ours.get('isrc'))}"]),
                external_id=_text(ours.get("external_id")) if isinstance(ours, dict) else "",
            )
        )
    return ParsedPlaylist(_text(playlist.get("title")), _text(playlist.get("annotation")), tracks)


def parse_xspf(data: bytes) -> ParsedPlaylist:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotAPlaylist(f"The file is not valid XML ({exc}).") from exc
    if root.tag != f"{{{XSPF_NS}}}playlist":
        raise NotAPlaylist(f"The file is XML but not XSPF: its root is not <playlist> in {XSPF_NS}.")
    ns = {"x": XSPF_NS}
    items = root.findall("x:trackList/x:track", ns)
    _too_many(len(items))
    tracks = []
    for position, item in enumerate(items, start=1):
        identifiers = [(e.text or "").strip() for e in item.findall("x:identifier", ns)]
        ours = item.find(f"x:extension[@application='{TRACK_EXTENSION}']", ns)
        external_id = ""
        if ours is not None:
            node = ours.find("x:external_id", ns)
            if node is None:
                node = ours.find("external_id")
            external_id = (node.text or "").strip() if node is not None else ""
        tracks.append(
            ParsedTrack(
                position=position,
                title=item.findtext("x:title", "", ns).strip(),
                artist=item.findtext("x:creator", "", ns).strip(),
                album=item.findtext("x:album", "", ns).strip(),
                duration_ms=_int(item.findtext("x:duration", None, ns)),
                musicbrainz_recording_id=_mbid(identifiers),
                isrc=_isrc(identifiers),
                external_id=external_id,
            )
        )
    return ParsedPlaylist(
        root.findtext("x:title", "", ns).strip(), root.findtext("x:annotation", "", ns).strip(), tracks
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _mbid(identifiers: Sequence[Any]) -> str:
    for identifier in identifiers:
        if isinstance(identifier, str) and "musicbrainz.org/recording/" in identifier:
            match = _MBID.search(identifier)
            if match:
                return match.group(0).lower()
    return ""


def _isrc(identifiers: Sequence[Any]) -> str:
    for identifier in identifiers:
        if isinstance(identifier, str) and identifier.lower().startswith(("urn:isrc:", "isrc:")):
            code = identifier.split(":")[-1].replace("-", "").strip().upper()
            if _ISRC.match(code):
                return code
    return ""


def normalise(text: str) -> str:
    """For matching by artist and title: no accents, case, punctuation or extra spaces ("Beyoncé - Halo!"
    and "beyonce halo" are equal)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("&", " and ")
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())
