"""A real S3 endpoint on this machine (moto's server) for code that only reads object storage,
such as ray.serve.llm's LoRA loader: start it, upload folders, and hand the endpoint to Ray."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def local_s3(port: int, bucket: str) -> Iterator[dict[str, str]]:
    """Yield the environment that points boto3 (in any process) at a fresh bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        client(env).create_bucket(Bucket=bucket)
        yield env
    finally:
        server.stop()


def client(env: dict[str, str]):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def upload_folder(env: dict[str, str], folder: Path, bucket: str, prefix: str) -> None:
    s3 = client(env)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")
