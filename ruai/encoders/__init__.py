"""Dense and sparse encoders behind one protocol for the index side and the query side.

Build them with ruai.encoders.factory; heavy modules (torch, navec vectors, pymorphy3) load only
there, so that this package imports with numpy alone (the GPU tests rely on it).
"""

from ruai.encoders.base import DenseEncoder, ModelNotFoundError, SparseEncoder, SparseVector

__all__ = ["DenseEncoder", "ModelNotFoundError", "SparseEncoder", "SparseVector"]
