"""The one Settings object: environment variables ``RUAI_*`` over an optional YAML profile."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


class _YamlProfileSource(PydanticBaseSettingsSource):
    """Reads ``ruai/profiles/<RUAI_PROFILE>.yaml`` or the file named by ``RUAI_PROFILE_FILE``."""

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("RUAI_PROFILE_FILE")
        if not path:
            profile = os.environ.get("RUAI_PROFILE", "local")
            path = str(PROFILES_DIR / f"{profile}.yaml")
            if not Path(path).exists():
                known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
                raise ValueError(f"unknown RUAI_PROFILE={profile!r}; known profiles: {known}")
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"profile {path} must be a mapping of setting: value")
        return data


# the paths that default to a place under Settings.data_dir
DATA_PATHS = {
    "qdrant_path": "qdrant",
    "conversations_path": "conversations.sqlite3",
    "query_log_dir": "query_log",
    "registry_dir": "registry",
    "monitor_dir": "monitor",
}
# where ray.serve.llm accepts a LoRA folder (its LoraConfig validator)
LORA_STORAGE = ("s3://", "gs://", "abfss://", "azure://")


class Settings(BaseSettings):
    """Every knob of the platform: env ``RUAI_<NAME>`` over the YAML profile over the defaults."""

    model_config = SettingsConfigDict(env_prefix="RUAI_", extra="forbid", frozen=True)

    profile: str = "local"
    # every file the platform writes lives under it unless its own setting says otherwise: the
    # Edge shards (qdrant/), conversations.sqlite3, query_log/, registry/
    data_dir: Path = Path("./data")

    # store
    store_backend: Literal["edge", "client"] = "edge"
    qdrant_path: Path = None  # type: ignore[assignment]  # data_dir/qdrant
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    qdrant_prefer_grpc: bool = True
    collection: str = "ruai"
    tenant: str = "default"
    write_batch_size: int = Field(512, ge=1)
    # blue/green re-index (jobs.reindex): versions of a collection to keep after each flip,
    # the live one included; 0 keeps every version until `jobs.reindex --drop-old`
    reindex_keep_versions: int = Field(0, ge=0)
    # HNSW graph of the dense vectors (ruai/store/hnsw.py), both backends. Build parameters are
    # fixed when a collection is created; the search ones apply to every dense query
    hnsw_m: int = Field(16, ge=0)
    hnsw_ef_construct: int = Field(100, ge=4)
    hnsw_full_scan_threshold_kb: int = Field(10_000, ge=0)
    hnsw_payload_m: int | None = Field(None, ge=0)
    hnsw_indexing_threshold_kb: int | None = Field(None, ge=0)  # None: the engine's default
    search_hnsw_ef: int | None = Field(None, ge=1)  # None: ef_construct
    search_exact: bool = False  # brute force over every vector: exact recall, linear time
    # the Edge shard's owner answers Serve's searches from its own node over a Unix socket
    # instead of a Ray call (raystore/read_socket.py); off: every search is a Ray call
    store_read_socket: bool = True

    # text
    chunk_max_tokens: int = Field(200, ge=16)
    chunk_overlap_sentences: int = Field(1, ge=0)
    max_file_bytes: int = Field(32 * 1024 * 1024, ge=1)
    lemma_cache_size: int = Field(200_000, ge=0)
    # per-document limits (docs/ingestion.md): a document past one is reported with
    # the limit's name and value and never retried. Parsing and chunking run in a child process
    # of each ingest actor, killed after parse_timeout_s and capped at parse_memory_bytes of
    # address space (0: no cap)
    parse_timeout_s: float = Field(60.0, gt=0)
    parse_memory_bytes: int = Field(2 * 1024**3, ge=0)
    max_unzipped_bytes: int = Field(128 * 1024 * 1024, ge=1)
    max_zip_members: int = Field(10_000, ge=1)
    max_markup_depth: int = Field(256, ge=8)
    max_pdf_pages: int = Field(2_000, ge=1)
    max_chunks_per_doc: int = Field(5_000, ge=1)
    # OCR (tesseract, CPU) of scanned PDF pages and image files, inside the same child: pages
    # rendered at ocr_dpi, at most ocr_max_pages pages a document, each within
    # ocr_page_timeout_s; a document that may need OCR (PDF, image, e-mail) gets
    # parse_timeout_s + ocr_max_pages * ocr_page_timeout_s. An image page (or a PDF page as
    # rendered) is at most max_image_pixels: a bigger PDF page renders at a lower resolution,
    # a bigger image is refused
    ocr_max_pages: int = Field(50, ge=1)
    ocr_page_timeout_s: float = Field(30.0, gt=0)
    ocr_dpi: int = Field(300, ge=72, le=600)
    ocr_languages: str = "rus+eng"  # tesseract's language names, joined by "+"
    max_image_pixels: int = Field(50_000_000, ge=1)
    extract_entities: bool = True

    # encoders
    dense_model: str = "navec"
    dense_query_prefix: str | None = None
    dense_passage_prefix: str | None = None
    dense_batch_size: int = Field(256, ge=1)
    dense_device: str | None = None
    bm25_k1: float = Field(1.2, gt=0)
    bm25_b: float = Field(0.3, ge=0, le=1)
    bm25_avg_doc_tokens: float = Field(60.0, gt=0)

    # ray data ingestion
    ingest_concurrency: int = Field(2, ge=1)
    # a stage actor per this many files, up to ingest_concurrency: a 3-file job starts one
    # actor (pipelines.ingest.stage_actors)
    ingest_files_per_actor: int = Field(8, ge=1)
    # files per Ray Data block (and stage batch), at most: fewer when the corpus is small, so
    # that every stage actor still gets two blocks (pipelines.ingest.files_per_block); 128
    # files (~800 chunks) a block: fewer Ray tasks, 1.09x the plain loop's CPU per chunk at 100k
    # chunks where 32 took 1.22x (docs/benchmarks.md)
    ingest_files_per_batch: int = Field(128, ge=1)
    # the S3 object tag (or, without one, user metadata x-amz-meta-<name>) whose value says who
    # reads that object, as jobs.ingest --access does ("/legal,role:auditor"; spaces separate
    # too); it overrides the policy files. Unset: not read (it costs two requests an object)
    ingest_object_access_key: str | None = None
    embed_concurrency: int = Field(1, ge=1)
    embed_num_gpus: float = Field(0.0, ge=0)
    embed_num_cpus: float = Field(1.0, gt=0)
    # "fused": one actor pool parses, chunks and embeds (cheapest on CPU); "separate": CPU actors
    # chunk, a second (GPU) actor pool embeds; "auto": separate when embed_num_gpus > 0
    embed_stage: Literal["auto", "fused", "separate"] = "auto"
    # fault drill: the first embedding call exits its actor once (creating this file) to prove
    # that Ray restarts it and no chunk is lost
    embed_crash_marker: Path | None = None

    # retrieval
    # chosen on XQuAD-ru dev questions, estimated by cross-validation over article folds
    # (docs/retrieval.md, benchmarks/retrieval_cv.py): linear fusion keeps BM25's margin, a
    # small dense weight only breaks its near-ties; BM25's b=0.3 (weaker length normalisation
    # than the textbook 0.75) measured better there. The dense weight depends on how widely the
    # model's cosines spread: unset, each model's own (ruai.retrieval.default_dense_weight:
    # navec 4, multilingual-e5-small-q4 150)
    fusion: Literal["rrf", "dbsf", "linear"] = "linear"
    rrf_k: int = Field(60, ge=1)
    dense_weight: float | None = Field(None, ge=0)
    sparse_weight: float = Field(1.0, ge=0)
    prefetch_limit: int = Field(50, ge=1)
    top_k: int = Field(5, ge=1)

    # serving (serve_apps): API keys map to tenants (or to {tenant, groups, roles, name}, see
    # ruai/api_keys.py); "extractive" needs no LLM, "vllm" serves llm_model through ray.serve.llm
    api_keys: dict[str, str | dict[str, Any]] = Field(default_factory=dict)
    api_keys_file: Path | None = None
    require_api_keys: bool = False
    # the tenants and roles (of a token or an API key) whose callers may choose an A/B arm with
    # the X-Ruai-Arm header (tests, an operator's probe); anyone else sending it is a 403.
    # Empty: nobody
    arm_header_callers: list[str] = Field(default_factory=list)
    # OIDC access tokens (ruai/identity, docs/security.md): accepted when oidc_issuer is set (the
    # URL whose /.well-known/openid-configuration names the JWKS) and must carry oidc_audience.
    # Asymmetric algorithms only; exp/nbf/iat checked with oidc_leeway_s of clock skew. The keys
    # are fetched at start-up and every oidc_jwks_refresh_s in the background; a token with an
    # unknown key id fetches them once more, at most every oidc_jwks_min_refresh_s
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    oidc_leeway_s: float = Field(30.0, ge=0)
    oidc_jwks_refresh_s: float = Field(300.0, gt=0)
    oidc_jwks_min_refresh_s: float = Field(10.0, ge=0)
    oidc_http_timeout_s: float = Field(5.0, gt=0)
    # verified tokens remembered (by the whole token) until they expire: a client's repeated
    # token skips the signature check; 0 checks every request's signature
    oidc_token_cache_size: int = Field(10_000, ge=0)
    # claims -> Principal, Keycloak's shapes by default: the tenant is oidc_tenant_claim, else
    # the <t> of group paths under oidc_tenant_group_prefix ("/tenants/<t>/..."), else `tenant`;
    # roles are read at each dotted path, "{client}" standing for oidc_client_id (default: the
    # audience)
    oidc_subject_claim: str = "sub"
    oidc_name_claims: list[str] = ["preferred_username", "name"]
    oidc_tenant_claim: str | None = "tenant"
    oidc_tenant_group_prefix: str | None = "/tenants/"
    oidc_groups_claim: str = "groups"
    oidc_roles_claims: list[str] = ["realm_access.roles", "resource_access.{client}.roles"]
    oidc_client_id: str | None = None
    # the chat page's sign-in: the provider's public client (authorization code + PKCE; tokens
    # kept in the page's memory only); unset: no sign-in button. ui_api_key_form: whether the
    # page also offers the API-key form (for local use)
    oidc_ui_client_id: str | None = None
    oidc_ui_scope: str = "openid profile"
    ui_api_key_form: bool = True
    generator: Literal["extractive", "vllm"] = "extractive"
    llm_model: str | None = None
    llm_served_name: str = "saiga"
    llm_system_prompt: str = (
        "Ты — Сайга, русскоязычный автоматический ассистент. "
        "Ты разговариваешь с людьми и помогаешь им."
    )
    max_model_len: int = Field(16384, ge=128)
    llm_temperature: float = Field(0.2, ge=0)
    llm_top_p: float = Field(0.9, gt=0, le=1)
    llm_repetition_penalty: float = Field(1.1, gt=0)
    llm_max_tokens: int = Field(512, ge=1)
    llm_num_cpus: float = Field(1.0, gt=0)
    llm_num_gpus: float = Field(0.0, ge=0)
    # LoRA adapters of llm_model (jobs.finetune_llm output), one subfolder per adapter under an
    # object-storage folder; requests name them "<llm_served_name>:<adapter>"
    llm_lora_path: str | None = None
    llm_max_loras: int = Field(4, ge=1)
    llm_max_lora_rank: int = Field(16, ge=1)
    # extractive answers: "ranked" = the sentence the fitted ranker (ruai/llm/sentence_features)
    # scores best, then the runner-up when it scores within answer_support_margin of it and both
    # fit answer_ranked_max_chars (docs/retrieval.md); "concise" = the hand-weighted answering
    # sentence and at most one supporting one, within answer_max_chars; "sentences" = the
    # earlier answer_sentences best-overlap sentences
    answer_style: Literal["ranked", "concise", "sentences"] = "ranked"
    answer_max_chars: int = Field(400, ge=40)
    answer_ranked_max_chars: int = Field(800, ge=40)
    answer_support_margin: float = Field(2.5, ge=0)
    # concise scoring: bonus for holding the asked answer type; penalty per passage rank (and
    # for the retrieval-score gap to the first); a supporting sentence must score this share of
    # the best
    answer_type_bonus: float = Field(0.35, ge=0)
    answer_rank_penalty: float = Field(0.08, ge=0)
    answer_support_ratio: float = Field(0.5, ge=0, le=1)
    answer_sentences: int = Field(3, ge=1)
    max_question_chars: int = Field(2000, ge=1)
    max_request_messages: int = Field(64, ge=1)
    max_top_k: int = Field(50, ge=1)
    # a request body past this many bytes is a 413 while it is read (before any JSON parsing);
    # one that has not arrived whole within body_read_timeout_s is a 408. Both before the request
    # takes an admission slot. The default holds max_request_messages turns of
    # max_question_chars characters even as JSON's \uXXXX escapes
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    body_read_timeout_s: float = Field(10.0, gt=0)
    # past these the ingress answers 503 instead of waiting: the first answer token (a replica
    # that crashed or is restarting), encode + Qdrant query, and each /healthz check
    generator_timeout_s: float = Field(60.0, gt=0)
    retrieval_timeout_s: float = Field(10.0, gt=0)
    health_timeout_s: float = Field(5.0, gt=0)

    # multi-turn chat: the retrieval query is the question plus up to this many earlier user
    # turns (a follow-up like "а когда он умер?" names nothing by itself); 0 = the question only
    followup_turns: int = Field(2, ge=0)
    # a source card's "in context" view lists at most this many chunks of the cited document
    context_max_chunks: int = Field(200, ge=1)

    # the chat UI's conversations and /v1/feedback: SQLite at conversations_path by default,
    # PostgreSQL when conversations_dsn ("postgresql://user:password@host:5432/db") is set
    conversations_path: Path = None  # type: ignore[assignment]  # data_dir/conversations.sqlite3
    conversations_dsn: str | None = None
    # a conversation-store call (chat page, /v1/feedback) not answered within this is a 503; the
    # calls run on conversations_threads threads of their own, so a hung database stalls no
    # search or answer
    conversations_timeout_s: float = Field(5.0, gt=0)
    conversations_threads: int = Field(4, ge=1)

    # the query log (ruai/lifecycle/query_log_sink.py): one row per answered request, batched
    # into Parquet files under query_log_dir (partitioned by date), or rows of PostgreSQL's
    # query_log table when query_log_dsn is set. Never blocks a request: past query_log_queue_size
    # waiting rows (a slow or dead sink) rows are dropped and counted (ruai_query_log_dropped)
    query_log_enabled: bool = True
    query_log_dir: Path = None  # type: ignore[assignment]  # data_dir/query_log
    query_log_dsn: str | None = None
    query_log_queue_size: int = Field(10_000, ge=1)
    query_log_batch_rows: int = Field(1_000, ge=1)
    query_log_flush_s: float = Field(5.0, gt=0)
    # a batch of query-log rows or answer records whose write failed (database down) is tried
    # again for this long before it is dropped and counted
    query_log_retry_s: float = Field(60.0, ge=0)
    # tenants whose questions are logged as their SHA-256 only, never as text
    query_log_hash_only_tenants: list[str] = Field(default_factory=list)
    # retention (ruai/lifecycle/retention.py, applied by each jobs.monitor run): query-log rows
    # older than this many days are deleted; so are answer records (the responses /v1/feedback
    # accepts votes on) that got no feedback. Feedback and the answers it rates are kept.
    # Chat conversations nobody wrote to for conversation_retention_days go with their messages.
    # None keeps everything
    query_log_retention_days: int | None = Field(90, ge=1)
    answer_retention_days: int | None = Field(90, ge=1)
    conversation_retention_days: int | None = Field(None, ge=1)

    # agents (ruai/agents, jobs.agent): the served API an agent job calls (its OpenAI base URL
    # and key; the key's tenant is what the agent may read), the model (None: rag-<collection>),
    # its budgets per task, and how many tasks run at once (at most what the model serves
    # concurrently: the LLM deployment's max_ongoing_requests times its replicas)
    agent_api_url: str = "http://127.0.0.1:8000/v1"
    agent_api_key: str | None = None
    agent_model: str | None = None
    agent_max_steps: int = Field(6, ge=1)
    agent_max_seconds: float = Field(300.0, gt=0)
    agent_concurrency: int = Field(4, ge=1)

    # embedder fine-tuning (Ray Train) and sweeps (Ray Tune); jobs' options override these
    train_epochs: int = Field(3, ge=1)
    train_batch_size: int = Field(32, ge=2)
    train_learning_rate: float = Field(3e-5, gt=0)
    train_warmup_ratio: float = Field(0.1, ge=0, lt=1)
    train_max_seq_length: int = Field(256, ge=8)
    # MultipleNegativesRankingLoss: cosine similarities are multiplied by this before softmax
    train_mnrl_scale: float = Field(20.0, gt=0)
    train_num_workers: int = Field(1, ge=1)
    train_use_gpu: bool = False
    train_cpus_per_worker: float = Field(1.0, gt=0)
    train_validation_fraction: float = Field(0.2, gt=0, lt=1)
    train_seed: int = 0
    train_recall_k: int = Field(5, ge=1)
    train_max_failures: int = Field(2, ge=-1)
    # where Ray Train/Tune persist runs and checkpoints (a shared path or URI on a multi-node
    # cluster); default: <output dir>/ray
    train_storage_path: str | None = None

    # LoRA supervised fine-tuning of the LLM
    llm_lora_r: int = Field(16, ge=1)
    llm_lora_alpha: int = Field(32, ge=1)
    llm_lora_dropout: float = Field(0.05, ge=0, lt=1)
    llm_lora_target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    llm_train_max_tokens: int = Field(1024, ge=16)
    llm_train_learning_rate: float = Field(2e-4, gt=0)
    llm_train_batch_size: int = Field(4, ge=1)
    llm_train_epochs: int = Field(1, ge=1)
    # GPU only (bitsandbytes): 4-bit NF4 QLoRA fits a 12B base on a 24 GB card
    llm_load_in: Literal["full", "8bit", "4bit"] = "full"

    # experiment tracking: a local MLflow file store by default (<output dir>/mlruns); on a
    # cluster one PostgreSQL database holds runs and the model registry
    # (postgresql+psycopg://user@host:5432/mlflow), artifacts under mlflow_artifact_root
    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = "ruai"
    # where new experiments keep artifacts when the tracking URI is a database (a shared path or
    # s3://); None: the tracking server decides
    mlflow_artifact_root: str | None = None
    # the model registry (models:/<name>@<alias>) without RUAI_MLFLOW_TRACKING_URI: SQLite here,
    # and the download cache of versions whose files are not on this disk
    registry_dir: Path = None  # type: ignore[assignment]  # data_dir/registry
    # the evaluation gate (jobs.promote): the challenger must beat the champion by this much on
    # the primary metric (recall@train_recall_k for embedders, held-out loss for LoRA adapters)
    promote_margin: float = Field(0.01, ge=0)

    # monitoring (jobs.monitor, docs/lifecycle.md): a window of the query log against a
    # reference window. Drift tests (MMD on query embeddings, KS on top-1 scores) fire below
    # monitor_alpha (the MMD test's p-value is at least 1/(1 + monitor_permutations), so that
    # must be below it); a group (tenant, collection) with fewer questions is reported, not tested
    monitor_alpha: float = Field(0.01, gt=0, lt=1)
    # jobs.monitor's and jobs.retrain's summaries, plots and retraining files (their --output)
    monitor_dir: Path = None  # type: ignore[assignment]  # data_dir/monitor
    monitor_permutations: int = Field(200, ge=20)
    monitor_min_questions: int = Field(30, ge=2)
    monitor_max_sample: int = Field(500, ge=10)  # questions per side embedded for MMD
    monitor_seed: int = 0
    # retrieval confidence: a top-1 score below this is a low-confidence answer
    monitor_low_score: float = Field(0.5, ge=0)
    monitor_max_low_confidence_share: float = Field(0.3, ge=0, le=1)
    monitor_max_unknown_word_share: float = Field(0.2, ge=0, le=1)
    monitor_max_non_cyrillic_share: float = Field(0.1, ge=0, le=1)
    # feedback: an arm/model version with at least monitor_min_feedback ratings alerts above this
    monitor_max_negative_share: float = Field(0.3, ge=0, le=1)
    monitor_min_feedback: int = Field(10, ge=1)
    # the retraining trigger (jobs.monitor --act): the registered embedder it fine-tunes and a
    # canary arm's weight (of 100) for a promoted version; 0 never starts a canary
    retrain_model: str = "ruai-embedder"
    retrain_epochs: int = Field(1, ge=1)
    retrain_canary_weight: int = Field(0, ge=0, le=100)
    # the running Serve app (deployed from a config) the canary experiment starts in; unset: the
    # experiment is only written (experiment.json) for `jobs.rollout --experiment-file`
    retrain_canary_app: str | None = None
    # "<namespace>/<name>" of the KubeRay RayService that app runs in: the experiment goes into
    # its serveConfigV2 (where KubeRay keeps it) instead of through Serve's REST API
    retrain_canary_rayservice: str | None = Field(None, pattern=r"^[a-z0-9.-]+/[a-z0-9.-]+$")

    @model_validator(mode="before")
    @classmethod
    def _paths_under_data_dir(cls, data: Any) -> Any:
        if isinstance(data, dict):
            root = Path(data.get("data_dir") or "./data")
            for name, relative in DATA_PATHS.items():
                if data.get(name) is None:
                    data[name] = root / relative
        return data

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.store_backend == "client" and not self.qdrant_url and not str(self.qdrant_path):
            raise ValueError("store_backend=client needs RUAI_QDRANT_URL or RUAI_QDRANT_PATH")
        if self.llm_lora_path and not self.llm_lora_path.startswith(LORA_STORAGE):
            raise ValueError(
                f"RUAI_LLM_LORA_PATH={self.llm_lora_path!r}: ray.serve.llm loads adapters from "
                f"object storage only ({', '.join(LORA_STORAGE)}); upload the adapter folders there"
            )
        if _min_p_value(self.monitor_permutations) >= self.monitor_alpha:
            needed = max(self.monitor_permutations, int(1 / self.monitor_alpha) - 1)
            while _min_p_value(needed) >= self.monitor_alpha:
                needed += 1
            raise ValueError(
                f"RUAI_MONITOR_PERMUTATIONS={self.monitor_permutations} with "
                f"RUAI_MONITOR_ALPHA={self.monitor_alpha}: the MMD drift test's smallest p-value, "
                f"1/(1 + permutations) = {_min_p_value(self.monitor_permutations):.4g}, is not "
                f"below alpha, so it could never report drift; use at least {needed} permutations "
                "or a larger alpha"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _YamlProfileSource(settings_cls), file_secret_settings)


def _min_p_value(permutations: int) -> float:
    """The smallest p-value ``ruai.lifecycle.drift.mmd_test`` can give."""
    return 1 / (1 + permutations)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
