"""Document loaders: one small module per format, ``load_document`` picks one."""

from ruai.loaders.errors import LimitExceededError, LoaderError, NoTextError
from ruai.loaders.limits import ParseLimits
from ruai.loaders.load import detect_format, load_document
from ruai.loaders.parsed import ParsedText

__all__ = [
    "LimitExceededError",
    "LoaderError",
    "NoTextError",
    "ParseLimits",
    "ParsedText",
    "detect_format",
    "load_document",
]
