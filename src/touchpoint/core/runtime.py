"""Process-wide settings for the long-running servers (`serve`, `smtpd`)."""

import gc


def quieten_garbage_collector() -> None:
    """Python's cycle collector stops every thread while it scans. With a thousand chat sockets open,
    a full collection took about 150 ms every ten seconds, which was the desk's p99 latency
    (bench/widget_fanout.py). What startup made lives as long as the process: freeze it out of the
    scans. And collect the young generation every 50,000 allocations instead of 700, which makes the
    full collections rare; memory is still freed by reference counting as it always is."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
