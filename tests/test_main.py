from __future__ import annotations

import pytest

from mlflow_gitver.main import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("mlflow-gitver ")


def test_unknown_command_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mlflow-gitver: error: argument COMMAND: invalid command 'frobnicate'")
    assert "(choose from id, check, register," in err


def test_mistyped_command_suggests_the_right_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["regster"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "mlflow-gitver: error: argument COMMAND: invalid command 'regster' "
        "(did you mean 'register'?); see 'mlflow-gitver --help'\n"
    )
