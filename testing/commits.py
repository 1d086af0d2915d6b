"""Every way git makes a commit locally, made for real in a repository with our hooks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.hooks import Work, head, new_commits
from testing.repos import git, write


def every_kind_of_commit(w: Work, tmp_path: Path) -> list[str]:
    """Make commits every way git makes one locally; the commits made, in order.

    commit, --amend, merge, a conflicted merge concluded by commit, cherry-pick,
    revert, rebase -i with autosquash, rebase --exec that commits, pull (merge
    and rebase), am.  Editors are `true`, as in a script."""
    root = w.root
    made = [w.commit("a.txt"), ""]
    w.run("commit", "-q", "--amend", "-m", "amended", check=True)
    made[1] = head(root)
    w.run("push", "-q", "origin", "main", check=True)
    # merge: git runs post-merge, not post-commit.
    base = head(root)
    git(root, "checkout", "-q", "-b", "side")
    made.append(w.commit("s1.txt"))
    git(root, "checkout", "-q", "main")
    made.append(w.commit("m1.txt"))
    w.run("merge", "-q", "--no-edit", "side", check=True)
    made.append(head(root))
    # A conflicted merge, concluded by `git commit`.
    git(root, "checkout", "-q", "-b", "c1")
    made.append(w.commit("z.txt", "1\n"))
    git(root, "checkout", "-q", "main")
    made.append(w.commit("z.txt", "2\n"))
    assert w.run("merge", "c1").returncode == 1  # the conflict
    write(root / "z.txt", "3\n")
    git(root, "add", "z.txt")
    w.run("commit", "-q", "--no-edit", check=True)
    made.append(head(root))
    # cherry-pick and revert
    git(root, "checkout", "-q", "-b", "other", base)
    made.append(w.commit("o1.txt"))
    git(root, "checkout", "-q", "main")
    w.run("cherry-pick", made[-1], check=True)
    made.append(head(root))
    w.run("revert", "--no-edit", "HEAD", check=True)
    made.append(head(root))
    # rebase -i --autosquash: the fixup is squashed into its target.
    before = head(root)
    made.append(w.commit("r1.txt"))
    write(root / "r1.txt", "more\n")
    git(root, "add", "r1.txt")
    w.run("commit", "-q", "--fixup", "HEAD", check=True)
    made.append(head(root))
    made.append(w.commit("r2.txt"))
    w.run("rebase", "-q", "-i", "--autosquash", before, check=True)
    made += new_commits(root, before)
    # rebase --exec whose command commits.
    before = git(root, "rev-parse", "HEAD~2").strip()
    exec_cmd = "echo e >> e.txt && git add e.txt && git commit -q -m exec"
    w.run("rebase", "-q", "--exec", exec_cmd, before, check=True)
    made += new_commits(root, before)
    # pull, merging and rebasing, what another clone pushed.
    w.run("push", "-q", "origin", "main", check=True)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(w.remote), str(other)], check=True)
    git(other, "config", "core.hooksPath", "/dev/null")
    for name in ("x1.txt", "x2.txt"):
        write(other / name, "x\n")
        git(other, "add", "-A")
        git(other, "commit", "-q", "-m", name)
        git(other, "push", "-q", "origin", "main")
        made.append(w.commit(f"local-{name}"))
        mode = "--no-rebase" if name == "x1.txt" else "--rebase"
        w.run("pull", "-q", mode, "origin", "main", check=True)
        made.append(head(root))
    # am: git runs post-applypatch.
    for name in ("q1.txt", "q2.txt"):
        write(other / name, "q\n")
        git(other, "add", "-A")
        git(other, "commit", "-q", "-m", name)
    patches = tmp_path / "patches"
    git(other, "format-patch", "-q", "-2", "-o", str(patches))
    before = head(root)
    w.run("am", "-q", *sorted(str(p) for p in patches.iterdir()), check=True)
    made += new_commits(root, before)
    assert len(new_commits(root, before)) == 2
    return list(dict.fromkeys(made))
