"""Poisson's ratio from normal modes: weights, ν', two-mode estimate (docs/physics.md, Fig. 4).

Pure numpy on the arrays of :class:`~hpcnet.mechanics.modes.Modes` and the elastic
responses, except :func:`analyse`, which computes both for a network.

For a load along ``a`` with response ``u`` (minimum norm, orthogonal to the
rigid modes) the deformation ``δr = u/|u|`` has coefficient ``C_i = φ_iᵀ δr``
on mode i and weight ``|C_i|²``; the weights of all non-rigid modes sum to 1.
A mode's effective Poisson's ratio treats ``φ_i`` as a displacement field.
The strain is linear in the field, so with ``ε_i = ε(φ_i)``
``ν_x = −Σ_i C_i ε_i,yy / Σ_i C_i ε_i,xx`` exactly over all modes; the sums
cut at the n lowest modes give the truncated decomposition. Cut instead to
the two modes of largest loaded-strain contribution ``|C_i ε_i,aa|`` they give
the exact two-mode estimate ν̂₂, which equals ν when those two modes carry the
whole response (docs/physics.md, "Modes").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpcnet.mechanics.modes import Modes
from hpcnet.mechanics.strain import AXES, affine_strain, poisson_of_strain
from hpcnet.network import Network


@dataclass(frozen=True)
class LoadDecomposition:
    """The response to one uniaxial load on the computed modes.

    Attributes
    ----------
    axis : 'x' or 'y'
    nu : float
        ν_axis of the elastic response itself.
    coefficients : (k,) array
        ``C_i = φ_iᵀ δr``.
    weights : (k,) array
        ``|C_i|²``.
    captured : float
        Σ weights: the share of the response the computed modes hold (1 for
        the full spectrum; well below 1 means k is too small).
    nu_prime : (k,) array
        ν'_axis of each mode (±inf where the mode has no strain along the axis).
    top2 : (2,) int array
        Indices of the two modes of largest weight (one if k = 1).
    two_mode : float
        ν̄'_axis: the weight-averaged ν' of those two modes.
    truncated : (k,) array
        ``truncated[n-1]``: ν_axis from the n lowest modes only.
    strain_top2 : (2,) int array
        Indices of the two modes of largest loaded-strain contribution ``|C_i ε_i,aa|``.
    exact_two_mode : float
        ν̂₂_axis: the exact decomposition truncated to those two modes.
    """

    axis: str
    nu: float
    coefficients: np.ndarray
    weights: np.ndarray
    captured: float
    nu_prime: np.ndarray
    top2: np.ndarray
    two_mode: float
    truncated: np.ndarray
    strain_top2: np.ndarray
    exact_two_mode: float


@dataclass(frozen=True)
class Mechanism:
    """Both loads' decompositions and the averaged figures of the paper's Fig. 4d.

    ``strains`` (k, 2, 2) holds the affine strain of each mode.
    """

    x: LoadDecomposition
    y: LoadDecomposition
    strains: np.ndarray

    @property
    def nu(self) -> float:
        """ν = (ν_x + ν_y)/2 of the elastic responses."""
        return 0.5 * (self.x.nu + self.y.nu)

    @property
    def two_mode(self) -> float:
        """ν̄' = (ν̄'_x + ν̄'_y)/2."""
        return 0.5 * (self.x.two_mode + self.y.two_mode)

    @property
    def exact_two_mode(self) -> float:
        """ν̂₂ = (ν̂₂,x + ν̂₂,y)/2."""
        return 0.5 * (self.x.exact_two_mode + self.y.exact_two_mode)

    @property
    def truncated(self) -> float:
        """(ν_x + ν_y)/2 from the truncated decomposition over all computed modes."""
        return 0.5 * (self.x.truncated[-1] + self.y.truncated[-1])

    @property
    def weights(self) -> np.ndarray:
        """|C_i|² averaged over the x and y loads (the paper's Fig. 4c)."""
        return 0.5 * (self.x.weights + self.y.weights)

    def peaks(self) -> tuple[int | None, int | None]:
        """Indices of ω⁺ and ω⁻: the modes of largest mean weight with ν' > 0 and with ν' < 0.

        A mode's ν'_x and ν'_y = 1/ν'_x share their sign. ``None`` for a sign that
        no computed mode has.
        """
        weights, sign = self.weights, np.sign(self.x.nu_prime)
        found = []
        for wanted in (1.0, -1.0):
            candidates = np.flatnonzero(sign == wanted)
            found.append(int(candidates[np.argmax(weights[candidates])])
                         if len(candidates) else None)
        return found[0], found[1]

    def __getitem__(self, axis: str) -> LoadDecomposition:
        return {"x": self.x, "y": self.y}[axis]


