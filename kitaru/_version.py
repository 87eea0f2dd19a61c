"""The installed version of the kitaru core."""

__version__ = "0.1.0"
