"""One renderer per target over the same kernel language: LLVM IR and C."""
