# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SCRAM-SHA-256 verifier PostgreSQL stores for a password, computed on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import RotationError
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import scram_sha256_verifier

DOCUMENTATION = r"""
name: scram_sha256
author: ClickView Platform Team
version_added: 0.2.0
short_description: The SCRAM-SHA-256 verifier of a password, as PostgreSQL stores it
description:
  - Returns C(SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>) (RFC 5802, RFC 7677) with a random 16-byte salt,
    as libpq's C(PQencryptPasswordConn) and C(\password) in psql compute it.
  - "PostgreSQL stores a password given in this form as it is (C(ALTER ROLE name PASSWORD 'SCRAM-SHA-256$...')), so the
    server - and its statement log - never sees the password itself."
  - The password is used as given; SASLprep changes only non-ASCII text, so keep generated passwords ASCII.
  - Use it with C(no_log) - a verifier allows an offline guessing attack on the password.
options:
  _input:
    description: The password.
    type: str
    required: true
  iterations:
    description: PBKDF2 iterations (PostgreSQL's C(scram_iterations), 4096 by default).
    type: int
    default: 4096
"""

EXAMPLES = r"""
- name: Set a new password, sending only its verifier
  community.postgresql.postgresql_query:
    query: ALTER ROLE "app_login" PASSWORD %s
    positional_args:
      - "{{ new_password | clickview.runbook.scram_sha256 }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The verifier.
  type: str
"""


def scram_sha256(password, iterations=4096):
    """The SCRAM-SHA-256 verifier of password (see DOCUMENTATION)."""
    try:
        return scram_sha256_verifier(password, iterations=iterations)
    except (RotationError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("scram_sha256: %s" % exc)


class FilterModule:
    """SCRAM verifier."""

    def filters(self):
        return {"scram_sha256": scram_sha256}
