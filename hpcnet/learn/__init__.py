"""CNN surrogates of Poisson's ratio (paper Fig. 5): datasets, models, DDP training, prediction.

Everything here but :mod:`hpcnet.learn.dataset`, :mod:`hpcnet.learn.render`,
:mod:`hpcnet.learn.lattice_input` (the lattice layout of D) and
:mod:`hpcnet.learn.run_dir` (the run directory's format and settings) needs torch
and torchvision (``make learn-deps``).
"""
