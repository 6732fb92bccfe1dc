"""perfmon's version, in a leaf module so the run model can record it without importing the package root."""

__version__ = "0.1.0"
