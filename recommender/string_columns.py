"""Track words (artists, titles, genres, tags) as UTF-8 buffers with offsets, memory-mappable.

A catalogue of a million tracks keeps its words in two files per field instead of a million Python
strings (a list of each, read from JSON, took 467 MB for 1M tracks); each read decodes one string.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, overload

import numpy as np

_STRING_CHUNK = 65_536
TAG_SEPARATOR = "\x1f"  # ASCII unit separator


class StringColumn(Sequence[str]):
    """A read-only sequence of strings held as one UTF-8 buffer and n + 1 offsets (both may be
    memory-mapped); each read decodes its string. Equal to any sequence of the same strings."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data = data  # (total bytes,) uint8
        self.offsets = offsets  # (n + 1,) int64

    @classmethod
    def of(cls, strings: Sequence[str]) -> StringColumn:
        if isinstance(strings, StringColumn):
            return strings
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def save(self, directory: Path, name: str) -> None:
        np.save(directory / f"str_{name}.npy", np.asarray(self.data, dtype=np.uint8))
        np.save(directory / f"str_{name}.offsets.npy", np.asarray(self.offsets, dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, name: str, mode: Literal["r"] | None) -> StringColumn:
        data = np.load(directory / f"str_{name}.npy", mmap_mode=mode)
        offsets = np.load(directory / f"str_{name}.offsets.npy", mmap_mode=mode)
        return cls(data, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"row {index} out of range for {n} strings")
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), _STRING_CHUNK):
            stop = min(len(self), start + _STRING_CHUNK)
            offsets = np.asarray(self.offsets[start : stop + 1]) - int(self.offsets[start])
            block = bytes(self.data[int(self.offsets[start]) : int(self.offsets[stop])])
            for a, b in itertools.pairwise(offsets.tolist()):
                yield block[a:b].decode("utf-8")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StringColumn({len(self)} strings)"


class StringColumnWriter:
    """Builds a StringColumn from strings added a block at a time (a catalogue read in blocks)."""

    def __init__(self) -> None:
        self._blobs: list[bytes] = []
        self._lengths: list[np.ndarray] = []

    def add(self, strings: Iterable[str]) -> None:
        encoded = [s.encode("utf-8") for s in strings]
        self._blobs.append(b"".join(encoded))
        self._lengths.append(np.fromiter((len(b) for b in encoded), np.int64, len(encoded)))

    def finish(self) -> StringColumn:
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = np.frombuffer(b"".join(self._blobs), dtype=np.uint8)
        self._blobs, self._lengths = [], []
        return StringColumn(data, offsets)


def joined_tags(tags: Iterable[Sequence[str]]) -> list[str]:
    """Each track's tags as one string, TagsColumn's stored form."""
    return [TAG_SEPARATOR.join(t.replace(TAG_SEPARATOR, " ") for t in row) for row in tags]


class TagsColumn(Sequence[list[str]]):
    """Each track's tags, stored as a StringColumn of the tags joined by TAG_SEPARATOR (a separator
    inside a tag becomes a space). Each read is a new list."""

    def __init__(self, joined: StringColumn) -> None:
        self.joined = joined

    @classmethod
    def of(cls, tags: Sequence[Sequence[str]]) -> TagsColumn:
        if isinstance(tags, TagsColumn):
            return tags
        return cls(StringColumn.of(joined_tags(tags)))

    def save(self, directory: Path, name: str) -> None:
        self.joined.save(directory, name)

    @classmethod
    def load(cls, directory: Path, name: str, mode: Literal["r"] | None) -> TagsColumn:
        return cls(StringColumn.load(directory, name, mode))

    @staticmethod
    def _split(joined: str) -> list[str]:
        return joined.split(TAG_SEPARATOR) if joined else []

    def __len__(self) -> int:
        return len(self.joined)

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...

    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            return [self._split(j) for j in self.joined[index]]
        return self._split(self.joined[index])

    def __iter__(self) -> Iterator[list[str]]:
        return (self._split(j) for j in self.joined)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == list(b) for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TagsColumn({len(self)} tracks)"
