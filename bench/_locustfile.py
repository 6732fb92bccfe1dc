"""Locust's fastest user class, for bench/http_engine.py."""

from locust import constant
from locust.contrib.fasthttp import FastHttpUser


class Hammer(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        pass

    from locust import task

    @task
    def hit(self) -> None:
        self.client.get("/")
