"""The dashboard's hero image, drawn once at start.

Chromium ignores "low-entropy" images as LCP candidates (under 0.05 bits per displayed pixel,
i.e. placeholders), so a tiny flat SVG would never be the LCP element and DEMO_LCP_DELAY_MS
would prove nothing. Confetti gives it a realistic ~20 KB at 1200x400.
"""

from __future__ import annotations

import random

__all__ = ["hero_svg"]

_COLOURS = ("#f7d9e3", "#e8c6f0", "#c9d8f5", "#fff6d5", "#b9a3c9", "#8d6ea6", "#f3b6c8", "#ffffff")


def hero_svg(seed: int = 2027) -> bytes:
    rng = random.Random(seed)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="400" viewBox="0 0 1200 400">',
        '<defs><linearGradient id="sky" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f7d9e3"/>'
        '<stop offset="0.5" stop-color="#e8c6f0"/><stop offset="1" stop-color="#c9d8f5"/></linearGradient></defs>',
        '<rect width="1200" height="400" fill="url(#sky)"/>',
        '<path d="M0 330 Q300 250 600 320 T1200 300 V400 H0 Z" fill="#b9a3c9"/>',
        '<path d="M0 360 Q400 300 800 360 T1200 350 V400 H0 Z" fill="#8d6ea6"/>',
    ]
    for _ in range(500):
        parts.append(
            f'<circle cx="{rng.uniform(0, 1200):.1f}" cy="{rng.uniform(0, 330):.1f}" r="{rng.uniform(1.5, 7):.1f}" '
            f'fill="{rng.choice(_COLOURS)}" opacity="{rng.uniform(0.4, 0.95):.2f}"/>'
        )
    parts.append('<text x="60" y="120" font-family="Georgia, serif" font-size="44" fill="#5b3a66">'
                 "Wedding season 2027</text></svg>")
    return "\n".join(parts).encode()
