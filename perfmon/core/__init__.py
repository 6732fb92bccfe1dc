"""The model every layer reads: errors and exit codes, redaction, durations, names and numbers, the one
retry helper, the environment (``env``: the only module that reads it), the commit (``vcs``), the
config, thresholds, metrics, samples, the per-test records, results (``Run``) and the typed findings
of the analyses. It imports nothing from the layers above it."""
