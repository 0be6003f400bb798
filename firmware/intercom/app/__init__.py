# The application layer: the doorbell state machine, the door policy (code,
# lockout, allow-list) and caller identities. Sans-I/O like the rest of the core.
