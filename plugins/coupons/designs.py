"""The built-in coupon designs a pop-up and the portal's coupon card can use."""

from __future__ import annotations

DESIGNS: tuple[dict[str, object], ...] = (
    {
        "id": "classic",
        "name": "Classic",
        "preview": {"background": "#0B3D91", "accent": "#FFFFFF", "pattern": "plain"},
    },
    {
        "id": "gold",
        "name": "Gold Ticket",
        "preview": {"background": "#B8860B", "accent": "#1A1A1A", "pattern": "stripes"},
    },
    {
        "id": "neon",
        "name": "Neon",
        "preview": {"background": "#12002B", "accent": "#39FF14", "pattern": "grid"},
    },
    {
        "id": "emerald",
        "name": "Emerald",
        "preview": {"background": "#046307", "accent": "#F5F5DC", "pattern": "waves"},
    },
    {
        "id": "sunset",
        "name": "Sunset",
        "preview": {"background": "#FF5E3A", "accent": "#FFF3E0", "pattern": "gradient"},
    },
    {
        "id": "midnight",
        "name": "Midnight",
        "preview": {"background": "#101820", "accent": "#FEE715", "pattern": "dots"},
    },
)

DESIGN_IDS = frozenset(str(d["id"]) for d in DESIGNS)
