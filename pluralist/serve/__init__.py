"""`pluralist serve`: personalised rewards over HTTP, with durable feedback.

app.py (the ASGI app), routes.py, schemas.py (bodies and their limits), storage.py
(SQLite or PostgreSQL), auth.py (the API key), scoring.py (micro-batched embedding,
rewards, refits). Needs the `serve` extra (fastapi, uvicorn); PostgreSQL the `postgres`
extra. Import from the submodules.
"""
