"""MGE, the Masterplan Generation Engine v2: plans in, validated code bases out."""

__version__ = "0.1.0"
