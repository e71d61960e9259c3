"""The paper's figures, drawn from what hpcnet wrote (ensemble files, training runs, timings).

One module per figure; each has a function that returns a matplotlib
:class:`~matplotlib.figure.Figure` (no pyplot, no global state) and
:func:`hpcnet.figures.style.save` writes it as PNG and PDF. The ``hpcnet plot``
commands (:mod:`hpcnet.cli.plot`) tie the two together.
"""
