"""The job summary: a Markdown table whose values cannot add links, HTML or columns."""

from __future__ import annotations

import string

import pytest

from mlflow_gitver import ci
from mlflow_gitver.ci.summary import escape, markdown


def test_summary_markdown_escapes() -> None:
    md = ci.summary_markdown(
        {"model-id": "m-1", "model-name": "a|b[x](y)<img>", "model-url": "http://h/#/m-1"}
    )
    assert "[a\\|b\\[x\\]\\(y\\)\\<img\\>](<http://h/#/m-1>)" in md
    assert "| Model ID | m\\-1 |" in md


def test_a_registration_is_one_table() -> None:
    outputs = {
        "model-id": "m-1",
        "model-name": "app",
        "model-url": "http://127.0.0.1:5000/#/experiments/1/models/m-1",
        "version-id": "0123abc",
        "commit": "0123abc",
        "dirty": "false",
        "experiment-id": "1",
    }
    assert markdown(outputs) == (
        "### MLflow version\n\n| | |\n| --- | --- |\n"
        "| Model | [app](<http://127.0.0.1:5000/#/experiments/1/models/m-1>) |\n"
        "| Model ID | m\\-1 |\n| Version | 0123abc |\n| Commit | 0123abc |\n"
        "| Dirty | false |\n| Experiment | 1 |\n"
    )


def test_empty_outputs_give_the_header_alone() -> None:
    assert markdown({}) == "### MLflow version\n\n| | |\n| --- | --- |\n"


def test_rows_without_a_value_are_left_out_and_the_id_names_the_model() -> None:
    md = markdown({"model-id": "m-7", "dirty": ""})
    assert md.splitlines()[4:] == ["| Model | m\\-7 |", "| Model ID | m\\-7 |"]


def test_the_title_names_the_app_escaped() -> None:
    assert markdown({"model-id": "m"}, title="[x](y)").startswith(
        "### MLflow version: \\[x\\]\\(y\\)\n"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",  # not http(s)
        "http://h/a b",  # a space would end the link
        "http://h/x)(y",  # parentheses
        "http://h/x>![i](http://e/i.png)",  # '>' would close <...>
        "http://h/x\\",
        "",
    ],
)
def test_only_a_plain_http_url_becomes_a_link(url: str) -> None:
    md = markdown({"model-id": "m-1", "model-name": "app", "model-url": url})
    assert "| Model | app |" in md
    assert "](" not in md


def test_every_ascii_punctuation_is_escaped() -> None:
    out = escape(string.punctuation)
    assert out == "".join("\\" + c for c in string.punctuation)
    assert escape("a_b") == "a\\_b" and escape("plain123") == "plain123"


def test_whitespace_collapses_so_a_value_stays_on_its_row() -> None:
    assert escape("  a\nb\r\n\tc  ") == "a b c"
    md = markdown({"model-id": "m", "model-name": "x\n| Injected | row |"})
    assert "| Injected |" not in md
    assert md.count("\n") == 6  # header, blank, two table-head lines, two rows
