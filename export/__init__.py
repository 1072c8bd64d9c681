"""Hugging Face checkpoints -> Lumen's ONNX model folders (needs the `[export]` extra)."""
