"""Ask the running RAG service one question through the official `openai` client.

python -m jobs.ask "В каком году умер Никола Тесла?" [--url http://127.0.0.1:8000/v1]
    [--model rag-xquad_ru] [--api-key KEY] [--stream] [--wait 120]
"""

from __future__ import annotations

import os
import sys
import time

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import fail

app = typer.Typer(add_completion=False, help=__doc__)


def wait_until_ready(url: str, timeout_s: float) -> None:
    import httpx

    from ruai.tls import tls_context

    health = url.removesuffix("/v1").rstrip("/") + "/healthz"
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(health, timeout=10, verify=tls_context())
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(1)
    fail(f"{health} not ready after {timeout_s:.0f}s: {last}")


@app.command()
def main(
    question: str = typer.Argument(..., help="The question, in Russian"),
    url: str = typer.Option("http://127.0.0.1:8000/v1", help="The service's OpenAI base URL"),
    model: str = typer.Option(None, help="rag-<collection> (default: rag-$RUAI_COLLECTION)"),
    api_key: str = typer.Option(None, help="API key (default: $RUAI_API_KEY or 'local')"),
    stream: bool = typer.Option(False, help="Stream the answer as it is generated"),
    wait: float = typer.Option(120.0, help="Seconds to wait for /healthz to say ready"),
) -> None:
    import openai

    from ruai.settings import get_settings

    model = model or f"rag-{get_settings().collection}"
    wait_until_ready(url, wait)
    client = openai.OpenAI(
        base_url=url, api_key=api_key or os.environ.get("RUAI_API_KEY", "local"), max_retries=1
    )
    messages = [{"role": "user", "content": question}]
    out = Console()
    try:
        if stream:
            sources: list[dict] = []
            for chunk in client.chat.completions.create(
                model=model, messages=messages, stream=True
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    out.print(chunk.choices[0].delta.content, end="")
                sources = (chunk.model_extra or {}).get("sources") or sources
            out.print()
        else:
            response = client.chat.completions.create(model=model, messages=messages)
            out.print(f"[bold]Вопрос:[/bold] {question}")
            out.print(f"[bold]Ответ:[/bold] {response.choices[0].message.content}")
            sources = (response.model_extra or {}).get("sources") or []
    except openai.APIStatusError as exc:
        fail(f"{url} answered {exc.status_code}: {exc.message}")
    except openai.APIConnectionError as exc:
        fail(f"cannot reach {url}: {exc}")
    table = Table(title="Источники", show_lines=True)
    for column in ("n", "score", "source", "snippet"):
        table.add_column(column)
    for source in sources:
        table.add_row(str(source["n"]), f"{source['score']:.4f}", source["source"],
                      source["snippet"][:200])  # fmt: skip
    out.print(table)


if __name__ == "__main__":
    sys.exit(app())
