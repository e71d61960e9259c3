"""Training the surrogates, alone or with DistributedDataParallel (torchvision's reference shape).

One function per stage: :func:`train_one_epoch`, :func:`evaluate`, and
:func:`train`, which splits the dataset 6:2:2 (fixed by a seed), trains with
AdamW on the standardised ν (MSE), evaluates the validation RMSE and R² after
every epoch, keeps the best model, and finally scores it on the test split.
The learning rate follows a schedule (halved on a validation plateau, or one
cycle over all steps); training inputs may be augmented by the exact node
renumbering of :mod:`hpcnet.learn.augment`.
The files of a run directory are listed in :mod:`hpcnet.learn.run_dir`.
With ``labels='material'`` the training and validation splits keep only the
material labels (a_min at or above the dataset's floor); the test split keeps
every label, and the test scores are given on all labels and on the material ones.

The batch size is global: each of P processes takes batch/P samples of every
step, chosen by a :class:`~torch.utils.data.DistributedSampler` (also with
P = 1), so a step sees the same samples whatever P is (ResNet-50's batch norm,
though, sees each process's share). Rank 0 alone writes; every process reads
checkpoints from the run directory, which must be on a file system they share.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.utils.data as tud
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from hpcnet import __version__
from hpcnet.analysis.training_runs import split_scores
from hpcnet.errors import HpcnetError
from hpcnet.learn import augment as aug
from hpcnet.learn import distributed as du
from hpcnet.learn import run_dir as rd
from hpcnet.learn.dataset import LearnDataset
from hpcnet.learn.models import InputSpec, Surrogate, input_spec
from hpcnet.learn.run_dir import SPLIT_FRACTIONS, TrainSettings
from hpcnet.tools.atomic import atomic_open, atomic_path, write_text

log = logging.getLogger("hpcnet")

PROGRESS_EVERY_S = 60.0
#: Training samples the lattice model's input scale is measured on.
SCALE_SAMPLES = 256


# --------------------------------------------------------------------- data
def split_indices(usable: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Split sample indices 6:2:2 into train/val/test, fixed by ``seed``."""
    n = len(usable)
    if n < 5:
        raise HpcnetError(f"{n} usable samples: at least 5 are needed for a 6:2:2 split")
    perm = np.random.default_rng(seed).permutation(np.asarray(usable, dtype=np.int64))
    n_train = round(SPLIT_FRACTIONS[0] * n)
    n_val = round(SPLIT_FRACTIONS[1] * n)
    return {"train": np.sort(perm[:n_train]), "val": np.sort(perm[n_train:n_train + n_val]),
            "test": np.sort(perm[n_train + n_val:])}


class SampleSet(tud.Dataset):
    """Samples of a dataset file as (input (1, S, S), ν, sample index) triples.

    The HDF5 file is opened lazily in each process (DataLoader workers included).
    """

    def __init__(self, path, indices: np.ndarray, labels: np.ndarray, images: bool):
        self.path = str(path)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.float32)
        self.key = "image" if images else "matrix"
        self._data = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        if self._data is None:
            import h5py

            self._data = h5py.File(self.path, "r")["samples"][self.key]
        i = int(self.indices[k])
        x = torch.from_numpy(self._data[i])[None]
        return x, torch.tensor(self.labels[i]), i


