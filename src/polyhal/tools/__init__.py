"""Applications built on polyhal, kept beside the library rather than in it.

- :mod:`polyhal.tools.cli`: the ``polyhal`` command (``devices``, ``demo``, ``bench``);
- :mod:`polyhal.tools.demo`: 2-D heat diffusion checked against numpy;
- :mod:`polyhal.tools.bench`: the performance figures of ``polyhal bench``, and
  :func:`polyhal.tools.bench.median`, the one timing helper the scripts under
  ``benchmarks/`` share;
- :mod:`polyhal.tools.iree_dump`: lists the dispatches of an IREE dump;
- :mod:`polyhal.tools.iree_dump`: lists the dispatches of an IREE dump
  (``python -m polyhal.tools.iree_dump``);
- ``kernels/``: the demo's and the benchmark's kernels in every format.

Nothing in the library imports this package.
"""
