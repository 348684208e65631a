"""plugins/filter/sql_identifier.py (module_utils/security_evidence.quote_identifier): the audit trail's
configured table and column become quoted identifiers, and anything else is refused naming the variable."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.sql_identifier import sql_identifier
from ansible_collections.clickview.runbook.plugins.module_utils.security_evidence import quote_identifier

VAR = "security_incident_audit_table"


@pytest.mark.parametrize("name,quoted", [
    ("audit_log", '"audit_log"'),
    ("audit.events", '"audit"."events"'),
    ("public.audit_log", '"public"."audit_log"'),
    ("_x$1", '"_x$1"'),
    ("AuditLog", '"AuditLog"'),            # taken as written: quoted, so case-sensitive
    ("select", '"select"'),                # a keyword is safe once quoted
    ("a" * 63, '"%s"' % ("a" * 63)),
])
def test_names_are_quoted_part_by_part(name, quoted):
    assert sql_identifier(name, VAR) == quoted
    assert quote_identifier(name, VAR) == quoted


def test_a_column_is_one_part():
    assert sql_identifier("created_at", "security_incident_audit_time_column", qualified=False) == '"created_at"'
    with pytest.raises(AnsibleFilterError, match="security_incident_audit_time_column: 'audit_log.created_at' has 2 dotted parts"):
        sql_identifier("audit_log.created_at", "security_incident_audit_time_column", qualified=False)


@pytest.mark.parametrize("name,why", [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("db.audit.events", "has 3 dotted parts"),
    ("audit_log; DROP TABLE users", "is not a table name or schema.table made of SQL identifiers"),
    ('audit"log', "is not a table name"),
    ('"audit_log"', "is not a table name"),       # already quoted: refused, not unwrapped
    ("audit log", "is not a table name"),
    ("audit-log", "is not a table name"),
    ("1audit", "is not a table name"),
    ("$audit", "is not a table name"),
    ("audit.", "is not a table name"),
    (".audit", "is not a table name"),
    ("audit_lög", "is not a table name"),
    ("audit_log--", "is not a table name"),
    ("a" * 64, "is not a table name"),
    ("audit\nlog", "is not a table name"),
    ("audit_log\n", "is not a table name"),
])
def test_anything_else_is_refused_naming_the_variable(name, why):
    with pytest.raises(AnsibleFilterError) as err:
        sql_identifier(name, VAR)
    assert str(err.value).startswith("sql_identifier: %s: " % VAR) and why in str(err.value)
    with pytest.raises(ValueError, match=VAR):
        quote_identifier(name, VAR)


def test_the_refusal_names_the_offending_part():
    with pytest.raises(ValueError, match="'x y' is not one"):
        quote_identifier("audit.x y", VAR)
