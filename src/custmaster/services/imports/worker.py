"""The validation stage's records, read and prepared batch by batch, in order.

Reading and mapping the source rows and parsing each record with the domain
(:func:`~custmaster.services.imports.validate.prepare_record`) need no database and are
most of the stage's work. :func:`prepared_batches` does it in this process;
:func:`prepared_batches_in_worker` in one worker process (``spawn``: nothing of this
process - connections, threads, locks - is inherited), which streams the batches back
through a bounded queue while this process plans and commits the previous ones. The
worker is a single producer, so the batches arrive in file order, and it starts at the
job's ``validated_records`` like the in-process reader: resuming, locking and progress
stay with the caller. Memory stays flat (at most ``_AHEAD`` batches in flight). It pays
only when a core is otherwise idle (:func:`spare_core`): the parsing is not shorter
there, it runs beside the planning and the database's work. The match-index entries of
the parsed customers are made here on receipt rather than by the worker, which is the
busier of the two (it is what bounds the stage then).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

from custmaster.services.imports.collector import collector_paused, each_worked
from custmaster.services.imports.reader import read_records
from custmaster.services.imports.sources import ImportFileError
from custmaster.services.imports.store import InvalidField
from custmaster.services.imports.templates import Template, TemplateError
from custmaster.services.imports.validate import PreparedRecord, add_match, prepare_record
from custmaster.services.recording import utcnow

#: Batches the worker may prepare ahead of the one being committed.
_AHEAD = 4
#: Seconds between checks that a silent worker is still alive.
_POLL = 5.0


def prepared_batches(
    files: Mapping[str, Path],
    template: Template,
    entity: str | None,
    start: int,
    size: int,
    *,
    match: bool = True,
    on_invalid: InvalidField = InvalidField.DROP,
) -> Generator[list[PreparedRecord], None, None]:
    """Records ``start`` onwards of the job's files, prepared, ``size`` per batch
    (``match=False``: without their match-index entries, see ``prepare_record``)."""
    batch: list[PreparedRecord] = []
    now = utcnow()
    with read_records(dict(files), template, entity=entity) as stream:
        for seq, record in enumerate(stream):
            if seq < start:
                continue
            batch.append(prepare_record(seq, record, now, match=match, on_invalid=on_invalid))
            if len(batch) == size:
                # handed over without a reference left here: the caller's batch is freed
                # as soon as it drops it (see ``collector.each_worked``)
                full, batch = [batch], []
                yield full.pop()
                now = utcnow()
    if batch:
        yield batch


def _send(out: Any, batch: list[PreparedRecord]) -> None:
    """Put a batch on the queue pickled already (with the collector paused, by the
    caller): the queue's feeder thread then holds bytes, not the batch, which is freed as
    soon as it is sent instead of being walked by the collector's next pass (see
    ``collector.each_worked``)."""
    out.put(("batch", pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)))


def _produce(
    files: dict[str, str],
    template: Template,
    entity: str | None,
    start: int,
    size: int,
    out: Any,  # multiprocessing.Queue
    on_invalid: InvalidField = InvalidField.DROP,
) -> None:
    """The worker's body: every batch, then ``("end", None)``; an error ends it with
    ``("error", (kind, message))`` (exceptions are not all picklable)."""
    # what this process imported stays: keep it out of the collector's full passes
    gc.freeze()
    try:
        paths = {role: Path(path) for role, path in files.items()}
        # the match-index entries are left to the parent (see prepared_batches_in_worker)
        batches = prepared_batches(
            paths, template, entity, start, size, match=False, on_invalid=on_invalid
        )
        for _ in each_worked(batches, lambda batch: _send(out, batch)):
            pass
        out.put(("end", None))
    except (ImportFileError, TemplateError, FileNotFoundError) as exc:
        out.put(("error", ("file", str(exc))))
    except BaseException as exc:  # reported to the parent, which raises
        out.put(("error", (type(exc).__name__, str(exc))))


class WorkerFailed(RuntimeError):
    """The worker process broke off (the job fails as interrupted and can be resumed)."""


def prepared_batches_in_worker(
    files: Mapping[str, Path],
    template: Template,
    entity: str | None,
    start: int,
    size: int,
    *,
    on_invalid: InvalidField = InvalidField.DROP,
) -> Generator[list[PreparedRecord], None, None]:
    """As :func:`prepared_batches`, prepared by a worker process (see the module doc).
    Closing the iterator (or an error in the caller) stops the worker."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue(maxsize=_AHEAD)
    args = ({role: str(path) for role, path in files.items()}, template, entity, start, size, out)
    worker = context.Process(
        target=_produce,
        args=args,
        kwargs={"on_invalid": on_invalid},
        name="custmaster-import-prepare",
    )
    worker.daemon = True
    worker.start()
    heard = False
    try:
        while True:
            try:
                kind, value = _receive(out)
            except queue.Empty:
                if worker.is_alive():
                    continue
                if not heard:  # it never started (e.g. a __main__ without its guard)
                    break
                raise WorkerFailed(f"the record worker exited ({worker.exitcode})") from None
            heard = True
            if kind == "batch":
                # this process makes the match-index entries: the worker (reading, mapping,
                # parsing) is the busier of the two, and this one waits on the database
                for entry in value:
                    add_match(entry)
                handed, value = [value], None
                yield handed.pop()  # (no reference left here, as in prepared_batches)
            elif kind == "end":
                return
            else:
                what, message = value
                if what == "file":
                    raise ImportFileError(message)
                raise WorkerFailed(f"the record worker failed: {what}: {message}")
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        out.close()
        out.cancel_join_thread()
    yield from prepared_batches(files, template, entity, start, size, on_invalid=on_invalid)


def _receive(out: Any) -> tuple[str, Any]:
    """The next message; the cyclic garbage collector paused while it is unpickled (a
    batch is thousands of new objects, none in a cycle: otherwise the allocations set
    off collections over this process's whole heap, most of the unpickling time)."""
    with collector_paused():
        kind, value = out.get(timeout=_POLL)
        if kind == "batch":
            value = pickle.loads(value)  # pickled by the worker (``_send``)
        return kind, value


def can_use_worker() -> bool:
    """A daemonic process (a pool worker) cannot start one."""
    return not multiprocessing.current_process().daemon


def spare_core() -> bool:
    """Whether a CPU core is idle for the worker (the 1-minute load average is below the
    cores less one). The worker moves the parsing off this process but does not shorten
    it: on a machine whose cores are all busy it only adds the hand-over's cost."""
    try:
        return os.getloadavg()[0] < (os.cpu_count() or 1) - 1
    except OSError:  # no load average on this platform
        return False
