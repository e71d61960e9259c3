"""Infrastructure shared by every layer: atomic file writes, logging, MPI and PETSc start-up.

Nothing here knows any physics. ``atomic`` writes files all-or-nothing;
``log`` sets up rank-aware logging; ``mpi`` converts communicators and lets rank
0 act while the others wait; ``petsc_env`` owns PETSc's options database and its
collective start and finish; ``lazy`` lets packages re-export names without
importing heavy dependencies.
"""
