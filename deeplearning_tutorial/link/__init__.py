"""Backend-specific code, one tree per PyTensor linker."""
