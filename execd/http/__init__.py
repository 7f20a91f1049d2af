"""HTTP API: the Falcon app (app.py) and its Waitress thread (server.py)."""
