"""Backends: where collections live (SQLite + FAISS, PostgreSQL + pgvector), behind one contract."""
