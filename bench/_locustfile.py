"""Locust's fastest user class, for bench/http_engine.py (path and token from BENCH_PATH, BENCH_TOKEN)."""

import os

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

PATH = os.environ.get("BENCH_PATH", "/")
HEADERS = {"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"} if os.environ.get("BENCH_TOKEN") else {}


class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def hit(self) -> None:
        self.client.get(PATH, headers=HEADERS)
