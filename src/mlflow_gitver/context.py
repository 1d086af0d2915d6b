"""Shared set-up of commands: which repository, which config, which state."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.errors import EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping

    from mlflow_gitver.config import Config
    from mlflow_gitver.gitstate import GitState


def repo_start(repo_arg: str | Path | None) -> tuple[Path, bool]:
    """Where to look for the repository, and whether ``GIT_DIR``/``GIT_WORK_TREE``
    from the environment apply (git's ``keep_repo_env``).

    An explicit ``--repo`` wins over them: a hook inherits them from git, and they
    name the repository git runs the hook for, not the one the user asked about.
    """
    if repo_arg is None:
        return Path.cwd(), True
    return Path(repo_arg).resolve(), False


def open_repo(repo_arg: str | Path | None) -> git.Repo:
    """The repository of ``--repo`` or the current directory (see :func:`repo_start`)."""
    start, keep_repo_env = repo_start(repo_arg)
    return git.discover(start, keep_repo_env=keep_repo_env)


def open_repo_if_any(repo_arg: str | Path | None) -> git.Repo | None:
    """:func:`open_repo`, or None outside a repository when ``--repo`` was not given:
    for commands that need a checkout only for some inputs (``show m-...`` does not).
    An explicit ``--repo`` that is not a repository is still an error."""
    try:
        return open_repo(repo_arg)
    except GitverError:
        if repo_arg is not None:
            raise
        return None


def config_path(repo: git.Repo, config_arg: Path | None) -> Path:
    return config_arg if config_arg is not None else repo.root / CONFIG_NAME


def lookup_config_path(
    repo: git.Repo | None, config_arg: Path | None, app: str | None
) -> Path | None:
    """The config a look-up reads: ``--config``, else the repository's file, or the
    current directory's outside a clone (a deploy bundle may carry one); None when
    there is none, which ``--app`` cannot do without."""
    if config_arg is not None:
        return config_arg
    path = (repo.root if repo is not None else Path.cwd()) / CONFIG_NAME
    if path.exists():
        return path
    if app is not None:
        raise GitverError(
            f"--app {app} needs a config ({path} has none); pass --config", EXIT_USAGE
        )
    return None


def untracked_setting(repo: git.Repo, config_arg: Path | None) -> bool:
    """Only the top-level ``untracked`` key: nothing else in the file is read,
    so an error elsewhere (an unset ``${VAR}``, a typo in ``params``) never
    stops ``id``.

    YAML is imported only when the file's top level may set the key; a file
    that mentions ``untracked`` only in comments or nested keys has the default.
    """
    path = config_path(repo, config_arg)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if config_arg is None:
            return True
        return load_worktree_config(repo, config_arg).untracked  # it says the file is missing
    except OSError:
        return load_worktree_config(repo, config_arg).untracked  # it says why it is unreadable
    if not _may_set(data, b"untracked"):
        return True
    return _untracked_key(data, str(path))


def _may_set(data: bytes, key: bytes) -> bool:
    """Whether the top level of a YAML file may hold ``key``.

    In block style a top-level key starts at column 0, so an occurrence in an
    indented line, or after a ``#`` that starts a comment, cannot be it.  A
    file whose top level is in flow style (``{...}``) or has a document marker
    is left to YAML.
    """
    if key not in data:
        return False
    for line in data.splitlines():
        if line[:1] in (b"{", b"[", b"-", b"%", b"!", b"&", b"?"):
            return True  # flow style, a document marker, a tag: let YAML decide
        if key not in line:
            continue
        code = line
        for i, ch in enumerate(line):
            if ch == 0x23 and (i == 0 or line[i - 1] in b" \t"):  # "#" starting a comment
                code = line[:i]
                break
        if key in code and line[:1] not in (b" ", b"\t"):
            return True
    return False


def _untracked_key(data: bytes, source: str) -> bool:
    """The value of the top-level ``untracked`` key, read by its row of the config
    table; errors about that key only."""
    import yaml

    from mlflow_gitver.config import KEYS, parse_config
    from mlflow_gitver.yamlnodes import Reader

    try:
        root = yaml.compose(data, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        # The file is not YAML: say so the way `check` does (the same parser
        # fails at the same place, before it looks at any value).
        parse_config(data, source, {})
        raise
    if not isinstance(root, yaml.MappingNode):
        return True  # no top-level keys at all: `check` says what is wrong
    reader = Reader(source, {})
    row = KEYS["untracked"]
    found: list[yaml.Node] = []
    value: bool = True
    for knode, vnode in root.value:
        if isinstance(knode, yaml.ScalarNode) and knode.value == row.path:
            if found:
                raise reader.twice(knode, found[0], "duplicate key 'untracked' in the top level")
            found.append(knode)
            value = row.read(reader, vnode, row.path)
    return value


def scoped_apps(
    repo: git.Repo, config_arg: Path | None, app: str | None
) -> tuple[Config, ...] | None:
    """The apps a command acts on: the one ``--app`` names, or every app of a
    config with ``apps:`` or ``paths:``; None when the config scopes nothing and
    no ``--app`` was given (the whole repository, as without apps).

    Without ``--app`` the file is parsed only if its top level may hold one of
    those keys: an unscoped config's other errors never stop ``id``.
    """
    if app is None:
        try:
            data = config_path(repo, config_arg).read_bytes()
        except OSError:
            return None  # untracked_setting() has said what is wrong, if anything
        if not (_may_set(data, b"apps") or _may_set(data, b"paths")):
            return None
    config = load_worktree_config(repo, config_arg)
    if app is None and not (config.apps or config.paths):
        return None
    return select_apps(config, app)


def load_worktree_config(
    repo: git.Repo, config_arg: Path | None, env: Mapping[str, str] | None = None
) -> Config:
    from mlflow_gitver.config import load_config

    return load_config(config_path(repo, config_arg), env)


def load_commit_config(
    repo: git.Repo,
    commit: str,
    config_arg: Path | None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The config as it is in ``commit``, not in the working tree."""
    from mlflow_gitver.config import ConfigError, parse_config

    path = config_path(repo, config_arg).resolve()
    try:
        rel = path.relative_to(repo.root.resolve()).as_posix()
    except ValueError as e:
        raise GitverError(
            f"--config {config_arg} is outside the repository {repo.root}; "
            "with --commit the config is read from the commit"
        ) from e
    data = git.show_blob(repo, commit, rel)
    source = f"{commit[:12]}:{rel}"
    if data is None:
        raise ConfigError(
            f"{source}: no config file in commit {commit[:12]}; commit a {rel} "
            "(mlflow-gitver init writes one)"
        )
    return parse_config(data, source, os.environ if env is None else env)


def app_states(
    repo: git.Repo, commit: str | None, config_arg: Path | None, app: str | None
) -> list[tuple[GitState, Config]]:
    """What ``register`` and ``check`` act on: for each app (the one ``--app`` names,
    or every app), its state and its config.  ``commit``: that commit's (clean, its
    own config file); else the working tree's (warnings printed, naming the app
    when there are several).  An unscoped config is one app: the repository."""
    from mlflow_gitver.gitstate import print_warnings, state_at_commit, state_of

    if commit is not None:
        head = state_at_commit(repo, commit)
        config = load_commit_config(repo, head.commit, config_arg)
    else:
        head = None
        config = load_worktree_config(repo, config_arg)
    apps = select_apps(config, app)
    out = []
    whole: GitState | None = head
    for one in apps:
        if one.paths:
            if head is not None:
                state = state_at_commit(repo, head.commit, one.paths)
            else:
                state = state_of(repo, untracked=one.untracked, scope=one.paths)
        else:
            if whole is None:
                whole = state_of(repo, untracked=one.untracked)
            state = whole
        if head is None or one.paths:
            print_warnings(state, app=one.name if len(apps) > 1 or app else None)
        out.append((state, one))
    return out


def select_apps(config: Config, app: str | None) -> tuple[Config, ...]:
    """The apps of ``config`` that ``--app`` selects (all of them without it)."""
    apps = config.apps or (config,)
    if app is None:
        return apps
    for one in apps:
        if one.name == app:
            return (one,)
    names = ", ".join(a.name for a in apps)
    raise GitverError(
        f"no app named {app!r} in {config.source}; its apps: {names}; pass one of them to --app",
        EXIT_USAGE,
    )


def unscoped(cfg: Config, who: str) -> Config:
    """``cfg``, refused if it scopes versions (``apps:``, ``paths:``): ``who`` (the
    hooks, the Python API, ...) does not handle scoped versions yet."""
    if cfg.apps or cfg.paths:
        key = "apps" if cfg.apps else "paths"
        raise GitverError(
            f"{cfg.source}: {who} cannot handle '{key}:' configs yet; use the id, check "
            f"and register commands (with --app), or remove '{key}'",
            EXIT_USAGE,
        )
    return cfg
