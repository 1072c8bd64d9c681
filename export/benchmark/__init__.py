"""`lumen bench`: our engine against transformers' eager `generate` on the same weights.

random_weights.py builds (and caches) a full-size model with random weights from a config
folder, runner.py times both sides interleaved, probes.py measures the machine and the app,
report.py writes the Markdown table and the JSON.
"""
