"""What a long-running process does once it has loaded the application."""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> None:
    """Move everything loaded so far (modules, URL patterns, settings, models) out of the collector's view.

    Those objects live as long as the process, yet every full collection walked them all again: a few
    milliseconds each time, landing on whichever request happened to allocate the object that tipped
    the collector over. Frozen, the collector only looks at what requests create. (CPython's
    ``gc.freeze``, documented for exactly this start-up case.)
    """
    gc.collect()
    gc.freeze()
