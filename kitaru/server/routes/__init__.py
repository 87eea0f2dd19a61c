"""One router per resource group, mounted under /api/v1."""
