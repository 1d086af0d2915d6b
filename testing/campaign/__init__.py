"""The world of the fault-and-state campaign (tests/test_campaign.py).

A working clone with our hooks installed for real, a local bare remote
``origin``, a colleague's clone that pushes to it without hooks, and the
session's real ``mlflow server``.  Everything here observes real processes and
real files: the working tree is read byte by byte (never through git's view of
it) so that the campaign can tell whether ``mlflow-gitver id`` saw every byte,
and the models are read back from the server with MLflow's own client.

``world.World`` puts the pieces together: ``shell`` (the clones and every
command run in them), ``tree`` (the bytes on disk and HEAD's tree), ``sequencer``
(ending what git left half-done), ``processes`` (our background flushes) and
``observe`` (what the server, ``status`` and a fresh clone say).  ``names`` holds
what they share.
"""
