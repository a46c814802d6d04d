"""Text handling before embedding: tokenizers that report character offsets, and chunking."""

from semkit.text.chunking import chunk_text
from semkit.text.tokens import EstimateTokenizer, HFTokenizer, Tokenizer

__all__ = ["EstimateTokenizer", "HFTokenizer", "Tokenizer", "chunk_text"]
