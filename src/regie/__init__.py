"""regie: routes policy proposals through a region's consultation structure."""

__version__ = "0.1.0"
