"""doctor's checks of the tracking URI: its scheme, the server or store it names, the experiment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from mlflow_gitver.commands.doctor.checks import ERROR, OK, Check
from mlflow_gitver.commands.doctor.sqlite import sqlite_ok
from mlflow_gitver.errors import GitverError

# Schemes MLflow's tracking client takes (and ours: databricks needs its extra).
_SCHEMES = (
    "http",
    "https",
    "databricks",
    "databricks-uc",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
)
# The /health request's timeout: MLflow's own variable when the user set it (a slow
# link), else short: doctor answers quickly about a server that does not.
_HTTP_TIMEOUT_VAR = "MLFLOW_HTTP_REQUEST_TIMEOUT"
_HTTP_TIMEOUT = 5.0


def uri_source(cli: str | None, config_uri: str | None) -> str:
    if cli:
        return "--tracking-uri"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    if config_uri:
        return "the config's tracking_uri"
    return "the default"


def scheme_ok(uri: str, source: str, checks: list[Check]) -> bool:
    from mlflow_gitver.tracking import display

    shown = display(uri)
    scheme, sep, _rest = uri.partition(":")
    scheme = scheme.lower().split("+", 1)[0]  # postgresql+psycopg2 and the like
    if uri == "databricks" or (scheme in _SCHEMES and sep):
        return True
    checks.append(
        Check(
            "tracking URI",
            ERROR,
            f"{shown} (from {source}): unknown scheme {scheme!r}",
            "use http(s)://host:port, databricks, or sqlite:///path.db",
        )
    )
    return False


def store_edge(uri: str, source: str, checks: list[Check]) -> Any:
    """Check the store at ``uri``; an Edge to it when it answers, else None."""
    from mlflow_gitver.tracking import display

    shown = display(uri)
    if uri.startswith("sqlite:"):
        if not sqlite_ok(uri, shown, source, checks):
            return None
    elif uri.startswith(("http://", "https://")):
        if not _health(uri, shown, source, checks):
            return None
    return _client(uri, shown, source, checks)


def _tls_context(uri: str) -> Any:
    """The TLS settings MLflow's client would use (its MLFLOW_TRACKING_* variables)."""
    if not uri.startswith("https://"):
        return None
    import ssl

    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        return ssl._create_unverified_context()  # what the user asked MLflow for, too
    return ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"))


def _health(uri: str, shown: str, source: str, checks: list[Check]) -> bool:
    """GET /health of an MLflow server: it answers before any API call needs auth."""
    import urllib.error
    import urllib.request

    from mlflow_gitver.mlflow_edge import float_env
    from mlflow_gitver.redact import redact_url

    base = redact_url(uri).rstrip("/")
    timeout = float_env(_HTTP_TIMEOUT_VAR, _HTTP_TIMEOUT) or _HTTP_TIMEOUT
    try:
        with urllib.request.urlopen(
            f"{base}/health", timeout=timeout, context=_tls_context(uri)
        ) as r:
            status = int(r.status)
    except urllib.error.HTTPError as e:
        status = int(e.code)
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        checks.append(
            Check(
                "tracking URI",
                ERROR,
                f"{shown} (from {source}): cannot connect ({reason})",
                "start the server, or fix the URI",
            )
        )
        return False
    if status == 404:
        checks.append(
            Check(
                "tracking URI",
                ERROR,
                f"{shown} (from {source}): HTTP 404 for /health: not the root of an MLflow server",
                "use the server's root URL, without a path such as /api",
            )
        )
        return False
    if status >= 500:
        checks.append(
            Check(
                "tracking URI", ERROR, f"{shown}: HTTP {status} for /health", "see the server's log"
            )
        )
        return False
    return True


@contextlib.contextmanager
def _short_retries() -> Iterator[None]:
    """A diagnosis should not wait out the full retry budget (unless the user set one)."""
    from mlflow_gitver.mlflow_failures import RETRY_SECONDS_VAR

    if RETRY_SECONDS_VAR in os.environ:
        yield
        return
    os.environ[RETRY_SECONDS_VAR] = "2"
    try:
        yield
    finally:
        os.environ.pop(RETRY_SECONDS_VAR, None)


def _client(uri: str, shown: str, source: str, checks: list[Check]) -> Any:
    from mlflow_gitver import mlflow_api, tracking

    mlflow_api.quiet()
    try:
        with tracking.mlflow_env(uri), _short_retries():
            edge = mlflow_api.connect(uri)
            mlflow_api.ping(edge)
    except GitverError as e:
        checks.append(Check("tracking URI", ERROR, e.message, "fix the URI or the server"))
        return None
    if not uri.startswith("sqlite:"):
        checks.append(Check("tracking URI", OK, f"{shown} (from {source}) answers"))
    return edge


def experiment(edge: Any, choice: tuple[str, str] | None, checks: list[Check]) -> None:
    from mlflow_gitver import mlflow_api

    try:
        if choice is None or choice[0] == "id":
            eid = "0" if choice is None else choice[1]
            exp = mlflow_api.find_experiment(edge, eid)
            if exp is None:
                checks.append(
                    Check(
                        "experiment",
                        ERROR,
                        f"experiment id {eid} does not exist at {edge.display_uri}",
                        "pass an existing id, or a name (created if missing)",
                    )
                )
                return
        else:
            exp = mlflow_api.experiment_by_name(edge, choice[1])
            if exp is None:
                checks.append(
                    Check(
                        "experiment",
                        OK,
                        f"{choice[1]!r} does not exist yet: the first registration creates it",
                    )
                )
                return
    except GitverError as e:
        checks.append(Check("experiment", ERROR, e.message))
        return
    if getattr(exp, "lifecycle_stage", "active") == "deleted":
        checks.append(
            Check(
                "experiment",
                ERROR,
                f"{exp.name} (id {exp.experiment_id}) is deleted",
                f"mlflow experiments restore --experiment-id {exp.experiment_id}, "
                "or choose another experiment",
            )
        )
        return
    checks.append(Check("experiment", OK, f"{exp.name} (id {exp.experiment_id})"))
