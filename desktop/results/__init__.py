"""What the window does with a description: the result view, streaming and translation,
keywords, correction, questions about the picture, and history."""
