"""Poisson's ratio of a network under bond toggles: incremental and full evaluators.

:class:`IncrementalPoisson` keeps one sparse Cholesky factorisation of the
pinned stiffness ``K₀`` of a *base* mask and evaluates any other mask by the
Sherman-Morrison-Woodbury identity: the current mask differs from the base by
the bonds ``D`` (signs ``σ``), ``K = K₀ + U_D C_D U_Dᵀ`` with ``U_D`` the
columns ``b_t`` and ``C_D = diag(σ_t k_t)``, so

    K⁻¹ = K₀⁻¹ − W_D Cap_D⁻¹ W_Dᵀ,   W_D = K₀⁻¹ U_D,   Cap_D = C_D⁻¹ + U_Dᵀ W_D.

Strains are linear functionals ``g_cᵀ x`` of the responses, so a proposal
toggling bonds ``S`` needs only ``K₀⁻¹ b_s`` (one cached solve per bond), a
few gathers and an ``|S| × |S|`` capacitance matrix ``S_cur = C_S⁻¹ +
U_Sᵀ K⁻¹ U_S``. The same matrix decides floppiness: with ``Ŝ = |C_S|^½ S_cur
|C_S|^½`` (for one removal, ``Ŝ = χ_b − 1`` with ``χ_b = k_b b_bᵀ K⁺ b_b``),
the proposed network is rigid exactly when ``Ŝ`` has one clearly negative
eigenvalue per removed bond (Haynsworth inertia); a zero eigenvalue is a new
zero mode, and such a proposal is rejected before anything else is computed.
The affine fraction (the guard of docs/physics.md, "Material response") needs
``‖x_a‖²`` and six fit moments ``Lᵀx_a`` (:meth:`BondSystem.affine_fractions`).
The moments are linear functionals and update like the strains (adjoints
``K₀⁻¹ L``). The norm is taken of the vector itself: the current ``x = x₀ −
W_D z`` is kept (one product per accepted state) and a proposal's ``x' = x −
(K⁻¹U_S) t`` costs one ``2N × |D|`` product and no solve. (The expansion
``‖x‖² − 2tᵀU_SᵀK⁻²x + tᵀU_SᵀK⁻²U_S t`` would avoid even that, but it squares
the cancellation by a soft mode: 4·10⁻⁸ wrong in ``a`` next to a near-floppy
state, where the vector form stays at round-off.)

The base is refactorised once ``|D|`` exceeds ``refactor_every``, and as soon
as ``Cap_D`` becomes ill-conditioned (accuracy would drift). Beyond
exact zero modes, accepted states keep a margin of rigidity (RIGID_MARGIN;
see :class:`IncrementalPoisson`), so that every state passes ElasticSolver.
The margin is decided by the same inertia argument applied to ``K − τI``
(:func:`inertia_verdict`): the cached columns give
``Uᵀ(K₀ − τI)⁻¹U`` up to a bounded remainder, so no solve is needed.

(The factorisation itself and the rigidity threshold live in :mod:`hpcnet.anneal.factor`.)

Every number the evaluator returns is a deterministic function of (base mask,
current mask, proposal): nothing is carried from one accepted move to the
next except the base factorisation, so a chain resumed from (base mask, mask)
reproduces an uninterrupted one bit for bit.

:class:`FullPoisson` is the baseline with the same interface: assemble,
factorise, check rigidity on the factor and solve, for every proposal.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Protocol

import numpy as np
import scipy.linalg as la

from hpcnet.anneal.bondsystem import BondSystem
from hpcnet.anneal.factor import (
    FLOPPY,
    RIGID_MARGIN,
    Evaluation,
    factor_rigid,
    rigid_threshold,
)
from hpcnet.anneal.margin import (
    BASE_LAMBDA_SAFETY,
    FLOPPY_TOL,
    inertia_verdict,
    pencil_shift,
    removal_ratio,
)
from hpcnet.errors import SolverError
from hpcnet.mechanics.rigidity import ZERO_TOL
from hpcnet.mechanics.stiffness import remove_rigid, rigid_modes
from hpcnet.mechanics.strain import affine_fraction

#: Refactorise as soon as the capacitance matrix's LU pivots span more than 1/CAP_PIVOT_TOL.
CAP_PIVOT_TOL = 1e-8


def _gather(system: BondSystem, bonds: np.ndarray, vectors: np.ndarray,
            columns: np.ndarray | None = None) -> np.ndarray:
    """``b_tᵀ v`` for bonds t and columns v of the (2N, k) ``vectors``: (len(bonds), k).

    ``columns`` picks some columns of ``vectors`` (without copying it whole).
    Written as four explicit products so that every entry has the same
    round-off whatever the shapes (the chain's determinism depends on it).
    """
    picked = vectors[system.dofs[bonds]]  # (t, 4, k)
    if columns is not None:
        picked = picked[:, :, columns]
    c = system.coef[bonds][:, :, None]
    return ((picked[:, 0] * c[:, 0] + picked[:, 1] * c[:, 1]) + picked[:, 2] * c[:, 2]) \
        + picked[:, 3] * c[:, 3]


def _pivot_ratio(lu) -> float:
    """Smallest over largest |pivot| of an LU factorisation (a cheap conditioning estimate)."""
    pivots = np.abs(np.diag(lu[0]))
    return float(pivots.min() / pivots.max())


class Evaluator(Protocol):
    """What a chain asks of a ν evaluator: :class:`IncrementalPoisson` or :class:`FullPoisson`.

    ``mask`` is the current state and ``current`` its evaluation; ``evaluate``
    judges a proposal (toggled bond indices) without moving, with its affine
    fractions unless ``affine=False`` (then NaN, and ``with_affine`` fills them in
    for the proposal just evaluated); ``accept`` moves; ``removal_effects`` gives
    (admissible, ν_x, ν_y) of single removals; ``jump`` moves to a state accepted
    before, across any number of bonds.
    """

    mask: np.ndarray
    current: Evaluation
    n_refactor: int

    def evaluate(self, toggles: np.ndarray, affine: bool = True) -> Evaluation: ...

    def with_affine(self, evaluation: Evaluation) -> Evaluation: ...

    def accept(self, toggles: np.ndarray) -> Evaluation: ...

    def removal_effects(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]: ...

    def jump(self, mask: np.ndarray) -> Evaluation: ...

    def destroy(self) -> None: ...


class IncrementalPoisson:
    """ν of a masked network under bond toggles, by low-rank updates of one factorisation.

    Parameters
    ----------
    system : BondSystem
    mask : (M,) bool array
        The starting state. Must be rigid.
    base_mask : (M,) bool array, optional
        Base to factorise (resuming a chain); defaults to ``mask``.
    lambda_bound : float, optional
        Lower bound of the current state's smallest pinned eigenvalue (resuming
        a chain); by default computed.
    refactor_every : int
        Refactorise once the current mask differs from the base in more bonds.
    cache_mb : float
        Memory for cached columns ``K₀⁻¹ b_b``.
    prefix : str
        PETSc options prefix of the factorisation.

    Rigidity: every accepted state is certified rigid with RIGID_MARGIN to
    spare, i.e. its λ_min exceeds the threshold. The evaluator keeps a lower
    bound ℓ of λ_min of the current state; a removal lowers it at most to
    ``(1 − χ) ℓ`` or, sharper, ``(1 − χ) ℓ / (k |K⁻¹b|² ℓ + 1 − χ)`` (secular
    equation of the rank-one update). When that bound does not clear the
    threshold, ℓ of the current state is first raised to what its shifted
    inertia proves (a few small dense eigenvalue problems, no solve; the shift
    is chosen close below λ_min), then the proposal's shifted inertia decides.
    Only where that cannot decide (λ_min within round-off of the shift, or the
    base itself close to the threshold) does Lanczos on the Woodbury inverse
    compute λ_min exactly.
    The verdict is thus always "λ_min > threshold"; the bounds only save work.
    """

    def __init__(self, system: BondSystem, mask: np.ndarray, *, base_mask=None,
                 lambda_bound: float | None = None, refactor_every: int = 64,
                 cache_mb: float = 128.0, prefix: str = "anneal_"):
        self.system = system
        self.refactor_every = int(refactor_every)
        self.n_refactor = 0
        self.n_exact_eigen = 0
        n, R = system.n_dof, self.refactor_every
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_max = max(16, int(cache_mb * 2**20 / (8 * n)))
        self._W = np.zeros((n, R), order="F")  # K₀⁻¹ b_t of the bonds t in D, one slot each
        self._capS = np.zeros((R, R))  # capS[p, q] = b_{t_p}ᵀ K₀⁻¹ b_{t_q} (slots p, q)
        self._gram = np.zeros((R, R))  # gram[p, q] = (K₀⁻¹ b_{t_p})ᵀ K₀⁻¹ b_{t_q}
        self.n_certified = 0
        mask = np.array(mask, dtype=bool)
        base = mask if base_mask is None else np.array(base_mask, dtype=bool)
        self._factor, lam_base = factor_rigid(system, base, prefix)
        self._rebase(base, mask, factorised=True)
        self._base_lower = BASE_LAMBDA_SAFETY * lam_base
        self._set_bound(mask, lambda_bound, lam_base if np.array_equal(base, mask) else None)

    # ----------------------------------------------------------------- state
    def _set_bound(self, mask, given: float | None, exact: float | None) -> None:
        """The λ_min bound of a new current state: given, known exactly, or computed."""
        if given is not None:
            self.lambda_bound, self._bound_fresh = float(given), False
        else:
            self.lambda_bound = self._smallest_eigenvalue(mask) if exact is None else exact
            self._bound_fresh = True

    def _rebase(self, base: np.ndarray, mask: np.ndarray, factorised: bool = False) -> None:
        """Make ``base`` the factorised base and ``mask`` the current state."""
        if not factorised:
            self._factor.refactor(base)
        self.n_refactor += 1
        self.base_mask = base.copy()
        self._base_lower = None  # lower bound of the base's λ_min, computed when first needed
        self._cache.clear()
        self._slot: dict[int, int] = {}
        self._beta0 = None
        self._pending = None
        s = self.system
        self._X0 = self._factor.solve_many(s.loads)  # responses of the base
        self._H0 = self._factor.solve_many(s.strain_functionals)  # adjoints g_c
        self._E0 = s.strain_functionals.T @ self._X0  # E0[c, a] = g_cᵀ x0_a
        self._L0 = s.fit_functionals.T @ self._X0  # fit moments of x0
        all_bonds = np.arange(s.n_bonds)
        self._BX0 = _gather(s, all_bonds, self._X0)  # (M, 2): b_tᵀ x0_a
        self._BH0 = _gather(s, all_bonds, self._H0)
        self._BL0 = _gather(s, all_bonds, self._factor.solve_many(s.fit_functionals))  # (M, 6)
        self._set_mask(mask)

    def _set_mask(self, mask: np.ndarray) -> None:
        """Make ``mask`` (at most ``refactor_every`` bonds from the base) the current state.

        Every quantity is a function of (base, mask) alone: the slots hold the
        same numbers whatever order the bonds of D arrived in.
        """
        s = self.system
        D = np.flatnonzero(mask != self.base_mask)
        if len(D) > self.refactor_every:
            raise ValueError("mask too far from the base; rebase first")
        members = D.tolist()
        staying = set(members)
        slot = {b: q for b, q in self._slot.items() if b in staying}
        arrivals = [b for b in members if b not in slot]
        free = sorted(set(range(self.refactor_every)) - set(slot.values()))
        for b, q in zip(arrivals, free, strict=False):
            slot[b] = q
            self._W[:, q] = self._column(b)
        self._slot = slot
        self.mask = mask.copy()
        self._D = D
        self._order = np.array([slot[b] for b in members], dtype=np.int64)
        self._diag_sum = float(np.dot(mask.astype(np.float64), s.bond_diagonal))
        if arrivals:
            new = np.array([slot[b] for b in arrivals], dtype=np.int64)
            self._capS[self._order[:, None], new[None, :]] = _gather(s, D, self._W[:, new])
            self._capS[new[:, None], self._order[None, :]] = _gather(
                s, np.array(arrivals), self._W, self._order)
        if len(D) == 0:
            self._lu = None
            self._zX = self._zH = np.zeros((0, 2))
            self._zL = np.zeros((0, 6))
            self._E, self._L, self._X = self._E0, self._L0, self._X0
        else:
            sigma_k = np.where(mask[D], 1.0, -1.0) * s.stiffness[D]
            cap = self._capS[self._order[:, None], self._order] + np.diag(1.0 / sigma_k)
            self._lu = la.lu_factor(cap, check_finite=False)
            self._zX = la.lu_solve(self._lu, self._BX0[D], check_finite=False)
            self._zH = la.lu_solve(self._lu, self._BH0[D], check_finite=False)
            self._E = self._E0 - self._BH0[D].T @ self._zX
            self._zL = la.lu_solve(self._lu, self._BL0[D], check_finite=False)
            self._L = self._L0 - self._BL0[D].T @ self._zX
            self._WD = np.asfortranarray(self._W[:, self._order])  # W_D, bonds sorted
            self._X = self._X0 - self._WD @ self._zX
            for q in (slot[b] for b in arrivals):  # one product per pair: order-independent
                self._gram[self._order, q] = self._gram[q, self._order] = \
                    self._WD.T @ self._W[:, q]
        self.current = Evaluation.of_strains(self._E, self._affine(self._X, self._L))

    def _column(self, b: int) -> np.ndarray:
        """``K₀⁻¹ b_b``, cached (least recently used dropped)."""
        w = self._cache.get(b)
        if w is None:
            w = self._factor.solve(self.system.bond_vector(b))
            self._cache[b] = w
            if len(self._cache) > self._cache_max:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(b)
        return w

    def _columns(self, bonds: np.ndarray) -> np.ndarray:
        if len(bonds) == 1:
            return self._column(int(bonds[0]))[:, None]
        return np.column_stack([self._column(b) for b in bonds.tolist()])

    def _smallest_eigenvalue(self, mask: np.ndarray) -> float:
        """Exact λ_min of the pinned stiffness of ``mask`` (Lanczos on the Woodbury inverse)."""
        from scipy.sparse.linalg import LinearOperator, eigsh

        self.n_exact_eigen += 1
        D = np.flatnonzero(mask != self.base_mask)
        W = self._columns(D) if len(D) else None
        lu = None
        if len(D):
            sigma_k = np.where(mask[D], 1.0, -1.0) * self.system.stiffness[D]
            lu = la.lu_factor(np.diag(1.0 / sigma_k) + _gather(self.system, D, W))

        def apply(v):
            y = self._factor.solve(np.ascontiguousarray(v).ravel())
            if lu is None:
                return y
            return y - W @ la.lu_solve(lu, _gather(self.system, D, y[:, None])[:, 0])

        n = self.system.n_dof
        op = LinearOperator((n, n), matvec=apply, dtype=np.float64)
        theta = eigsh(op, k=1, which="LA", v0=np.ones(n), tol=1e-10,
                      return_eigenvectors=False)[0]
        return 1.0 / theta if theta > 0 else 0.0

    # ----------------------------------------------------------- certificate
    def _base_lambda_lower(self) -> float:
        """A lower bound of the base's λ_min (SLEPc on the factor, once per base)."""
        if self._base_lower is None:
            self._base_lower = BASE_LAMBDA_SAFETY * self._factor.smallest_eigenvalue()
        return self._base_lower

    def _refresh_bound(self) -> None:
        """Raise ℓ of the current state to what its shifted inertia proves (at the
        :func:`pencil_shift`), or else to its exact λ_min (Lanczos)."""
        lam0 = self._base_lambda_lower()
        pieces = self._inertia_pieces(self.mask)
        proven = lam0 if pieces is None else self._proven_pencil_shift(pieces, lam0, 0.0)
        if proven > self.lambda_bound:
            self.n_certified += 1
            self.lambda_bound, self._bound_fresh = proven, True
        else:
            self._set_bound(self.mask, None, None)

    def _certified_bound(self, mask: np.ndarray, threshold: float) -> float | None:
        """A lower bound of λ_min(``mask``) above ``threshold`` proven without a solve, 0
        when λ_min ≤ threshold is proven, None when undecided (then Lanczos decides).

        Tries the shift :func:`pencil_shift` (close below λ_min: proven, it becomes the
        state's bound and spares the next removals this test), then ``threshold``
        itself; λ₀ is a lower bound of the base's λ_min. See :func:`inertia_verdict`.
        """
        lam0 = self._base_lambda_lower()
        if not threshold < lam0:
            return None
        pieces = self._inertia_pieces(mask)
        if pieces is None:  # only additions to the base: K ⪰ K₀
            self.n_certified += 1
            return lam0
        proven = self._proven_pencil_shift(pieces, lam0, threshold)
        if proven:
            self.n_certified += 1
            return proven
        verdict = inertia_verdict(*pieces, threshold, lam0)
        if verdict is None:
            return None
        self.n_certified += 1
        return threshold if verdict else 0.0

    @staticmethod
    def _proven_pencil_shift(pieces, lam0: float, floor: float) -> float:
        """The :func:`pencil_shift` if it is positive, lies in [floor, lam0) and
        ``K − shift·I ≻ 0`` is proven there; else 0."""
        shift = pencil_shift(*pieces, lam0)
        proven = 0.0 < shift and floor <= shift < lam0 and inertia_verdict(*pieces, shift, lam0)
        return shift if proven else 0.0

    def _inertia_pieces(self, mask: np.ndarray):
        """``(r, diag(sign) + Ĝ, Ŵ)`` for :func:`inertia_verdict` over the bonds D where
        ``mask`` differs from the base (None when D removes nothing): ``Ĝ = |C|^½ Uᵀ K₀⁻¹ U
        |C|^½`` and ``Ŵ = |C|^½ WᵀW |C|^½`` with ``W = K₀⁻¹ U``, from cached columns."""
        s = self.system
        D = np.flatnonzero(mask != self.base_mask)
        removed = int(np.count_nonzero(~mask[D]))
        if removed == 0:
            return None
        old = np.array([t for t in D.tolist() if t in self._slot], dtype=np.int64)
        new = np.array([t for t in D.tolist() if t not in self._slot], dtype=np.int64)
        slots = np.array([self._slot[t] for t in old.tolist()], dtype=np.int64)
        Wn = self._columns(new) if len(new) else np.zeros((s.n_dof, 0))
        G = np.block([[self._capS[np.ix_(slots, slots)], _gather(s, old, Wn)],
                      [_gather(s, new, self._W, slots), _gather(s, new, Wn)]])
        cross = self._W[:, slots].T @ Wn
        gram = np.block([[self._gram[np.ix_(slots, slots)], cross], [cross.T, Wn.T @ Wn]])
        bonds = np.concatenate([old, new])
        sk = np.sqrt(s.stiffness[bonds])
        scale = sk[:, None] * sk[None, :]
        unshifted = np.diag(np.where(mask[bonds], 1.0, -1.0)) + 0.5 * (G + G.T) * scale
        return removed, unshifted, 0.5 * (gram + gram.T) * scale

    # ------------------------------------------------------------- proposals
    def _toggle_terms(self, S: np.ndarray):
        """``G = U_Sᵀ K⁻¹ U_S``, the current ``U_Sᵀ x_a``, ``U_Sᵀ h_c``, ``U_Sᵀ K⁻¹ L``,
        and ``K⁻¹ U_S`` (the last as a function, computed only when asked)."""
        W = self._columns(S)
        BX, BH, BL = self._BX0[S], self._BH0[S], self._BL0[S]
        if self._lu is None:
            return _gather(self.system, S, W), BX, BH, BL, lambda: W
        both = _gather(self.system, np.concatenate([S, self._D]), W)
        G, P = both[:len(S)], both[len(S):]  # U_Sᵀ W_S and U_Dᵀ W_S
        Y = la.lu_solve(self._lu, P, check_finite=False)
        G = G - P.T @ Y
        BX = BX - P.T @ self._zX
        BH = BH - P.T @ self._zH
        BL = BL - P.T @ self._zL
        return G, BX, BH, BL, lambda: W - self._WD @ Y

    def _affine(self, X: np.ndarray, moments: np.ndarray) -> np.ndarray:
        """Affine fractions (a_x, a_y) of the pinned solutions X with fit moments Lᵀx."""
        return self.system.affine_fractions(np.sum(X * X, axis=0), moments)

    def _proposal_affine(self, BL, t, current_columns) -> np.ndarray:
        """The proposal's affine fractions: ``x' = x − (K⁻¹U_S) t`` (``t = cap⁻¹ U_Sᵀx``)."""
        return self._affine(self._X - current_columns() @ t, self._L - BL.T @ t)

    def _sharper_bound(self, S, k, ratio, current_columns) -> float:
        """λ_min bound after removing one bond, from the secular equation.

        With ``m2 = |K⁻¹ b|²``, ``δ = 1 − χ`` and ℓ the current bound:
        ``λ' ≥ δℓ / (k m2 ℓ + δ)``, never worse than ``δℓ`` and much better
        when ``b`` loads many modes. Multi-bond proposals keep ``δℓ``.
        """
        ell = self.lambda_bound
        if len(S) != 1:
            return ratio * ell
        w = current_columns()[:, 0]
        return ratio * ell / (k[0] * float(w @ w) * ell + ratio)

    def _threshold(self, S: np.ndarray, tau: np.ndarray) -> float:
        """:func:`rigid_threshold` of the proposed mask."""
        s = self.system
        total = self._diag_sum + float(np.dot(tau, s.bond_diagonal[S]))
        return RIGID_MARGIN * ZERO_TOL * (total + s.pin_scale * len(s.pinned)) / s.n_dof

    def evaluate(self, toggles: np.ndarray, affine: bool = True) -> Evaluation:
        """ν of the current mask with the bonds ``toggles`` (distinct indices) flipped,
        and its affine fractions (``affine=False``: NaN, see :meth:`with_affine`)."""
        S = np.asarray(toggles, dtype=np.int64)
        tau = np.where(self.mask[S], -1.0, 1.0)
        k = self.system.stiffness[S]
        G, BX, BH, BL, current_columns = self._toggle_terms(S)
        ratio = removal_ratio(tau, k, G)
        if ratio <= 0.0:
            return FLOPPY
        bound, exact = self.lambda_bound * ratio, False
        if ratio < 1.0:
            threshold = self._threshold(S, tau)
            if bound <= threshold:
                bound = self._sharper_bound(S, k, ratio, current_columns)
            if bound <= threshold and not self._bound_fresh:
                self._refresh_bound()
                bound = self._sharper_bound(S, k, ratio, current_columns)
            if bound <= threshold:
                mask = self.mask.copy()
                mask[S] ^= True
                bound = self._certified_bound(mask, threshold)  # λ_min > bound, proven
                if bound is None:  # undecided: exact λ_min by Lanczos
                    bound, exact = self._smallest_eigenvalue(mask), True
                    if not bound > threshold:
                        return FLOPPY
                elif bound == 0.0:
                    return FLOPPY
        if len(S) == 1:
            cap = 1.0 / (tau[0] * k[0]) + G[0, 0]
            t = BX / cap
            E = self._E - np.outer(BH[0], BX[0]) / cap
        else:
            t = np.linalg.solve(np.diag(1.0 / (tau * k)) + G, BX)
            E = self._E - BH.T @ t
        self._pending = (S.tobytes(), bound, exact,
                         lambda: self._proposal_affine(BL, t, current_columns))
        return Evaluation.of_strains(E, self._pending[3]() if affine else np.full(2, np.nan))

    def with_affine(self, evaluation: Evaluation) -> Evaluation:
        """``evaluation`` (of the proposal just evaluated) with its affine fractions."""
        if not np.isnan(evaluation.affine_x):
            return evaluation
        a_x, a_y = self._pending[3]()
        return replace(evaluation, affine_x=float(a_x), affine_y=float(a_y))

    def jump(self, mask: np.ndarray) -> Evaluation:
        """Move to ``mask``, a state accepted before (so rigid), by factorising it afresh.

        For a return across many bonds, where one low-rank update of that rank
        would be costly and ill-conditioned.
        """
        mask = np.array(mask, dtype=bool)
        self._rebase(mask, mask)
        self._set_bound(mask, None, None)
        return self.current

    def accept(self, toggles: np.ndarray) -> Evaluation:
        """Flip ``toggles`` (just evaluated, not floppy); returns the new state's evaluation."""
        S = np.asarray(toggles, dtype=np.int64)
        if self._pending is None or self._pending[0] != S.tobytes():
            if self.evaluate(S).floppy:
                raise SolverError("accept() of a proposal that makes the network floppy")
        _, bound, exact, _ = self._pending
        mask = self.mask.copy()
        mask[S] ^= True
        if np.count_nonzero(mask != self.base_mask) > self.refactor_every:
            self._rebase(mask, mask)
        else:
            self._set_mask(mask)
            if self._lu is not None and _pivot_ratio(self._lu) < CAP_PIVOT_TOL:
                self._rebase(mask, mask)  # Woodbury would lose accuracy: start afresh
        self.lambda_bound, self._bound_fresh = bound, exact
        self._pending = None
        return self.current

    # ---------------------------------------------------------------- greedy
    def removal_effects(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """ν_x and ν_y after removing each present bond of ``candidates`` on its own.

        Returns ``(possible, nu_x, nu_y)``; ``possible`` is False where the
        removal creates a zero mode (``χ_b = 1``; ν is then NaN). The margin of
        rigidity is left to :meth:`evaluate` of the chosen bond.
        """
        s = self.system
        C = np.asarray(candidates, dtype=np.int64)
        if self._beta0 is None:  # b_tᵀ K₀⁻¹ b_t for every bond, once per base
            beta = np.empty(s.n_bonds)
            for b in range(s.n_bonds):
                w = self._factor.solve(s.bond_vector(b))
                beta[b] = _gather(s, np.array([b]), w[:, None])[0, 0]
            self._beta0 = beta
        G = self._beta0[C].copy()
        BX, BH = self._BX0[C], self._BH0[C]
        if self._lu is not None:
            Z = _gather(s, C, self._W, self._order)  # (c, m): b_tᵀ K₀⁻¹ b_d
            G -= np.einsum("cm,mc->c", Z, la.lu_solve(self._lu, Z.T, check_finite=False))
            BX = BX - Z @ self._zX
            BH = BH - Z @ self._zH
        k = s.stiffness[C]
        possible = 1.0 - k * G > FLOPPY_TOL
        cap = np.where(possible, -1.0 / k + G, np.nan)
        E = self._E[None] - BH[:, :, None] * BX[:, None, :] / cap[:, None, None]
        return possible, -E[:, 1, 0] / E[:, 0, 0], -E[:, 0, 1] / E[:, 1, 1]

    def destroy(self) -> None:
        self._factor.destroy()
        self._cache.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


class FullPoisson:
    """The baseline: every evaluation assembles, factorises, checks rigidity and solves.

    Same interface as :class:`IncrementalPoisson`. Rigidity is tested on the
    fresh factor as :class:`~hpcnet.mechanics.elastic.ElasticSolver` does (SLEPc, the
    smallest eigenvalue of the pinned matrix), against the same threshold.
    """

    def __init__(self, system: BondSystem, mask: np.ndarray, *, prefix: str = "anneal_"):
        self.system = system
        self.n_refactor = 0
        self.mask = np.array(mask, dtype=bool)
        self.base_mask = self.mask
        self._factor, self.lambda_bound = factor_rigid(system, self.mask, prefix)
        self.current = self._solve(self.mask, factorised=True)
        self._last: tuple[np.ndarray, Evaluation] | None = None

    def _solve(self, mask: np.ndarray, factorised: bool = False) -> Evaluation:
        from petsc4py import PETSc

        self.n_refactor += 1
        try:
            if not factorised:
                self._factor.refactor(mask)
            if self._factor.smallest_eigenvalue() <= rigid_threshold(self.system, mask):
                return FLOPPY
        except (SolverError, PETSc.Error):
            return FLOPPY
        X = self._factor.solve_many(self.system.loads)
        positions = self.system.net.positions
        R = rigid_modes(positions)
        affine = [affine_fraction(positions, remove_rigid(X[:, a], R)) for a in range(2)]
        return Evaluation.of_strains(self.system.strain_functionals.T @ X, np.array(affine))

    def evaluate(self, toggles: np.ndarray, affine: bool = True) -> Evaluation:
        """ν and (always) the affine fractions of the proposal, by a fresh solve."""
        mask = self.mask.copy()
        mask[np.asarray(toggles, dtype=np.int64)] ^= True
        self._last = (mask, self._solve(mask))
        return self._last[1]

    def with_affine(self, evaluation: Evaluation) -> Evaluation:
        return evaluation

    def accept(self, toggles: np.ndarray) -> Evaluation:
        mask = self.mask.copy()
        mask[np.asarray(toggles, dtype=np.int64)] ^= True
        last = self._last
        self.current = last[1] if last and np.array_equal(last[0], mask) else self._solve(mask)
        self.mask = self.base_mask = mask
        return self.current

    def removal_effects(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """As :meth:`IncrementalPoisson.removal_effects`, one full solve per candidate."""
        out = [self.evaluate([b]) for b in np.asarray(candidates).tolist()]
        return (np.array([not e.floppy for e in out], dtype=bool),
                np.array([e.nu_x for e in out]), np.array([e.nu_y for e in out]))

    def jump(self, mask: np.ndarray) -> Evaluation:
        """Move to ``mask``, a state accepted before, by a fresh solve."""
        self.mask = self.base_mask = np.array(mask, dtype=bool)
        self.current = self._solve(self.mask)
        return self.current

    def destroy(self) -> None:
        self._factor.destroy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
