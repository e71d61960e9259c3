# hpcnet: `make run` runs the main job on a small default, `make test` the test suite.
# Both install what is missing first (Debian packages when root, the virtual
# environment, the Python packages) and are quick when everything is there.

PY_SYS   := /usr/bin/python3
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
export OPENBLAS_NUM_THREADS := 1

DEBIAN_PACKAGES := python3 python3-venv python3-dev python3-pip openmpi-bin \
	python3-mpi4py python3-petsc4py python3-slepc4py libpetsc-real3.18-dev \
	libslepc-real3.18-dev python3-h5py-mpi python3-scipy python3-matplotlib python3-pil \
	libopenblas0-pthread slurmctld slurmd slurm-client

.PHONY: run test reproduce install system-deps learn-deps bench lint clean

# The main job on a small embedded default: an ensemble of all three kinds, two sizes,
# three seeds and both targets (36 chains) on 2 ranks, then its statistics. Re-running
# resumes (or reports the finished run); `make clean` starts over.
RUN_ENSEMBLE := --kinds tri,delaunay,packing --sizes 8,12 --seeds 0-2 --targets -0.9,0.9

run: install
	mpirun -n 2 $(PY) -m hpcnet anneal $(RUN_ENSEMBLE) -o results/ensemble.h5
	$(PY) -m hpcnet stats results/ensemble.h5 --csv results/ensemble-stats.csv

test: install
	$(PY) -m pytest -q

# The whole study end to end at the `small` scale (about an hour on 2 cores): outputs in
# results/small/, the report in results/REPORT.md; `scripts/reproduce.sh paper` is the paper's scale.
reproduce: install
	scripts/reproduce.sh small

lint: install
	$(VENV)/bin/ruff check hpcnet tests benchmarks

bench: install
	$(PY) benchmarks/bench_poisson.py
	$(PY) benchmarks/bench_modes.py
	$(PY) benchmarks/bench_anneal.py
	$(PY) benchmarks/bench_ensemble.py

install: $(STAMP)

# Re-run when the packaging changes; the stamp makes later calls instant.
$(STAMP): pyproject.toml Makefile
	@$(MAKE) --no-print-directory system-deps
	@mkdir -p results
	test -x $(PY) || $(PY_SYS) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' --no-build-isolation
	@$(MAKE) --no-print-directory learn-deps
	$(PY) -c "import petsc4py, slepc4py, mpi4py, h5py, scipy, click, hpcnet"
	touch $@

# torch + torchvision for `hpcnet dataset/train/predict`, only when `import torch,
# torchvision` fails. PyPI has only CUDA builds of both (about 3 GB with the nvidia-*
# wheels; they run on CPU too); a CPU-only torch does not load PyPI's torchvision, so
# both come from the registry together (--isolated: ignore pip's local configuration),
# with the numpy already installed pinned (the Debian PETSc/h5py extensions need it).
TORCH_PINS := torch==2.15.0 torchvision==0.29.2
learn-deps:
	@if ! $(PY) -c "import torch, torchvision" 2>/dev/null; then \
		echo "installing $(TORCH_PINS) (about 3 GB, 1-2 minutes)"; \
		$(PY) -c 'import numpy; print("numpy==" + numpy.__version__)' > $(VENV)/numpy-pin.txt && \
		$(PY) -m pip install -q --isolated --disable-pip-version-check \
			--cert /etc/ssl/certs/ca-certificates.crt -c $(VENV)/numpy-pin.txt $(TORCH_PINS) && \
		$(PY) -c "import numpy, petsc4py, torch, torchvision; print('numpy', numpy.__version__, \
			'torch', torch.__version__, 'torchvision', torchvision.__version__)"; \
	fi

# Debian's MPI/PETSc/SLEPc/parallel-HDF5 stack, installed only when missing.
system-deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends $$missing; \
		else \
			echo "missing Debian packages (run as root or install them): $$missing"; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) results .pytest_cache
