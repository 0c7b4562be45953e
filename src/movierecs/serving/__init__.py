"""The recommendation API: create_app(settings) -> FastAPI."""
