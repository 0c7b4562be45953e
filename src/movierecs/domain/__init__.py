"""The pure core: no I/O, no clock, no global RNG. Time and randomness are parameters."""
