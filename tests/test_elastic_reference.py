"""ν pinned to the values the solver gave before the fast certificate (issue 16), to 1e-12."""

import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio

# (kind, size, seed, options, ν_x, ν_y), computed with the SLEPc-certified solver.
GENERATED = [
    ("tri", 6, 0, {}, 0.3333333333333329, 0.28855136548174015),
    ("tri", 8, 1, {"distortion": 0.3}, 0.30650637358159377, 0.254347101828458),
    ("tri", 12, 2, {"distortion": 0.3}, 0.24236146760539817, 0.22364290234899079),
    ("tri", 16, 3, {"distortion": 0.9}, -0.1491608346531742, -0.016234465826458627),
    ("tri", 24, 4, {"distortion": 0.5}, -0.11677428296258381, -0.11897340175551863),
    ("tri", 48, 6, {"distortion": 0.3}, 0.23355363837382365, 0.2290622410419544),
    ("delaunay", 8, 0, {}, 0.22692087827784438, 0.2281134053792925),
    ("delaunay", 14, 1, {}, 0.24875829403644079, 0.25204882130686684),
    ("delaunay", 32, 2, {}, 0.2742868638431085, 0.26285210772075296),
    ("packing", 8, 0, {}, 0.5496355169415251, 0.504132753603372),
    ("packing", 10, 2, {}, 0.4078255424303261, 0.6082516290956103),
]

# tri 10 (seed 5, distortion 0.3) with each bond kept where default_rng(seed).random() > 0.08.
PRUNED = [
    (2, 0.20289706537333504, 0.19438687767467724),
    (3, 0.2567224685462839, 0.2184414208324086),
    (4, 0.2701975295317811, 0.30630842605179553),
    (5, 0.4481256401957195, 0.4624743786768991),
    (6, 0.24973888461411098, 0.1952145561644048),
    (11, 0.41761936201716704, 0.13787892391718218),
]


def check(result, nu_x, nu_y):
    assert result.nu_x == pytest.approx(nu_x, abs=1e-12)
    assert result.nu_y == pytest.approx(nu_y, abs=1e-12)
    assert result.nu == pytest.approx(0.5 * (nu_x + nu_y), abs=1e-12)


@pytest.mark.parametrize(("kind", "size", "seed", "options", "nu_x", "nu_y"), GENERATED)
def test_generated_networks_keep_their_nu(kind, size, seed, options, nu_x, nu_y):
    check(poisson_ratio(generate(kind, size, seed, **options)), nu_x, nu_y)


@pytest.mark.parametrize(("seed", "nu_x", "nu_y"), PRUNED)
def test_pruned_networks_keep_their_nu(seed, nu_x, nu_y):
    net = generate("tri", 10, 5, distortion=0.3)
    mask = np.random.default_rng(seed).random(net.n_bonds) > 0.08
    check(poisson_ratio(net.pruned(mask)), nu_x, nu_y)
