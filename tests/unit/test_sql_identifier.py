"""plugins/filter/sql_identifier.py (module_utils/security_evidence.quote_identifier): the audit trail's
configured table and column become quoted identifiers, and anything else is refused naming the variable."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.audit_trail_query import audit_trail_query
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


# ---- audit_trail_query: the evidence window's query with both names checked -----------------------

def test_audit_trail_query_quotes_both_names_and_keeps_the_values_as_parameters():
    query = audit_trail_query("audit.events", "created_at")
    assert query == ('SELECT row_to_json(audit_row) AS row FROM "audit"."events" AS audit_row '
                     'WHERE audit_row."created_at" >= %s::timestamptz AND audit_row."created_at" < %s::timestamptz '
                     'ORDER BY audit_row."created_at" DESC LIMIT %s')
    assert query.count("%s") == 3                      # start, end, limit: never text in the query


@pytest.mark.parametrize("table,column,variable", [
    ("audit_log; DROP TABLE users", "created_at", "security_incident_audit_table"),
    ("audit_log", "created_at DESC; --", "security_incident_audit_time_column"),
    ("audit_log", "audit_log.created_at", "security_incident_audit_time_column"),   # a column is one part
    ("", "created_at", "security_incident_audit_table"),
])
def test_audit_trail_query_refuses_a_bad_name_naming_its_variable(table, column, variable):
    with pytest.raises(AnsibleFilterError) as err:
        audit_trail_query(table, column)
    assert str(err.value).startswith("audit_trail_query: %s: " % variable)


def test_audit_trail_query_names_the_variables_it_is_given():
    with pytest.raises(AnsibleFilterError, match="^audit_trail_query: my_time: "):
        audit_trail_query("audit_log", "bad column", time_variable="my_time")
