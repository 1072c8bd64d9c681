"""`lumen batch`: describe folders of pictures into JSON Lines or Parquet, resumable (no Qt).

    request = BatchRequest(["photos/"], Path("captions.jsonl"), BatchOptions(model="..."))
    result = run_batch(request, progress=console_progress())

sources.py lists the pictures, journal.py records what is done, describer.py describes one
picture as `lumen describe --json` does, pipeline.py runs them (locally, or on Ray Data with
ray_engine.py), parquet.py writes the Parquet view, progress.py shows how far it is.
"""
