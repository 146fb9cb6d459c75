"""Knowledge base: documents → chunks → embeddings → FAISS index; retrieval for AI replies."""
