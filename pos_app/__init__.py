"""Alipay membership-card POS terminal."""

__version__ = "0.2.0"
