"""TiME Zoo: tiny monolingual encoders distilled from multilingual teachers, evaluated and benchmarked."""

__version__ = "0.1.0"
