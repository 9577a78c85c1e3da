"""Who gets support and what is allowed: entitlement, the config, imports from the licensing
system, the credential detector, sanitising customer text, bounded reads of input."""
