"""The channel layer of the embedded mode (one process): Channels' in-memory layer, with its
housekeeping done once a second instead of on every receive.

Channels' layer sweeps every socket's queue and every group membership for expired entries each time
any socket receives: with a thousand chat widgets connected, each delivered event cost a pass over all
of them, and the sockets' loop spent most of its time there (bench/widget_fanout.py). Messages expire
after a minute, so sweeping once a second changes nothing anyone can see."""

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryLayer

SWEEP_EVERY_S = 1.0


class InMemoryChannelLayer(ChannelsInMemoryLayer):
    _last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < SWEEP_EVERY_S:
            return
        self._last_sweep = now
        super()._clean_expired()
