"""Paper Fig. 4a-c: the two modes that make ν, and the weights of all modes, for one network.

Drawn from a :class:`~hpcnet.network.Network` (e.g. ``EnsembleResults.network``)
with its :class:`~hpcnet.mechanics.modes.Modes` and :class:`~hpcnet.mechanics.mechanism.Mechanism`.
Weights ``|C_ω|²`` are averaged over the x and y loads as in the paper;
ω⁺ (ω⁻) is the mode of largest weight with ν' > 0 (ν' < 0), labelled with its
ν'_x and ν'_y (= 1/ν'_x)
(:meth:`~hpcnet.mechanics.mechanism.Mechanism.peaks`). Panels a and b draw that mode's
displacement as arrows on the network, panel c the weights against ω.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hpcnet.errors import HpcnetError
from hpcnet.figures import style
from hpcnet.mechanics.mechanism import Mechanism
from hpcnet.mechanics.modes import Modes
from hpcnet.network import Network

#: Figure size in inches (three panels side by side).
FIGSIZE = (13.5, 4.5)
#: The longest arrow, in mean bond lengths.
ARROW_LENGTH = 0.8
BOND_COLOR = "0.75"
PEAK_COLORS = {"+": style.TARGET_COLORS["positive"], "-": style.TARGET_COLORS["negative"]}


def _check(net: Network, modes: Modes, mech: Mechanism) -> None:
    if modes.vectors.shape[0] != net.n_dof:
        raise HpcnetError(f"the modes have {modes.vectors.shape[0]} components but the network "
                          f"has {net.n_dof} degrees of freedom: modes of another network?")
    if len(mech.weights) != modes.k:
        raise HpcnetError(f"the mechanism has {len(mech.weights)} weights for {modes.k} modes: "
                          f"computed on other modes?")


def draw_bonds(ax, net: Network) -> None:
    """The network's bonds as faint grey lines, equal aspect, x/y labels."""
    ax.add_collection(LineCollection(net.positions[net.bonds], colors=BOND_COLOR,
                                     linewidths=0.8, zorder=1))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel(r"$x$")
    ax.set_ylabel(r"$y$")


def _mode_panel(ax, net: Network, modes: Modes, mech: Mechanism, index: int | None,
                letter: str, sign: str) -> None:
    draw_bonds(ax, net)
    name = rf"$\omega^{sign}$"
    if index is None:
        ax.set_title(f"{letter}  {name}: none")
        ax.text(0.5, 0.5, f"no computed mode has ν' {'>' if sign == '+' else '<'} 0",
                transform=ax.transAxes, ha="center", va="center")
        return
    u = modes.vectors[:, index].reshape(-1, 2)
    longest = float(np.linalg.norm(u, axis=1).max())
    scale = longest / (ARROW_LENGTH * float(net.rest_lengths().mean()))
    ax.quiver(net.positions[:, 0], net.positions[:, 1], u[:, 0], u[:, 1],
              color=PEAK_COLORS[sign], angles="xy", scale_units="xy", scale=scale,
              width=0.004, zorder=2)
    ax.set_title(rf"{letter}  {name} = {modes.omega[index]:.3g}, {_nu_prime(mech, index)}")


def _nu_prime(mech: Mechanism, index: int) -> str:
    """The mode's ν'_x and ν'_y, for titles and legends."""
    return (rf"$\nu'_x$ = {mech.x.nu_prime[index]:+.3g}, "
            rf"$\nu'_y$ = {mech.y.nu_prime[index]:+.3g}")


def weights_panel(ax, modes: Modes, mech: Mechanism, title: str) -> None:
    """``|C_ω|²`` against ω as stems, ω⁺ and ω⁻ marked and labelled with their ν'."""
    omega, weights, peaks = modes.omega, mech.weights, mech.peaks()
    ax.stem(omega, weights, linefmt="C0-", markerfmt="C0.", basefmt="none")
    for index, sign in zip(peaks, "+-", strict=True):
        if index is not None:
            ax.plot([omega[index]], [weights[index]], "o", color=PEAK_COLORS[sign], zorder=3,
                    label=rf"$\omega^{sign}$: {_nu_prime(mech, index)}")
    ax.set_xlabel(r"$\omega$")
    ax.set_ylabel(r"$|C_\omega|^2$")
    ax.set_ylim(bottom=0.0)
    ax.set_title(title)
    if any(index is not None for index in peaks):
        ax.legend(loc="upper right")


def mode_panels(net: Network, modes: Modes, mech: Mechanism) -> Figure:
    """Fig. 4a-c of ``net``: ω⁺ and ω⁻ as arrows on the network, and ``|C_ω|²`` against ω.

    A panel whose sign no computed mode has says so instead of a mode.

    Raises
    ------
    HpcnetError
        ``modes`` and ``mech`` do not belong to ``net`` (sizes differ).
    """
    _check(net, modes, mech)
    fig = style.new_figure(*FIGSIZE)
    axes = fig.subplots(1, 3)
    peaks = mech.peaks()
    _mode_panel(axes[0], net, modes, mech, peaks[0], "a", "+")
    _mode_panel(axes[1], net, modes, mech, peaks[1], "b", "-")
    weights_panel(axes[2], modes, mech,
                  rf"c  $\nu$ = {mech.nu:+.3f}, $\bar{{\nu}}'$ = {mech.two_mode:+.3f}")
    return fig


def mode_figure(net: Network, k: int = 20, full: bool | None = None) -> Figure:
    """:func:`mode_panels` with the modes computed here (serial, on ``COMM_SELF``).

    ``full``: the whole spectrum (True), the ``k`` lowest modes from SLEPc
    (False), or the whole spectrum up to
    :data:`~hpcnet.analysis.survey.FULL_MAX_NODES` nodes (None). Raises
    :class:`~hpcnet.errors.FloppyNetworkError` for a floppy network.
    """
    return mode_panels(net, *analysed(net, k, full))


def analysed(net: Network, k: int = 20, full: bool | None = None) -> tuple[Modes, Mechanism]:
    """Modes and mechanism of ``net`` (serial): the whole spectrum when ``full``, or when
    None and the network has at most :data:`~hpcnet.analysis.survey.FULL_MAX_NODES` nodes;
    else the ``k`` lowest modes."""
    from petsc4py import PETSc

    from hpcnet.analysis.survey import FULL_MAX_NODES
    from hpcnet.mechanics.mechanism import analyse

    if full is None:
        full = net.n_nodes <= FULL_MAX_NODES
    return analyse(net, k=k, comm=PETSc.COMM_SELF, full=full)
