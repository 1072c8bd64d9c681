"""`lumen serve`: a local JSON API (FastAPI + uvicorn) over one engine worker. No Qt here."""
