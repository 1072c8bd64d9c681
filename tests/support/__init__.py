"""Test helpers: tiny models and tokenizers, fakes, a local hub server, network guard, GUI helpers."""
