"""Deterministic sizing engine: catalogs, memory and speed math, question parser.

Pure: imports nothing from bot/knowledge, nor discord, torch, faiss or llama_cpp."""
