"""What a run means: the mode survey, solver and CNN timings, training runs, the report.

``survey`` tests the mode mechanism over an ensemble and along its tuning
paths (paper Fig. 4d); ``paths`` normalises σ² along the paths (Fig. 1j);
``timing`` reads and writes the Fig. 5d timing file; ``training_runs`` reads a
``hpcnet train`` run directory; ``report`` sets the paper's claims beside a
run's numbers.
"""

from hpcnet.tools.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "survey": ".survey", "path_survey": ".survey", "linear_fit": ".survey",
    "sigma_curves": ".paths",
    "load_timing": ".timing", "write_timing": ".timing",
    "TrainingRun": ".training_runs", "load_run": ".training_runs",
})
