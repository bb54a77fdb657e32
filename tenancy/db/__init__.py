"""PostgreSQL as Uplift uses it: Django's backend plus the scope carried in every statement, and
tenant keys in the schema (`keys`, `schema`, `compiler`)."""
