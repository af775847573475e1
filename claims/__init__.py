"""The claim suite: one module per claim family (test_<family>.py), its designs in designs/."""
