"""The API's routers, one module per resource; :func:`movierecs.serving.app.create_app` mounts them."""
