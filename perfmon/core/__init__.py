"""The model every layer reads: errors and exit codes, redaction, durations and names, the config
(the only place the environment is read), thresholds, metrics, samples, results and the per-test
records. It imports nothing from the layers above it."""
