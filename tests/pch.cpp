// The unit that carries the tests' precompiled header (test_pch).
