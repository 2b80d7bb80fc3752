"""Document loaders: one small module per format, ``load_document`` picks one."""

from ruai.loaders.errors import LoaderError
from ruai.loaders.load import detect_format, load_document
from ruai.loaders.parsed import ParsedText

__all__ = ["LoaderError", "ParsedText", "detect_format", "load_document"]
