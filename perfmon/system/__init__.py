"""The machine around a run: psutil sampling of the runner, browsers and target (``resources``), the
target's PostgreSQL (``target_db``), host facts, the local target app and the once-per-session
services xdist workers share."""
