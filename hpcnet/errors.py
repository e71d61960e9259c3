"""Exceptions for mistakes a user can make and fix.

The CLI turns every :class:`HpcnetError` into a one-line message and a
non-zero exit status, without a traceback. Anything else is a bug.
"""


class HpcnetError(Exception):
    """Base class of all user-facing errors."""


class NetworkFormatError(HpcnetError):
    """A network file or array is malformed (bad indices, NaNs, missing sets, ...)."""


class FloppyNetworkError(HpcnetError):
    """The network has zero modes beyond the three rigid-body ones; it has no ν."""

    def __init__(self, extra_zero_modes: int, what: str = "network"):
        self.extra_zero_modes = int(extra_zero_modes)
        super().__init__(
            f"{what} is floppy: its stiffness matrix has {self.extra_zero_modes} zero "
            f"mode(s) beyond the 3 rigid-body modes, so it has no Poisson's ratio"
        )


class SolverError(HpcnetError):
    """A PETSc/SLEPc solve did not converge or returned an inaccurate answer."""
