"""CNN surrogates of Poisson's ratio (paper Fig. 5): datasets, models, DDP training, prediction.

Everything here but :mod:`hpcnet.learn.dataset` and :mod:`hpcnet.learn.render`
needs torch and torchvision (``make learn-deps``).
"""
