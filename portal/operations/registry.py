"""The registry `/metrics` renders: every process's samples plus the business gauges of this scrape."""

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from portal.core.metrics import multiprocess_directory

from .business_metrics import BusinessCollector


class ThisProcess(Collector):
    """The default registry's samples: what this one process counted (runserver, tests)."""

    def collect(self):
        yield from REGISTRY.collect()


def metrics_registry():
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_directory()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))
    else:
        registry.register(ThisProcess())
    registry.register(BusinessCollector())
    return registry
