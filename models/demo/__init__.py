"""Demo data and the simulated arrival stream."""
