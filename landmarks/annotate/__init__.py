"""Guided placement: annotation protocols, the autosaving annotation session and its window."""

from typing import TYPE_CHECKING

import lazy_loader

from .protocol import (
    PROTOCOLS,
    Protocol,
    ProtocolName,
    Step,
    default_protocol,
    get_protocol,
    prompt_for,
)
from .session import (
    KEPT_CLICK,
    AnnotationSession,
    LiveParameters,
    Refiner,
    Review,
    default_refiner,
    stale_temporary_files,
)

# Loaded on first use: they pull in heavy libraries (matplotlib, scipy.io) that the rest of this room does not need.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "window": ["AnnotationWindow", "KEYS", "DEFAULT_MAX_DISPLAY_ROWS"],
    },
)

if TYPE_CHECKING:
    from .window import (
        DEFAULT_MAX_DISPLAY_ROWS,
        KEYS,
        AnnotationWindow,
    )

__all__ = [
    "ProtocolName",
    "Step",
    "Protocol",
    "PROTOCOLS",
    "get_protocol",
    "default_protocol",
    "prompt_for",
    "AnnotationSession",
    "Review",
    "Refiner",
    "LiveParameters",
    "default_refiner",
    "stale_temporary_files",
    "AnnotationWindow",
    "KEYS",
    "KEPT_CLICK",
    "DEFAULT_MAX_DISPLAY_ROWS",
]
