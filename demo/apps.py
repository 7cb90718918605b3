from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: the essay, demo people and groups, and their annotations (`seed_demo`).
    It sits above every other app, since it needs all of them."""

    name = "demo"
