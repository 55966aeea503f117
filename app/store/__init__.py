"""The encrypted local store: SQLCipher database, its key source, schema migrations, queries."""
