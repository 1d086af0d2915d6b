"""The hooks' queue: durable records of registrations to do, and the flusher that does them.

``records`` is what one registration holds, ``store`` keeps the files (atomic
writes, locks, claims), ``journal`` finds the commits git made since the hooks
last looked, ``validated`` remembers the configs known valid, ``flusher``
registers records one at a time.  Kept empty: ``hook post-commit`` imports two
of these modules on every commit, and nothing more.
"""
