"""``python -m hpcnet`` is the CLI (also under torchrun)."""

from hpcnet.cli import main

main()
