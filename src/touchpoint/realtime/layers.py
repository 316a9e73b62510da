"""The channel layer of the embedded mode (one process): Channels' in-memory layer, made cheaper for
a desk with a thousand chat widgets connected (bench/widget_fanout.py):

- its housekeeping (a sweep of every socket's queue and group membership for expired entries) runs
  once a second instead of on every receive; messages expire after a minute, so nobody can tell;
- a group send puts the message on each member's queue directly, without a task per member and a
  deep copy per member: the sockets only read what they are sent (they serialize it to JSON)."""

import asyncio
import time

from channels.exceptions import ChannelFull
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

    async def send(self, channel: str, message: dict) -> None:
        self.require_valid_channel_name(channel)
        self._put(channel, message)

    async def group_send(self, group: str, message: dict) -> None:
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:  # a socket this far behind resumes from the event log when it reconnects
                pass

    def _put(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        try:
            queue.put_nowait((time.time() + self.expiry, message))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None
