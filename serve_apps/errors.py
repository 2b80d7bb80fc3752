"""API errors with OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``;
every 503 carries ``Retry-After``."""

from __future__ import annotations

from fastapi.responses import JSONResponse

RETRY_AFTER_S = 1


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code or kind
        self.param = param

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.kind, self.code, self.param)


def error_body(
    message: str, kind: str, code: str | None = None, param: str | None = None
) -> dict[str, dict[str, str | None]]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code or kind}}


def error_response(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(error_body(message, kind, code, param), status_code=status,
                        headers=headers)  # fmt: skip


def unauthorized() -> ApiError:
    return ApiError(
        401, "missing or invalid API key: send 'Authorization: Bearer <key>'",
        "authentication_error", "invalid_api_key",
    )  # fmt: skip


def invalid(message: str, param: str | None, code: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def too_long(what: str, size: int, limit: int, setting: str) -> ApiError:
    return ApiError(
        413, f"{what} is {size} long; the limit is {limit} (setting {setting})",
        "invalid_request_error", "input_too_long",
    )  # fmt: skip


def not_found(message: str, code: str) -> ApiError:
    return ApiError(404, message, "invalid_request_error", code)


def unavailable(what: str, exc: BaseException) -> ApiError:
    return ApiError(503, f"{what} is unavailable, retry later: {exc}", "service_unavailable")
