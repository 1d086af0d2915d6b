"""What an MLflow failure means: retry it, refuse it as bad input, or report it.

Pure (no MLflow import): the exception is judged by its HTTP status, its
``error_code`` and its text, so this module can be tested without a server.
A 404 that is not MLflow's RESOURCE_DOES_NOT_EXIST means nothing serves MLflow's
API at that URI (a path after the host, an old server): bad input, never retried.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, AuthFailed, GitverError
from mlflow_gitver.redact import scrub

RETRY_SECONDS_VAR = "MLFLOW_GITVER_RETRY_SECONDS"

# MLflow's text for a non-JSON error answer names the endpoint it asked for.
_ENDPOINT = re.compile(r"API request to endpoint (\S+) failed with error code (\d+)")


def classify(exc: BaseException) -> tuple[str, str]:
    """("auth" | "wrong-uri" | "transient" | "refused" | "other", short reason) of an
    MLflow failure; for "wrong-uri" the reason is the endpoint path asked for."""
    msg = str(exc)
    low = msg.lower()
    status = 0
    getter = getattr(exc, "get_http_status_code", None)
    if callable(getter):
        try:
            status = int(getter())
        except (TypeError, ValueError):
            status = 0
    if status in (401, 403):
        return "auth", f"HTTP {status}"
    m = _ENDPOINT.search(msg)
    # A 404 that is not MLflow's RESOURCE_DOES_NOT_EXIST: nothing serves MLflow's API
    # at that path (measured: a wrong path answers HTML, MLflow calls it ENDPOINT_NOT_FOUND).
    if error_code(exc) == "ENDPOINT_NOT_FOUND" or (m is not None and m.group(2) == "404"):
        return "wrong-uri", m.group(1) if m else ""
    if "connection refused" in low or "failed to establish a new connection" in low:
        return "refused", "connection refused"
    if "api request to" in low and "failed with" in low:
        # requests/urllib3 failures.  MLflow's own retries are off (tracking.mlflow_env),
        # so a 429 or 5xx answer also surfaces here, as "too many 503 error responses".
        if "timeout" in low or "timed out" in low:
            return "transient", "timed out"
        if "too many" in low and "error responses" in low:
            return "transient", "server error"
        return "transient", "connection failed"
    if "database is locked" in low or type(exc).__name__ == "OperationalError":
        return "transient", "database busy"  # a SQLite store another process is writing
    return "other", msg


def error_code(exc: BaseException) -> str | None:
    """MLflow's ``error_code`` of ``exc`` (RESOURCE_DOES_NOT_EXIST, ...), if it has one."""
    code = getattr(exc, "error_code", None)
    return code if isinstance(code, str) else None


def auth_failed(display_uri: str, reason: str, what: str) -> AuthFailed:
    return AuthFailed(
        f"{display_uri} refused the request ({reason}) while {what}; "
        "check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/"
        "MLFLOW_TRACKING_PASSWORD (or your Databricks auth)"
    )


def unavailable_text(
    display_uri: str, reason: str, attempts: int, elapsed: float, what: str
) -> str:
    return (
        f"cannot reach the MLflow tracking server at {display_uri} "
        f"({reason}, {attempts} attempt{'s' if attempts > 1 else ''} in "
        f"{elapsed:.1f}s) while {what}; check that it is running, or set "
        f"--tracking-uri / MLFLOW_TRACKING_URI ({RETRY_SECONDS_VAR} sets "
        "how long to retry)"
    )


def wrong_uri(display_uri: str, endpoint: str, what: str) -> GitverError:
    """HTTP 404 from the server's API: the URI points at something that is not MLflow."""
    parts = urlsplit(display_uri)
    path = parts.path.rstrip("/") + endpoint if endpoint else (parts.path or "/")
    root = f"{parts.scheme}://{parts.netloc}"
    return GitverError(
        f"{display_uri} answered HTTP 404 for {path} while {what}: there is no MLflow API at "
        f"that path; the tracking URI must be the server's root (e.g. {root}), and the "
        "server MLflow 3 or later",
        EXIT_USAGE,
    )


def mlflow_error(exc: BaseException, what: str, display_uri: str) -> GitverError:
    """An MLflow error no retry helps with, as one line without credentials."""
    text = scrub(str(exc)).replace("\n", " ").strip()
    if len(text) > 300:
        text = text[:297] + "..."
    return GitverError(f"MLflow at {display_uri} failed while {what}: {text}", EXIT_FAILURE)
