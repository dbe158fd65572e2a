"""The documented import path of the Dask backend (README, "Distributed"): ``from
cinev4.distributed import DaskBackend``. The backend lives beside the local one, in
``cinev4.pipeline.dask_backend``; this module only re-exports it, and is imported
only when a distributed run is asked for (it needs the ``cinev4[dask]`` extra to run one).
"""
from cinev4.pipeline.dask_backend import *  # noqa: F403 - re-exporting is this module's whole job
from cinev4.pipeline.dask_backend import __all__
