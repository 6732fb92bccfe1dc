"""The HTTP load generator: the engine and its executors (``schedules``), the client and its
transports, worker processes, progress and script loading. It measures; the verdict is the
pipeline's (``perfmon.load`` hands measurements to it)."""
