"""The window's work lanes: the caption engine on its serial worker, the question-answering
model, text reading, and the requests and results they exchange. No widgets here."""
