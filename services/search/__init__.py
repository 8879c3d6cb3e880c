"""Search over a user's books: chunking, embeddings, lexical vectors and the Qdrant index."""
