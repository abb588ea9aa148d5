"""MGE's benchmarks: one package per subject under bench/, each with a `main()`.

Speed is measured here and never asserted in the unit tests.
"""
