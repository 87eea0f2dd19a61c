"""The durable runtime: execution context, journal replay, leases, log capture, runner."""
