"""A module the zygote tests preload: it says in which process it was
imported, and holds a global the program changes after the template was
made."""

import os

IMPORTED_IN = os.getpid()
VALUE = "as imported"
