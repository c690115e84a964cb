"""Alipay membership-card POS terminal."""

__version__ = "0.1.0"
