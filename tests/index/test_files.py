"""Index files are checked before anything is trusted, and replaced atomically."""

from __future__ import annotations

import pytest

from semkit.errors import StoreError
from semkit.index.files import read_index_file, write_index_file


def test_round_trip(tmp_path):
    path = tmp_path / "x.idx"
    write_index_file(path, {"kind": "test", "n": 3}, {"a": b"hello", "b": b"\x00" * 1000})
    header, sections = read_index_file(path)
    assert header == {"kind": "test", "n": 3}
    assert bytes(sections["a"]) == b"hello" and bytes(sections["b"]) == b"\x00" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["x.idx"]  # no temp file left behind


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda b: b[:-1], "checksum|truncated"),
        (lambda b: b + b"x", "trailing"),
        (lambda b: b[:10], "truncated|checksum"),
        (lambda b: b"NOTSEMKT" + b[8:], "not a semkit index"),
        (lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:], "section 'b' checksum"),
        (lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:], "header checksum"),
    ],
)
def test_damaged_files_are_refused(tmp_path, damage, message):
    path = tmp_path / "x.idx"
    write_index_file(path, {"kind": "test"}, {"a": b"hello", "b": b"world" * 100})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError, match=message):
        read_index_file(path)
