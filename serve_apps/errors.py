"""API errors with OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code or kind


def error_response(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code or kind}}
    return JSONResponse(body, status_code=status)


def unauthorized() -> ApiError:
    return ApiError(
        401, "missing or invalid API key: send 'Authorization: Bearer <key>'",
        "authentication_error", "invalid_api_key",
    )  # fmt: skip


def too_long(what: str, size: int, limit: int, setting: str) -> ApiError:
    return ApiError(
        413, f"{what} is {size} long; the limit is {limit} (setting {setting})",
        "invalid_request_error", "input_too_long",
    )  # fmt: skip


def not_found(message: str, code: str) -> ApiError:
    return ApiError(404, message, "invalid_request_error", code)


def unavailable(what: str, exc: BaseException) -> ApiError:
    return ApiError(503, f"{what} is unavailable, retry later: {exc}", "service_unavailable")
