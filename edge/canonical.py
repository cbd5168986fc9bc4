"""The path and query string in the exact form S3 re-derives when it checks a signature.

awscrt, configured for S3 (no double encoding, no path normalisation), signs the path and query it is given
verbatim. S3 rebuilds them from the wire. The two agree only if what goes on the wire is already canonical, so the
function returns canonical values and signs those same strings.

S3's rules (S3 API reference, "Create a canonical request"):
- "URI-encode each byte except the unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9', '-', '.', '_', and '~'";
  "the space character is %20"; "letters in the hexadecimal value must be uppercase".
- For the path, "/" stays as is; S3 does not normalise: "." and ".." segments and "//" are part of the key.
- The wire path is decoded once; so "%2F" means "/" and "%41" means "A". A raw "+" is a literal plus: S3 would read
  it as a space (a legacy form rule), so it must go out as "%2B".
- Query: "Sort the parameter names by character code point in ascending order", each "name=value" with both
  encoded the same way ("/" becomes %2F), and "name=" when the value is empty.

Where those rules leave a case open, the function decides (docs/signer.md, "Errors and logs"):
- A key whose escapes are not UTF-8 ("%FF") is signed byte for byte: the bytes are the key, and S3 decides.
- Only allow-listed parameters reach S3, so only they must be readable: a malformed escape in any other parameter is
  ignored (it is dropped anyway). A name with a malformed escape cannot be an allow-listed one, whose names are made
  of unreserved characters, so it is dropped too.
- An allow-listed parameter that is malformed, or given twice (which one S3 would use is not defined), is a 400
  that names it.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .errors import BadRequest

__all__ = ["canonical_uri", "canonical_query_string"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection, Dict, List, Optional, Tuple

# Already canonical, the common case, answered without building bytes: unreserved characters, and upper-case escapes
# of bytes that must stay escaped. That is how browsers send a non-ASCII key (UTF-8, upper-case hex). An escape of an
# unreserved byte (hex 2D 2E 30-39 41-5A 5F 61-7A 7E), or in a path of "/" (2F), decodes to a character that S3's
# form writes raw, so it takes the slow path. A regular expression, because the engine checks a key with seven
# escapes in about 11k instructions where a test written in Python takes 18k (and re is loaded anyway: json needs it).
_KEPT_ESCAPE = r"%(?:[89A-F][0-9A-F]|(?!2[DE]|3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE])[0-7][0-9A-F])"
# Written as "run (escape run)*", where an escape cannot begin a run, so that a string matches in exactly one way:
# "(?:run+|escape)*" would try every split of every run before failing, exponential in the length of the string.
_CANONICAL_PATH = re.compile(rf"[A-Za-z0-9\-._~/]*(?:(?!%2F){_KEPT_ESCAPE}[A-Za-z0-9\-._~/]*)*")
_CANONICAL_COMPONENT = re.compile(rf"[A-Za-z0-9\-._~]*(?:{_KEPT_ESCAPE}[A-Za-z0-9\-._~]*)*")
_HEX = frozenset("0123456789ABCDEFabcdef")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@lru_cache(maxsize=None)
def _tables() -> Tuple[Dict[bytes, bytes], List[str], List[str]]:
    """The slow path's tables, built the first time a container needs them (a plain key never does): every escape's
    two digits to its byte, and escaping by table, one byte (decoded as one Latin-1 character) at a time inside
    str.translate: the result is urllib's quote(), but without its per-byte Python lookups, which made a key with a
    few non-ASCII characters cost a third of a signature."""
    hex_bytes = {(high + low).encode(): bytes([int(high + low, 16)]) for high in _HEX for low in _HEX}
    path = [chr(byte) if byte in _UNRESERVED or byte == ord("/") else f"%{byte:02X}" for byte in range(256)]
    component = [chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)]
    return hex_bytes, path, component


def _malformed_at(text: str) -> Optional[int]:
    """The offset of the first "%" not followed by two hex digits, if any."""
    offset = text.find("%")
    while offset != -1:
        if text[offset + 1:offset + 2] not in _HEX or text[offset + 2:offset + 3] not in _HEX:
            return offset
        offset = text.find("%", offset + 3)
    return None


def _decode_once(text: str, part: str) -> bytes:
    """The bytes `text` stands for: UTF-8 of the text with each "%XX" replaced by its byte."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(part=part, reason="not valid Unicode (a lone surrogate)") from None
    if b"%" not in data:  # raw unicode, say: nothing to decode
        return data
    hex_bytes = _tables()[0]
    pieces = data.split(b"%")
    decoded = [pieces[0]]
    for index in range(1, len(pieces)):
        piece = pieces[index]
        byte = hex_bytes.get(piece[:2])
        if byte is None:
            raise BadRequest(part=part, reason=f"malformed percent-escape at offset {_malformed_at(text)}")
        decoded.append(byte)
        decoded.append(piece[2:])
    return b"".join(decoded)


def canonical_uri(path: str) -> str:
    """The path decoded once and re-encoded with S3's unreserved set; a canonical path comes back unchanged.

    Escapes that are not UTF-8 ("%FF") are kept as the bytes they are: S3's key is bytes, and S3 decides."""
    if _CANONICAL_PATH.fullmatch(path):
        return path
    return _decode_once(path, "path").decode("latin-1").translate(_tables()[1])


def _canonical_component(text: str, part: str = "query string") -> str:
    """A query value decoded once and re-encoded with the unreserved set ("/" becomes %2F)."""
    if _CANONICAL_COMPONENT.fullmatch(text):
        return text
    return _decode_once(text, part).decode("latin-1").translate(_tables()[2])


def _parameter_name(raw_name: str) -> Optional[str]:
    """The decoded name, when it can be one of S3's (ASCII); None when it cannot be read, and so cannot be allowed."""
    if "%" not in raw_name:
        return raw_name
    if _malformed_at(raw_name) is not None:
        return None
    try:
        return _decode_once(raw_name, "query string").decode("latin-1")
    except BadRequest:  # a lone surrogate
        return None


def _allowed_params(querystring: str, allowlist: Collection[str]) -> List[Tuple[str, str]]:
    # Allow-listed names are made of unreserved characters (config.py checks), so a name that decodes to one of
    # them is already in canonical form once decoded.
    kept: List[Tuple[str, str]] = []
    for piece in querystring.split("&"):
        raw_name, _, raw_value = piece.partition("=")
        name = _parameter_name(raw_name)
        if name is None or name not in allowlist:
            continue  # dropped, readable or not
        if any(name == seen for seen, _ in kept):
            raise BadRequest(part=f"query parameter {name}",
                             reason="given more than once (which one S3 would use is not defined)")
        kept.append((name, _canonical_component(raw_value, f"query parameter {name}")))
    return kept


def canonical_query_string(querystring: str, allowlist: Collection[str]) -> str:
    """The allow-listed parameters, canonically encoded and sorted; every other parameter is dropped."""
    if not querystring:
        return ""
    return "&".join(f"{name}={value}" for name, value in sorted(_allowed_params(querystring, allowlist)))
