"""The database side of tenancy beyond row-level security: tenant keys in the schema."""
