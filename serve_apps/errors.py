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
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code or kind
        self.param = param
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        response = error_response(self.status, self.message, self.kind, self.code, self.param)
        response.headers.update(self.headers)
        return response


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


def unauthorized(reason: str = "", token_error: bool = False) -> ApiError:
    """401 with RFC 6750's challenge; ``token_error``: a bearer token was sent and refused."""
    challenge = 'Bearer realm="ruai"'
    if token_error:
        challenge += ', error="invalid_token"'
    message = "missing or invalid credentials: send 'Authorization: Bearer <API key or token>'"
    return ApiError(
        401, f"{message} ({reason})" if reason else message, "authentication_error",
        "invalid_api_key", headers={"WWW-Authenticate": challenge},
    )  # fmt: skip


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, "permission_error", "forbidden")


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
