"""The job summary: a short Markdown table with the link to the version."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Backslash-escape every ASCII punctuation character: GitHub-flavoured Markdown then shows
# it literally, so a model or branch name cannot add a link, an image, HTML or a column.
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_LINKABLE = re.compile(r"https?://[^\s<>()\\]+\Z")


def escape(text: str) -> str:
    return _PUNCT.sub(r"\\\1", " ".join(text.split()))


def markdown(outputs: Mapping[str, str], title: str | None = None) -> str:
    """The summary of a registration from its outputs (model-id, model-name, ...);
    ``title``: the app's name, when there are several."""
    name = escape(outputs.get("model-name", "") or outputs.get("model-id", ""))
    url = outputs.get("model-url", "")
    model = f"[{name}](<{url}>)" if url and _LINKABLE.match(url) else name
    rows = [
        ("Model", model),
        ("Model ID", escape(outputs.get("model-id", ""))),
        ("Version", escape(outputs.get("version-id", ""))),
        ("Commit", escape(outputs.get("commit", ""))),
        ("Dirty", escape(outputs.get("dirty", ""))),
        ("Experiment", escape(outputs.get("experiment-id", ""))),
    ]
    body = "".join(f"| {k} | {v} |\n" for k, v in rows if v)
    head = "### MLflow version" + (f": {escape(title)}" if title else "")
    return f"{head}\n\n| | |\n| --- | --- |\n{body}"