def mode_strains(positions: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(k, 2, 2) affine strain of each mode (columns of ``vectors``) as a displacement."""
    return affine_strain(positions, vectors)


def mode_poisson(strains: np.ndarray, axis: str) -> np.ndarray:
    """ν'_axis of each mode from its strain; ±inf where ε_axis,axis = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return poisson_of_strain(strains, axis)


def two_mode_estimate(weights: np.ndarray, nu_prime: np.ndarray) -> tuple[float, np.ndarray]:
    """ν̄' over the two modes of largest weight, and their indices.

    ``ν̄' = Σ_top2 w_i ν'_i`` with ``w_i = |C_i|² / Σ_top2 |C_j|²``.
    """
    top2 = np.argsort(weights, kind="stable")[::-1][:2]
    w = weights[top2] / weights[top2].sum()
    return float(w @ nu_prime[top2]), top2


def exact_two_mode_estimate(coefficients: np.ndarray, strains: np.ndarray,
                            axis: str) -> tuple[float, np.ndarray]:
    """ν̂₂ and the indices of its two modes: those of largest ``|C_i ε_i,aa|``.

    ``ν̂₂,x = −Σ_two C_i ε_i,yy / Σ_two C_i ε_i,xx`` (likewise y): the exact
    decomposition of ν kept to those two modes.
    """
    a = AXES.index(axis)
    b = 1 - a
    along, across = coefficients * strains[:, a, a], coefficients * strains[:, b, b]
    two = np.argsort(np.abs(along), kind="stable")[::-1][:2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-across[two].sum() / along[two].sum()), two


def truncated_poisson(coefficients: np.ndarray, strains: np.ndarray, axis: str) -> np.ndarray:
    """ν_axis rebuilt from the n lowest modes, for n = 1..k (a (k,) array)."""
    a = AXES.index(axis)
    b = 1 - a
    along = np.cumsum(coefficients * strains[:, a, a])
    across = np.cumsum(coefficients * strains[:, b, b])
    with np.errstate(divide="ignore", invalid="ignore"):
        return -across / along


def modes_for_fraction(weights: np.ndarray, fraction: float = 0.9,
                       largest_first: bool = True) -> int | None:
    """How many modes it takes for their weights to add up to ``fraction``.

    Modes are taken largest weight first (the fewest that can do it), or with
    ``largest_first=False`` in the given order (lowest frequency first: the k
    a truncation needs). ``None`` when all the given modes together hold less
    than ``fraction``. Sums are compared with a round-off allowance of 1e-12.
    """
    ordered = np.sort(weights)[::-1] if largest_first else np.asarray(weights)
    cumulative = np.cumsum(ordered)
    reach = fraction - 1e-12
    if cumulative[-1] < reach:
        return None
    return int(np.searchsorted(cumulative, reach) + 1)


def decompose(positions: np.ndarray, modes: Modes, u: np.ndarray, axis: str,
              strains: np.ndarray | None = None) -> LoadDecomposition:
    """Decompose the response ``u`` to the load along ``axis`` on ``modes``.

    ``strains`` (the modes' strains) may be passed to avoid recomputing them.
    """
    if strains is None:
        strains = mode_strains(positions, modes.vectors)
    coefficients = modes.vectors.T @ (u / np.linalg.norm(u))
    weights = coefficients**2
    nu_prime = mode_poisson(strains, axis)
    two_mode, top2 = two_mode_estimate(weights, nu_prime)
    exact_two_mode, strain_top2 = exact_two_mode_estimate(coefficients, strains, axis)
    return LoadDecomposition(
        axis=axis,
        nu=float(poisson_of_strain(affine_strain(positions, u), axis)),
        coefficients=coefficients, weights=weights, captured=float(weights.sum()),
        nu_prime=nu_prime, top2=top2, two_mode=two_mode,
        truncated=truncated_poisson(coefficients, strains, axis),
        strain_top2=strain_top2, exact_two_mode=exact_two_mode,
    )


def mechanism(positions: np.ndarray, modes: Modes, u_x: np.ndarray,
              u_y: np.ndarray) -> Mechanism:
    """Decompositions of the x- and y-load responses on ``modes``."""
    strains = mode_strains(positions, modes.vectors)
    return Mechanism(decompose(positions, modes, u_x, "x", strains),
                     decompose(positions, modes, u_y, "y", strains), strains)


def analyse(net: Network, k: int = 20, comm=None, full: bool = False,
            prefix: str = "modes_") -> tuple[Modes, Mechanism]:
    """Modes of ``net`` and the decomposition of its two load responses.

    ``full`` takes the whole spectrum (:func:`~hpcnet.mechanics.modes.all_modes`),
    otherwise the ``k`` lowest modes from SLEPc. Collective on ``comm``
    (default ``COMM_SELF``, one chain's analysis); raises
    :class:`~hpcnet.errors.FloppyNetworkError` for a floppy network.
    """
    from hpcnet.mechanics.elastic import ElasticSolver
    from hpcnet.mechanics.modes import all_modes, lowest_modes

    with ElasticSolver(net, comm) as solver:
        u_x, u_y = solver.response("x"), solver.response("y")
    modes = all_modes(net, comm) if full else lowest_modes(net, k, comm, prefix)
    return modes, mechanism(net.positions, modes, u_x, u_y)
