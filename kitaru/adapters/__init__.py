"""Adapters that make other agent frameworks durable inside a Kitaru flow."""
