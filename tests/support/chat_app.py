"""The RAG application with the chat UI for integration and browser tests: two tenants' corpora
(plus a document full of HTML and <script> and a tariff spreadsheet for acme), API keys, and the
written follow-up cases whose retrieval docs/chat.md reports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruai.settings import Settings
from tests.support.office_documents import tariff_rows, xlsx
from tests.support.serve_app import ingest_tenants, running_app

COLLECTION = "chat_test"
MODEL = f"rag-{COLLECTION}"
# two keys of one tenant: conversations are per key, feedback per tenant
KEYS = {"key-acme": "acme", "key-acme-2": "acme", "key-globex": "globex"}

# (first question, follow-up that names nothing by itself, the article both are about)
FOLLOW_UPS = [
    ("Кто такой Никола Тесла?", "А когда он умер?", "04-nikola-tesla"),
    ("Кто такой Мартин Лютер?", "Где он родился?", "07-martin-luther"),
    ("Кто открыл кислород?", "В каком году это случилось?", "13-oxygen"),
    ("Что такое паровая машина?", "Кто её усовершенствовал?", "12-steam-engine"),
    ("Что такое программа «Аполлон»?", "Сколько она стоила?", "15-apollo-program"),
    ("Что такое чёрная смерть?", "Сколько людей от неё погибло?", "21-black-death"),
    ("Какая река протекает через Варшаву?", "Сколько там жителей?", "02-warsaw"),
    ("Кто такие гугеноты?", "Куда они бежали?", "11-huguenot"),
    ("Что вызвало нефтяной кризис 1973 года?", "Чем он закончился?", "14-1973-oil-crisis"),
    ("Что известно о лесах Амазонки?", "Какую площадь они занимают?", "17-amazon-rainforest"),
]
ACME_ARTICLES = sorted({article for _, _, article in FOLLOW_UPS})
GLOBEX_ARTICLES = ["03-normans", "23-newcastle-upon-tyne"]

TARIFFS_NAME = "tarify.xlsx"  # its chunks cite their sheet: «лист "Тарифы"»
TARIFF_QUESTION = "Сколько стоит тариф Оптимум?"
HOSTILE_NAME = "pravila-bezopasnosti.txt"
HOSTILE_QUESTION = "Где висит огнетушитель в цехе?"
HOSTILE_TEXT = (
    "Правила пожарной безопасности цеха номер семь.\n\n"
    'Огнетушитель висит у северного входа в цех <script>document.title="ВЗЛОМ";'
    "window.pwned = true;</script> рядом с пожарным щитом. "
    '<img src="x" onerror="window.pwned = true"> <b>Проверка</b> огнетушителя проводится '
    "ежемесячно.\n"
)


def _ingested_corpus(sample_articles: Path) -> tuple[Path, Path, dict[str, set[str]]]:
    """Both tenants' corpora ingested once per test process (beside the sample articles, in the
    session's temp dir): (the store's folder, the documents' folder, each tenant's sources). Each
    app serves its own copy of the store."""
    from pipelines.ingest import run_ingest
    from raystore import release_store

    corpus = sample_articles.parent / "chat-corpus"
    docs, store = corpus / "docs", corpus / "qdrant"
    settings = Settings(qdrant_path=store, collection=COLLECTION)
    if not (corpus / "ingested").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        ingest_tenants(
            settings, sample_articles, docs, {"acme": ACME_ARTICLES, "globex": GLOBEX_ARTICLES}
        )
        (docs / "acme" / HOSTILE_NAME).write_text(HOSTILE_TEXT, encoding="utf-8")
        (docs / "acme" / TARIFFS_NAME).write_bytes(xlsx({"Тарифы": tariff_rows()}))
        assert run_ingest(settings, str(docs / "acme"), tenant="acme").documents_ok == 2
        release_store(settings)  # its owner closes the shard: the folder can be copied
        (corpus / "ingested").touch()
    sources = {
        tenant: {str(path.resolve()) for path in (docs / tenant).iterdir()}
        for tenant in ("acme", "globex")
    }
    return store, docs, sources


@contextmanager
def chat_app(
    sample_articles: Path, tmp: Path, settings_extra: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Serve the app on a copy of both tenants' ingested corpora (query log under tmp/query_log,
    globex's questions logged as hashes only); yield {"base", "settings", "sources", "docs",
    "query_log"}."""
    from raystore import release_store

    store, docs, sources = _ingested_corpus(sample_articles)
    settings = Settings(qdrant_path=tmp / "qdrant", collection=COLLECTION)
    shutil.copytree(store, settings.qdrant_path)
    args = {
        "settings": {
            "qdrant_path": str(settings.qdrant_path),
            "collection": COLLECTION,
            "api_keys": KEYS,
            "conversations_path": str(tmp / "conversations.sqlite3"),
            "query_log_dir": str(tmp / "query_log"),
            "query_log_flush_s": 0.2,
            "query_log_hash_only_tenants": ["globex"],
            **(settings_extra or {}),
        },
        # the local profile's layout, what the chat UI runs on: search and the extractive
        # answerer inside the ingress
        "search_in_ingress": True,
        "generator_in_ingress": True,
    }
    try:
        with _started(args) as base:
            yield {"base": base, "settings": settings, "sources": sources, "docs": docs,
                   "query_log": tmp / "query_log"}  # fmt: skip
    finally:
        release_store(settings)


@contextmanager
def _started(args: dict[str, Any], attempts: int = 3) -> Iterator[str]:
    """running_app, tried again when Serve's controller kills a proxy that was not ready within
    its ready-check timeout (5 s, longer on each restart): on a loaded 2-core CI machine HAProxy
    can take longer, and serve.start then fails with ActorDiedError instead of waiting."""
    from ray.exceptions import ActorDiedError

    for attempt in range(1, attempts + 1):
        try:
            app = running_app(args)
            base = app.__enter__()
            break
        except ActorDiedError:
            if attempt == attempts:
                raise
    try:
        yield base
    finally:
        app.__exit__(None, None, None)
