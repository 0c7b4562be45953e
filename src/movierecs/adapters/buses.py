"""EventBus factory: ``memory://`` (embedded) or ``kafka://host:port[,host:port]`` (aiokafka)."""

from __future__ import annotations

from movierecs.exceptions import UnsupportedUrlError
from movierecs.ports import EventBus
from movierecs.settings import Settings


def make_event_bus(settings: Settings) -> EventBus:
    url = settings.event_bus_url
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        from movierecs.adapters.memory import MemoryEventBus

        return MemoryEventBus()
    if scheme == "kafka":
        from movierecs.adapters.kafka import KafkaEventBus

        return KafkaEventBus(url.removeprefix("kafka://"), settings.kafka_topic, settings.kafka_partitions)
    raise UnsupportedUrlError(f"event bus URL {url!r}: use memory:// or kafka://host:port")
