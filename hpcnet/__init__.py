"""hpcnet: Poisson's ratio of 2D amorphous spring networks at ensemble scale."""

__version__ = "0.1.0"
