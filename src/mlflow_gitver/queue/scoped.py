"""A recorded commit under a scoped config (``paths:``, ``apps:``): which apps it
changed, and registering those, each once.

The hooks register only the apps whose scope a commit changed (issue 13): its
content under the app's paths, or the config file, differs from every parent's
(scope.changed: one ``git diff-tree --quiet`` per parent, no MLflow call for an
app left alone).  An app of ``apps:`` without ``paths`` is the whole repository:
every commit changes it.  A record registers its apps in turn; the claim's
state remembers those done, so a retry after one app's failure does not redo
the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlflow_gitver import git, scope
from mlflow_gitver.errors import GitverError, ServerUnavailable

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.queue.records import Record
    from mlflow_gitver.versions import Registered


NO_APP_CHANGED = "no app's paths changed"


def is_scoped(cfg: Config) -> bool:
    return bool(cfg.apps or cfg.paths)


def split_apps(repo: git.Repo, record: Record, cfg: Config) -> tuple[list[Config], list[str]]:
    """The apps ``record``'s commit changed, and the names of those it left alone."""
    apps = cfg.apps or (cfg,)
    parents = scope.parents(repo, record.commit)
    todo: list[Config] = []
    unchanged: list[str] = []
    for app in apps:
        if not app.paths or scope.changed(
            repo, record.commit, parents, app.paths, record.config_path
        ):
            todo.append(app)
        else:
            unchanged.append(app.name)
    return todo, unchanged


class AppsResult:
    """What registering a record's apps did (filled in as they register; not a
    dataclass: the pre-push hook imports this module, see record.py)."""

    def __init__(self, unchanged: list[str] | None = None) -> None:
        self.registered: list[tuple[str, Registered]] = []
        self.unchanged: list[str] = unchanged or []
        self.earlier: list[str] = []  # registered by an earlier attempt
        self.down: str | None = None  # the server could not be reached: the rest was not tried
        self.retry: list[str] = []  # "app: error", worth retrying
        self.never: list[str] = []  # "app: error", can never succeed

    @property
    def done(self) -> tuple[str, ...]:
        return (*self.earlier, *(name for name, _reg in self.registered))

    @property
    def problems(self) -> str:
        return "; ".join([*([self.down] if self.down else []), *self.retry, *self.never])

    def message(self) -> str:
        """``name (id)`` of each version registered, then the apps left alone."""
        parts = [f"{reg.model_name} ({reg.model_id})" for _name, reg in self.registered]
        if self.earlier:
            parts.append("registered before: " + ", ".join(self.earlier))
        if self.unchanged:
            parts.append("unchanged: " + ", ".join(self.unchanged))
        if not self.registered and not self.earlier:
            parts[:0] = [NO_APP_CHANGED]
        return "; ".join(parts)


def register_apps(
    repo: git.Repo,
    record: Record,
    cfg: Config,
    done: Sequence[str],
    register: Callable[[Config], Registered],
    progress: Callable[[tuple[str, ...]], None] | None = None,
) -> AppsResult:
    """Register each app ``record``'s commit changed, except those in ``done``;
    ``progress`` is told the apps done after each registration."""
    from mlflow_gitver.config import ConfigError

    todo, unchanged = split_apps(repo, record, cfg)
    out = AppsResult(unchanged=unchanged)
    for app in todo:
        if app.name in done:
            out.earlier.append(app.name)
            continue
        try:
            out.registered.append((app.name, register(app)))
            if progress is not None:
                progress(out.done)
        except ServerUnavailable as e:
            out.down = f"{app.name}: {e.message}"
            break  # the others would wait out the same retry budget
        except ConfigError as e:
            out.never.append(f"{app.name}: {e.message}")
        except GitverError as e:
            out.retry.append(f"{app.name}: {e.message}")
    return out
