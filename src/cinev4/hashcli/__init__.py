"""``cinev4 hash``, GNU ``sha256sum``'s command line on the parallel engine.

Kept apart from :mod:`cinev4.cli` and free of click, so the console script
runs ``cinev4 hash`` without importing click (start-up is a large share of a
small hash run): ``command`` (the run), ``options`` (getopt-style arguments),
``quoting`` (names in diagnostics), ``sources`` (``--files-from``, ``-r``).
"""
