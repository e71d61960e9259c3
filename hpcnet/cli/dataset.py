"""``hpcnet dataset``: labelled networks for the CNN surrogates, built across MPI ranks."""

from __future__ import annotations

import time
from pathlib import Path

import click

from hpcnet.cli.common import mpi_world
from hpcnet.cli.options import FILE, force_option
from hpcnet.generators import KINDS
from hpcnet.learn.dataset import NON_MATERIAL  # imports neither h5py nor PETSc
from hpcnet.mechanics.strain import MATERIAL_FLOOR


class RangeType(click.ParamType):
    """'LO:HI' → (LO, HI) floats."""

    name = "LO:HI"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            lo, hi = (float(x) for x in str(value).split(":"))
        except ValueError:
            self.fail(f"'{value}' is not a range LO:HI such as 0.05:0.95", param, ctx)
        if not lo <= hi:
            self.fail(f"'{value}': LO must not exceed HI", param, ctx)
        return lo, hi


class ImagesType(click.ParamType):
    """'none', 'all' or a distortion range 'LO:HI'."""

    name = "none|all|LO:HI"

    def convert(self, value, param, ctx):
        if value in ("none", "all") or isinstance(value, tuple):
            return value
        return RangeType().convert(value, param, ctx)


@click.command("dataset")
@click.option("--kind", type=click.Choice(KINDS), help="Network kind (required unless "
              "--from-anneal).")
@click.option("--size", "-L", type=click.IntRange(min=3),
              help="Linear size L: L×L nodes, matrices of side 2L², 16 L⁴ bytes per sample "
                   "(required unless --from-anneal).")
@click.option("--count", "-n", type=click.IntRange(min=1),
              help="Number of samples (required unless --from-anneal).")
@click.option("--from-anneal", "anneal_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Take the networks from `hpcnet anneal` ensemble files (every finished "
                   "chain, pruned by each of --masks) instead of generating them; repeatable.")
@click.option("--masks", default="best",
              help="With --from-anneal: comma-separated masks taken from each file, "
                   "e.g. best,final,initial.")
@click.option("--distortion", type=RangeType(), default=None,
              help="tri only: r is drawn uniformly from LO:HI (lattice constants; "
                   "r >= 0.5 lets bonds cross)  [default: 0.05:0.95]")
@click.option("--seed", type=click.IntRange(min=0), default=0,
              help="Base seed: sample i depends on (seed, i) only.")
@click.option("--images", type=ImagesType(), default="none",
              help="Render bond images: 'all' samples, or only tri samples whose r lies in "
                   "LO:HI (the paper's image set keeps r <= 0.45, free of crossing bonds).")
@click.option("--image-size", type=click.IntRange(min=16), default=128,
              help="Image width and height in pixels.")
@click.option("--line-width", type=click.FloatRange(min=0.25), default=1.0,
              help="Bond width in image pixels.")
@click.option("--material-floor", type=click.FloatRange(0, 1), default=MATERIAL_FLOOR,
              show_default=True,
              help="A label is a material's when the smaller affine fraction of its two "
                   "responses (a_min) reaches this floor; below it, a near-mechanism.")
@click.option("--non-material", type=click.Choice(NON_MATERIAL), default="flag",
              show_default=True,
              help="'flag': keep non-material labels (a_min is stored with every label); "
                   "'omit': store them with status -2, left out of training.")
@click.option("-o", "--output", type=FILE, required=True,
              help="Dataset file (.h5); written as OUTPUT.part until complete.")
@force_option("Start over: discard an existing OUTPUT or unfinished OUTPUT.part.")
def command(kind, size, count, anneal_files, masks, distortion, seed, images, image_size,
            line_width, material_floor, non_material, output, force):
    """Generate COUNT networks, label them (nu, nu_x, nu_y) and store them for training.

    Each sample holds the dynamical matrix (float32, 2N×2N, node order as
    generated), the network itself (positions, bonds, boundary sets), its
    parameters, its labels with their material check (affine fractions, a_min,
    boundary nu) and, with --images, a rendered image. Run under
    `mpirun -n P`: ranks share the samples and write one parallel HDF5 file.
    The contents depend on the options only, not on P. Rerunning the same
    command after an interruption resumes it. With --from-anneal the samples
    are the annealed networks (each file's original network pruned by each of
    --masks), labelled afresh. PETSc options reach the labelling solver under
    -elastic_.
    """
    comm = mpi_world()  # first: it decides which h5py to import
    from hpcnet.learn.dataset import DatasetSettings, build_dataset
    from hpcnet.learn.render import RenderSettings

    anneal = {}
    if anneal_files:
        kind, size, count, anneal = _anneal_source(anneal_files, masks, kind, size, count,
                                                   distortion, images)
    else:
        distortion = _generator_options(kind, size, count, distortion, images)
    settings = DatasetSettings(
        kind=kind, size=size, count=count, seed=seed, distortion=distortion,
        images=images != "none", image_distortion=images if isinstance(images, tuple) else None,
        render=RenderSettings(size=image_size, line_width=line_width),
        material_floor=material_floor, non_material=non_material, **anneal,
    )
    from hpcnet.tools.petsc_env import petsc_session

    start = time.perf_counter()
    with petsc_session(comm):
        report = build_dataset(settings, output, comm, force=force)
    if comm.rank != 0:
        return
    if report.complete_before:
        click.echo(f"{output}: already complete ({count} samples); nothing to do")
        return
    resumed = f", {report.resumed} done before (resumed)" if report.resumed else ""
    omitted = (f" ({report.omitted} non-material omitted)"
               if settings.non_material == "omit" else "")
    click.echo(f"{output}: {report.labelled} samples labelled{omitted}, {report.floppy} "
               f"floppy (no nu){resumed}, {comm.size} rank(s), "
               f"{time.perf_counter() - start:.1f} s")


def _anneal_source(files, masks, kind, size, count, distortion, images):
    """kind, size, count and settings fields of a dataset drawn from annealing outputs."""
    from hpcnet.learn.dataset import annealed_network, annealed_sources

    if kind is not None or size is not None or count is not None or distortion is not None:
        raise click.UsageError("--from-anneal takes kind, size and count from the files: "
                               "leave out --kind, --size, --count and --distortion")
    if isinstance(images, tuple):
        raise click.UsageError("--images LO:HI does not apply to --from-anneal; use all")
    names = tuple(m.strip() for m in masks.split(",") if m.strip())
    if not names:
        raise click.UsageError("--masks names no mask")
    files = tuple(str(f.resolve()) for f in files)
    sources = annealed_sources(files)
    first = annealed_network(*sources[0], names[0])[0]
    return first.kind, first.size, len(sources) * len(names), {
        "anneal_files": files, "anneal_masks": names}


def _generator_options(kind, size, count, distortion, images):
    """Check the options of generated samples; return the distortion range."""
    missing = [o for o, v in (("--kind", kind), ("--size", size), ("--count", count))
               if v is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or use --from-anneal)")
    if kind != "tri":
        if distortion is not None:
            raise click.UsageError("--distortion applies to --kind tri only")
        if isinstance(images, tuple):
            raise click.UsageError("--images LO:HI selects tri samples by distortion; "
                                   "use --images all for other kinds")
        return None
    return (0.05, 0.95) if distortion is None else distortion
