"""deployenv.py: the commit a CI or deploy platform names, from one table."""

from __future__ import annotations

from mlflow_gitver.deployenv import COMMIT_VARIABLES, deployed_commit, disagreeing

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32


def test_each_variable_of_the_table_is_read() -> None:
    for _platform, var in COMMIT_VARIABLES:
        assert deployed_commit({var: SHA}) == (var, SHA)
        assert deployed_commit({var: SHA256.upper() + "\n"}) == (var, SHA256)


def test_the_first_full_hash_in_table_order_wins() -> None:
    first, second = COMMIT_VARIABLES[0][1], COMMIT_VARIABLES[-1][1]
    assert deployed_commit({second: SHA, first: "f" * 40}) == (first, "f" * 40)
    # A value that is no full hash is skipped, not taken.
    assert deployed_commit({first: "HEAD", second: SHA}) == (second, SHA)


def test_nothing_that_names_no_one_commit_counts() -> None:
    for value in ("", "HEAD", SHA[:12], SHA + "0", "g" * 40, SHA[:32] + "-dirty-01234567"):
        assert deployed_commit({"GITHUB_SHA": value}) is None, value
    assert deployed_commit({}) is None
    assert len({v for _p, v in COMMIT_VARIABLES}) == len(COMMIT_VARIABLES)


def test_the_readme_table_is_this_table() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = re.findall(r"^\| ([^|]+?) \| `([A-Z0-9_]+)` \|$", readme, re.M)
    assert tuple(rows) == COMMIT_VARIABLES


def test_variables_that_name_another_commit_are_warned_of() -> None:
    first, second, third = (v for _p, v in COMMIT_VARIABLES[:3])
    env = {first: SHA, second: "f" * 40, third: "F" * 40}
    chosen = deployed_commit(env)
    assert chosen == (first, SHA)
    [warning] = disagreeing(env, chosen)
    assert warning.startswith(f"{second}, {third} name commit ffffffffffff, not {first}'s")
    # The same commit twice, or a value that names none, is no disagreement.
    assert disagreeing({first: SHA, second: SHA.upper(), third: "HEAD"}, (first, SHA)) == []
