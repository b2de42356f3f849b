"""One runtime per device: ``cpu`` (LLVM MCJIT)."""
