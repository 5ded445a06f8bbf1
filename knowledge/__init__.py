"""The article's knowledge: sectioned Markdown (English and Chinese), chunking,
embeddings, a persisted FAISS index, hybrid retrieval and local LLM generation."""
