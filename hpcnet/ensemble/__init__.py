"""Many annealing chains on MPI ranks into one HDF5 file, and reading that file back.

``tasks`` defines the task table (kinds × sizes × seeds × targets × methods); ``runner``
farms tasks to ranks (``counter`` hands them out) and survives kills through
``journal``; ``layout`` is the HDF5 layout, written collectively; ``results``
and ``stats`` read a finished, interrupted or running ensemble.
"""

from hpcnet.tools.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "EnsembleSettings": ".runner", "run_ensemble": ".runner", "EXIT_INTERRUPTED": ".runner",
    "Task": ".tasks", "task_table": ".tasks",
    "EnsembleResults": ".results",
    "summarize": ".stats", "load_tasks": ".stats",
})
