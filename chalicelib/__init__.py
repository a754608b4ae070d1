"""The shop's Lambda code: shared kernel modules and one package per bounded context."""
