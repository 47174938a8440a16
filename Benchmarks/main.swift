// Placeholder while the Benchmarks target is written.
print("Benchmarks: not written yet")
