"""Django's PostgreSQL backend with tenant keys (see `tenancy.db.keys`). Every `postgres://` URL
in the settings names it (`config/settings/base.py`)."""
