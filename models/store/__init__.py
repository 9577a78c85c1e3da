"""The store: engine and migrations, tables, the change feed, the search index, where files go."""
