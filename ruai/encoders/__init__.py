"""Dense and sparse encoders behind one protocol for the index side and the query side.

Heavy modules (torch, navec vectors) load only when an encoder is built.
"""

from ruai.encoders.base import DenseEncoder, ModelNotFoundError, SparseEncoder, SparseVector
from ruai.encoders.factory import build_dense_encoder, build_sparse_encoder

__all__ = [
    "DenseEncoder",
    "ModelNotFoundError",
    "SparseEncoder",
    "SparseVector",
    "build_dense_encoder",
    "build_sparse_encoder",
]
