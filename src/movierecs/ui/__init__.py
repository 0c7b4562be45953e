"""Streamlit demo UI: talks to the HTTP API v1 only (URL from ``Settings().api_url``).

``app.py`` is the Streamlit script, ``client.py`` the typed API client, ``launch.run_ui`` starts it.
"""