# ------------------------------------------------------------------ metrics
def regression_sums(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """[n, Σ(ν̂ − ν)², Σν, Σν²] in float64, to be summed over processes."""
    p, y = pred.double().cpu(), label.double().cpu()
    return torch.stack([torch.tensor(float(len(y)), dtype=torch.float64),
                        ((p - y) ** 2).sum(), y.sum(), (y ** 2).sum()])


def regression_metrics(sums: torch.Tensor) -> dict:
    """RMSE and R² (paper Methods) from summed :func:`regression_sums`."""
    n, sse, sy, syy = (float(v) for v in sums)
    if n == 0:
        return {"n": 0, "rmse": math.nan, "r2": math.nan}
    sst = syy - sy * sy / n
    return {"n": int(n), "rmse": math.sqrt(sse / n), "r2": 1.0 - sse / sst if sst > 0 else math.nan}


# ------------------------------------------------------------------ stages
def train_one_epoch(model, core: Surrogate, loader, optimizer, scaler, env: du.DistEnv,
                    amp_dtype=None, epoch: int = 0, step_scheduler=None,
                    augment_seed: int | None = None) -> float:
    """One pass over this process's share of the training split; returns the global mean loss.

    ``model`` is what runs forward (DDP-wrapped when distributed), ``core`` the
    underlying :class:`Surrogate`. ``step_scheduler`` steps after every batch;
    with ``augment_seed`` the nodes of half the matrices are renumbered
    (:func:`hpcnet.learn.augment.reverse_nodes`). Collective when distributed.
    """
    model.train()
    total = torch.zeros(2, dtype=torch.float64)
    last = time.monotonic()
    for step, (x, y, idx) in enumerate(loader, 1):
        x, y = x.to(env.device, non_blocking=True), y.to(env.device, non_blocking=True)
        if augment_seed is not None:
            x = aug.reverse_nodes(x, idx, augment_seed, epoch)
        with torch.autocast(env.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            out = model(x)
        loss = F.mse_loss(out.float(), core.standardise(y))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if step_scheduler is not None:
            step_scheduler.step()
        total += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        if env.is_main and time.monotonic() - last > PROGRESS_EVERY_S:
            last = time.monotonic()
            log.info("epoch %d: step %d/%d, loss %.4f", epoch, step, len(loader),
                     total[0] / total[1])
    total = du.all_reduce_sum(total, env)
    return float(total[0] / total[1]) if total[1] else math.nan


@torch.no_grad()
def evaluate(core: Surrogate, loader, env: du.DistEnv, amp_dtype=None):
    """Metrics over all processes' shards, and this process's (indices, predictions)."""
    core.eval()
    sums = torch.zeros(4, dtype=torch.float64)
    indices, preds = [], []
    for x, y, idx in loader:
        with torch.autocast(env.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            p = core.predict_nu(x.to(env.device, non_blocking=True)).float().cpu()
        sums += regression_sums(p, y)
        indices.append(idx)
        preds.append(p)
    sums = du.all_reduce_sum(sums, env)
    return (regression_metrics(sums), _concat(indices, np.int64), _concat(preds, np.float32))


def _concat(tensors: list[torch.Tensor], dtype) -> np.ndarray:
    return torch.cat(tensors).numpy() if tensors else np.zeros(0, dtype)


# ------------------------------------------------------------------- files
def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _write_metrics(run_dir: Path, history: list[dict]) -> None:
    write_text(run_dir / rd.METRICS, json.dumps(history, indent=1))
    with atomic_open(run_dir / rd.METRICS_CSV, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def load_checkpoint(path: Path, device="cpu") -> dict:
    """A checkpoint or best-model file written by :func:`train`."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise HpcnetError(f"{path}: cannot read checkpoint: {exc}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != rd.RUN_FORMAT:
        raise HpcnetError(f"{path}: not an hpcnet training checkpoint")
    return ckpt


def _prepare_run_dir(settings: TrainSettings, run_dir: Path, force: bool) -> tuple[str, str]:
    """Rank 0: ('fresh' | 'resume', '') or ('error', message)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt_path = run_dir / rd.CHECKPOINT
        if force:
            for name in rd.ARTEFACTS:
                (run_dir / name).unlink(missing_ok=True)
            return "fresh", ""
        if not ckpt_path.exists():
            if (run_dir / rd.BEST).exists():
                return "error", f"{run_dir} holds a run without checkpoint; pass --force"
            return "fresh", ""
        stored = load_checkpoint(ckpt_path)["settings"]
    except (OSError, HpcnetError) as exc:
        return "error", str(exc)
    diff = settings.differences(stored)
    if diff:
        return "error", (f"{run_dir} holds a run with other settings ({'; '.join(diff)}); "
                         f"pass --force to start over")
    return "resume", ""


# -------------------------------------------------------------------- train
def train(settings: TrainSettings, run_dir, force: bool = False) -> dict:
    """Train (or resume) a surrogate into ``run_dir`` and score it on the test split.

    Collective over the processes of the launch (torchrun/srun); returns the
    test metrics on every process.
    """
    env = du.setup(settings.device)
    try:
        return _train(settings, Path(run_dir), force, env)
    finally:
        du.cleanup(env)


def _train(settings: TrainSettings, run_dir: Path, force: bool, env: du.DistEnv) -> dict:
    action, message = du.broadcast_object(
        _prepare_run_dir(settings, run_dir, force) if env.is_main else None, env)
    if action == "error":
        raise HpcnetError(message)
    with LearnDataset(settings.dataset) as ds:
        spec = input_spec(settings.model, _source_side(ds, settings.model), settings.matrix_size,
                          ds.settings.kind)
        _check_augment(settings, spec)
        split = split_indices(ds.usable(images=spec.uses_images), settings.split_seed)
        labels, distortion, ds_settings = ds.nu.copy(), ds.distortion.copy(), ds.settings
        a_min, material = ds.a_min.copy(), ds.material
        if settings.labels == "material":
            if not np.any(np.isfinite(a_min)):
                raise HpcnetError(f"{settings.dataset} records no a_min (an older dataset): "
                                  f"rebuild it to train on material labels only")
            split["train"], split["val"] = (split[k][material[split[k]]]
                                            for k in ("train", "val"))
        scale_inputs = (torch.from_numpy(np.stack([ds.matrix(i) for i in
                                                   split["train"][:SCALE_SAMPLES]]))[:, None]
                        if spec.on_lattice else None)
    if len(split["train"]) < settings.batch_size:
        raise HpcnetError(f"the training split has {len(split['train'])} samples, fewer than "
                          f"one batch of {settings.batch_size}")
    train_labels = labels[split["train"]]
    domain = {"nu": [float(train_labels.min()), float(train_labels.max())],
              "labels": settings.labels}
    torch.manual_seed(settings.seed)
    core = Surrogate(spec, settings.dropout, float(train_labels.mean()),
                     float(train_labels.std()) or 1.0).to(env.device)
    if scale_inputs is not None:
        core.fit_input_scale(scale_inputs.to(env.device))
    train_set = SampleSet(settings.dataset, split["train"], labels, spec.uses_images)
    train_loader, sampler = make_train_loader(train_set, settings.batch_size, env,
                                              settings.seed, settings.workers)
    optimizer = torch.optim.AdamW(core.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    scheduler = make_scheduler(settings, optimizer, len(train_loader))
    step_scheduler = scheduler if settings.schedule == "one-cycle" else None
    augment_seed = settings.seed if settings.augment == "reverse-nodes" else None
    amp_dtype = _amp_dtype(settings, env)
    scaler = torch.amp.GradScaler(env.device.type, enabled=amp_dtype == torch.float16)
    state = {"epoch": 0, "best_val_rmse": math.inf, "best_epoch": 0, "history": [],
             "train_seconds": 0.0}
    if action == "resume":
        ckpt = load_checkpoint(run_dir / rd.CHECKPOINT, env.device)
        core.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        state = {k: ckpt[k] for k in state}
        log.info("resuming %s after epoch %d", run_dir, state["epoch"])
    if env.is_main:
        _write_launch_files(run_dir, settings, spec, ds_settings, split, env)
    model = core
    if env.distributed:
        model = DistributedDataParallel(
            core, device_ids=[env.device.index] if env.device.type == "cuda" else None)
    val_loader = _eval_loader(settings, split["val"], labels, spec, env)
    log.info("training %s on %d samples (val %d, test %d), %d process(es) on %s, "
             "input %d×%d%s", settings.model, len(split["train"]), len(split["val"]),
             len(split["test"]), env.world_size, env.device, spec.side, spec.side,
             f" (resized from {spec.source_side})" if spec.resized else "")
    for epoch in range(state["epoch"] + 1, settings.epochs + 1):
        start = time.perf_counter()
        sampler.set_epoch(epoch)
        torch.manual_seed(settings.seed + 100_003 * epoch + env.rank)  # dropout stream
        loss = train_one_epoch(model, core, train_loader, optimizer, scaler, env, amp_dtype,
                               epoch, step_scheduler, augment_seed)
        val, _, _ = evaluate(core, val_loader, env, amp_dtype)
        if step_scheduler is None:
            scheduler.step(val["rmse"])
        seconds = time.perf_counter() - start
        state["train_seconds"] += seconds
        state["epoch"] = epoch
        state["history"].append({
            "epoch": epoch, "train_loss": loss,
            "train_rmse": math.sqrt(loss) * float(core.target_std),
            "val_rmse": val["rmse"], "val_r2": val["r2"],
            "lr": optimizer.param_groups[0]["lr"], "seconds": seconds})
        improved = val["rmse"] < state["best_val_rmse"]
        if improved:
            state["best_val_rmse"], state["best_epoch"] = val["rmse"], epoch
        if env.is_main:
            _save_epoch(run_dir, settings, spec, (ds_settings, domain), core, optimizer,
                        scheduler, scaler, state, improved)
        log.info("epoch %d/%d: loss %.4f, val RMSE %.4f, R² %.4f, %.0f s%s", epoch,
                 settings.epochs, loss, val["rmse"], val["r2"], seconds,
                 " (best)" if improved else "")
    du.barrier(env)
    return _test(run_dir, settings, spec, split, (labels, distortion, a_min, material), state,
                 env, amp_dtype)


def _source_side(ds: LearnDataset, model: str) -> int:
    if model == "resnet50-image":
        if not ds.settings.images:
            raise HpcnetError(f"{ds.path} has no images (build it with --images)")
        return ds.settings.render.size
    return ds.matrix_size


def _check_augment(settings: TrainSettings, spec: InputSpec) -> None:
    """Renumbering nodes augments matrices; on the lattice layout only at even sides."""
    if settings.augment == "none":
        return
    if spec.uses_images:
        raise HpcnetError("--augment reverse-nodes renumbers matrices; images have no node "
                          "numbers: use --augment none")
    if spec.on_lattice and spec.side % 2:
        raise HpcnetError(f"--augment reverse-nodes is the half turn only on lattices of even "
                          f"side (this one: L = {spec.side}): use --augment none")


def make_scheduler(settings: TrainSettings, optimizer, steps_per_epoch: int):
    """'plateau': halve the rate after 4 epochs without validation gain (step per epoch);
    'one-cycle': warm up to ``lr`` and anneal over all steps (step per batch)."""
    if settings.schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=settings.lr, total_steps=settings.epochs * steps_per_epoch)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3,
                                                      min_lr=1e-6)


def _amp_dtype(settings: TrainSettings, env: du.DistEnv):
    """Mixed precision on GPUs (bfloat16 where supported, else float16); none on CPU."""
    if not settings.amp or env.device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def make_train_loader(dataset, batch_size: int, env: du.DistEnv, seed: int, workers: int = 0):
    """Loader of this process's batch_size/P share of every global batch, and its sampler.

    The sampler shuffles with ``seed`` + epoch (call ``set_epoch``) and drops the
    tail that does not fill a global batch, so global batch k holds the same
    samples for any number of processes P.
    """
    if batch_size % env.world_size:
        raise HpcnetError(f"batch size {batch_size} is not divisible by the "
                          f"{env.world_size} processes")
    sampler = tud.DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank,
                                     shuffle=True, seed=seed, drop_last=True)
    loader = tud.DataLoader(
        dataset, batch_size=batch_size // env.world_size, sampler=sampler, drop_last=True,
        num_workers=workers, persistent_workers=workers > 0,
        pin_memory=env.device.type == "cuda")
    return loader, sampler


def _eval_loader(settings, indices, labels, spec: InputSpec, env: du.DistEnv):
    """This process's shard (every P-th sample, no padding) of an evaluation split."""
    shard = SampleSet(settings.dataset, indices[env.rank::env.world_size], labels,
                      spec.uses_images)
    return tud.DataLoader(shard, batch_size=max(1, settings.batch_size // env.world_size),
                          num_workers=settings.workers, persistent_workers=settings.workers > 0,
                          pin_memory=env.device.type == "cuda")


def _write_launch_files(run_dir, settings, spec, ds_settings, split, env) -> None:
    info = {"format": rd.RUN_FORMAT, "settings": settings.as_dict(), "input": spec.as_dict(),
            "dataset_settings": ds_settings.as_dict(),
            "launch": {"world_size": env.world_size, "device": str(env.device),
                       "hpcnet": __version__, "torch": torch.__version__}}
    write_text(run_dir / rd.SETTINGS, json.dumps(info, indent=1))
    split_info = {"seed": settings.split_seed, "fractions": SPLIT_FRACTIONS,
                  **{k: v.tolist() for k, v in split.items()}}
    write_text(run_dir / rd.SPLIT, json.dumps(split_info))


def _save_epoch(run_dir, settings, spec, data, core, optimizer, scheduler, scaler,
                state, improved: bool) -> None:
    """``data``: the dataset's settings and the training domain (ν range, labels)."""
    ds_settings, domain = data
    common = {"format": rd.RUN_FORMAT, "settings": settings.as_dict(), "input": spec.as_dict(),
              "dataset_settings": ds_settings.to_json(), "train_domain": domain,
              "model": core.state_dict()}
    if improved:
        _atomic_torch_save({**common, "epoch": state["epoch"],
                            "val": state["history"][-1]}, run_dir / rd.BEST)
    _atomic_torch_save({**common, **state, "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict()},
                       run_dir / rd.CHECKPOINT)
    _write_metrics(run_dir, state["history"])


def _test(run_dir, settings, spec, split, columns, state, env, amp_dtype) -> dict:
    """Score the best model on the test split; rank 0 writes test.json and the predictions.

    ``columns``: per-sample ν, distortion, a_min and material flag of the dataset.
    """
    labels, distortion, a_min, material = columns
    if not (run_dir / rd.BEST).exists():
        raise HpcnetError(f"{run_dir}: no best model (no epoch completed)")
    best = load_checkpoint(run_dir / rd.BEST, env.device)
    core = Surrogate(spec, settings.dropout).to(env.device)
    core.load_state_dict(best["model"])
    metrics, idx, pred = evaluate(core, _eval_loader(settings, split["test"], labels, spec, env),
                                  env, amp_dtype)
    shards = du.gather_objects((idx, pred), env)
    idx = np.concatenate([s[0] for s in shards])
    pred = np.concatenate([s[1] for s in shards])
    order = np.argsort(idx)
    idx, pred = idx[order], pred[order]
    scores = split_scores(pred, labels[idx], distortion[idx], material[idx])
    result = {"model": settings.model, "test_rmse": metrics["rmse"], "test_r2": metrics["r2"],
              "n_test": metrics["n"], "test_material_rmse": scores["material"]["rmse"],
              "test_material_r2": scores["material"]["r2"],
              "n_test_material": scores["material"]["n"], "labels": settings.labels,
              "test_bands": scores["bands"], "best_epoch": best["epoch"],
              "epochs": state["epoch"], "best_val_rmse": state["best_val_rmse"],
              "train_seconds": state["train_seconds"], "world_size": env.world_size,
              "device": str(env.device)}
    if env.is_main:
        lines = [",".join(rd.PREDICTION_COLUMNS)] + [
            f"{i},{float(distortion[i])!r},{float(labels[i])!r},{float(p)!r},{float(a_min[i])!r}"
            for i, p in zip(idx, pred, strict=True)]
        write_text(run_dir / rd.PREDICTIONS, "\n".join(lines) + "\n")
        write_text(run_dir / rd.TEST, json.dumps(result, indent=1))
        log.info("test (best epoch %d): RMSE %.4f, R² %.4f on %d samples (material: RMSE "
                 "%.4f, R² %.4f on %d); training %.0f s", best["epoch"], metrics["rmse"],
                 metrics["r2"], metrics["n"], result["test_material_rmse"],
                 result["test_material_r2"], result["n_test_material"], state["train_seconds"])
    return result

