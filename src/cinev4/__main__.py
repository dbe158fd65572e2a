"""``python -m cinev4`` is the same program as the ``cinev4`` command."""
from cinev4._console import main

main()
