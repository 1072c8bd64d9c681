"""Lumen's inference engine: ONNX Runtime, no Qt, no torch.

The public surface is small: `Captioner` loads a model folder and describes images; the
result types live in `models.results`; every failure is a `models.errors.LumenError`.
"""
