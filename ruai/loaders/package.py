"""ZIP-packaged formats (DOCX, XLSX, PPTX, ODT, ODS): the container checked against the limits
before a library unpacks every part into memory."""

from __future__ import annotations

import io
import zipfile
from typing import IO

from lxml import etree

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import ParseLimits, check_limit


def check_package(data: bytes, limits: ParseLimits, name: str, body: str) -> None:
    """A ZIP holding ``body``, within the limits; ``name`` is the format, for the reason. The
    sizes in the ZIP directory are binding: Python's zipfile stops reading a member at its
    declared size (and fails its CRC), so a lying header cannot unpack more."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoaderError(f"corrupt {name}: not a ZIP archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        check_limit("max_zip_members", limits.max_zip_members, len(members), "ZIP members")
        unzipped = sum(member.file_size for member in members)
        check_limit("max_unzipped_bytes", limits.max_unzipped_bytes, unzipped, "unzipped bytes")
        if body not in archive.namelist():
            raise LoaderError(f"corrupt {name}: the archive has no {body}")
        if limits.max_markup_depth is not None:
            for member in members:
                if member.filename.endswith(".xml"):
                    with archive.open(member) as part:
                        check_depth(part, limits.max_markup_depth)


def check_depth(part: IO[bytes], limit: int) -> None:
    """Stream an XML part, stopping as soon as it nests deeper than ``limit``."""
    depth = 0
    for event, element in etree.iterparse(
        part, events=("start", "end"), huge_tree=True, resolve_entities=False, no_network=True
    ):
        if event == "start":
            depth += 1
            check_limit("max_markup_depth", limit, depth, "XML nesting depth")
        else:
            depth -= 1
            element.clear()


def read_xml(data: bytes, member: str) -> etree._Element:
    """One XML part of a checked package, parsed without entities or network."""
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return etree.fromstring(archive.read(member), parser)
