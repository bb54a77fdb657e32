from django.db.backends.postgresql import base

from tenancy.db.schema import TenantSchemaEditor


class DatabaseOperations(base.DatabaseOperations):
    compiler_module = "tenancy.db.backends.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    """PostgreSQL whose migrations write tenant keys and whose GROUP BY names them whole."""

    SchemaEditorClass = TenantSchemaEditor
    ops_class = DatabaseOperations
