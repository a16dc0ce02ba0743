"""Catalogers: one small module per ecosystem, each behind the Cataloger interface."""
