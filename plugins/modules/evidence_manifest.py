#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: evidence_manifest
short_description: Seal an evidence bundle with a SHA-256 manifest, or verify it
version_added: 0.1.0
description:
  - The chain-of-custody step of the runbook's "Evidence Collection". With O(state=present) writes the SHA-256 digest
    of every file of a bundle folder into C(MANIFEST.sha256) (the format of C(sha256sum), so
    C(sha256sum -c MANIFEST.sha256) verifies the bundle without this collection) and into C(manifest.json) with the
    sizes and O(metadata) (incident, window, who collected it).
  - With O(state=verified) recomputes every digest and fails, naming each file, when a file changed, is missing or
    was added since the bundle was sealed.
  - The module never deletes or modifies an evidence file. Sealing a bundle again with the same content changes
    nothing; a bundle whose content changed after it was sealed is refused unless O(force=true).
attributes:
  check_mode:
    support: full
    description: With O(state=present) the digests are computed and returned, nothing is written. O(state=verified) never writes.
  diff_mode:
    support: none
    description: No diff is returned.
options:
  path:
    description:
      - Folder of the evidence bundle, on the host the module runs on. Every regular file below it (symbolic links
        excluded) is part of the bundle.
    type: path
    required: true
  state:
    description:
      - V(present) writes the manifests. V(verified) checks the bundle against C(MANIFEST.sha256).
    type: str
    choices: [present, verified]
    default: present
  metadata:
    description:
      - Data recorded in C(manifest.json) with O(state=present), for example the incident id, the collection window
        and the collector. Must be JSON-serialisable.
    type: dict
    default: {}
  force:
    description:
      - Seal again when C(MANIFEST.sha256) exists with other content. The old manifest is replaced; use only when the
        change to the bundle is known and recorded.
    type: bool
    default: false
notes:
  - C(MANIFEST.sha256) and C(manifest.json) are written read-only (mode 0444) and atomically (temporary file renamed).
  - A manifest proves the bundle is unchanged since it was sealed; store a copy of the manifest's own digest
    (RV(manifest_sha256)) outside the bundle, for example in the incident timeline, so the manifest cannot be replaced
    unnoticed.
seealso:
  - module: clickview.runbook.incident_event
author:
  - ClickView Platform Team (@clickview)
'''

EXAMPLES = r'''
- name: Seal the evidence bundle
  clickview.runbook.evidence_manifest:
    path: /var/lib/clickview-runbook/evidence/INC-20250131-breach-20250131T142000Z
    metadata:
      incident_id: INC-20250131-breach
      window: {start: "2025-01-31T13:20:00Z", end: "2025-01-31T14:20:00Z"}
  register: sealed

- name: Verify it before handing it over
  clickview.runbook.evidence_manifest:
    path: /var/lib/clickview-runbook/evidence/INC-20250131-breach-20250131T142000Z
    state: verified
'''

RETURN = r'''
files:
  description: With O(state=present), each file of the bundle with its digest and size.
  returned: state=present
  type: dict
  sample: {"waf-logs.jsonl": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 4}}
manifest:
  description: Path of C(MANIFEST.sha256).
  returned: success
  type: str
  sample: /var/lib/clickview-runbook/evidence/INC-1/MANIFEST.sha256
manifest_sha256:
  description: SHA-256 of C(MANIFEST.sha256) itself (as it would be, in check mode).
  returned: success
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
verified:
  description: With O(state=verified), whether every file matches the manifest (the task fails otherwise).
  returned: state=verified
  type: bool
  sample: true
checked:
  description: Number of files listed in the manifest.
  returned: state=verified
  type: int
  sample: 6
mismatched:
  description: Files whose content changed since the bundle was sealed.
  returned: state=verified
  type: list
  elements: str
  sample: ["audit-trail.json"]
missing:
  description: Files in the manifest that are gone.
  returned: state=verified
  type: list
  elements: str
  sample: []
unexpected:
  description: Files added to the bundle after it was sealed.
  returned: state=verified
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.clickview.runbook.plugins.module_utils import evidence_manifest as em
from ansible_collections.clickview.runbook.plugins.module_utils.common import fail


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'verified']),
            metadata=dict(type='dict', default={}),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params['state'] == 'present':
            result = em.create(params['path'], metadata=params['metadata'], check_mode=module.check_mode,
                               force=params['force'])
            result['msg'] = '%s: %d files %s' % (result['manifest'], len(result['files']),
                                                 'sealed' if result['changed'] else 'already sealed')
            module.exit_json(**result)
        result = em.verify(params['path'])
    except em.ManifestError as exc:
        fail(module, exc)
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read or write %s: %s' % (params['path'], to_native(exc)))

    if not result['verified']:
        problems = []
        for key, label in (('mismatched', 'changed'), ('missing', 'missing'), ('unexpected', 'not in the manifest')):
            if result[key]:
                problems.append('%s: %s' % (label, ', '.join(result[key])))
        module.fail_json(msg='%s does not verify - %s' % (result['manifest'], '; '.join(problems)), changed=False, **result)
    module.exit_json(changed=False, msg='%s: %d files verified' % (result['manifest'], result['checked']), **result)


if __name__ == '__main__':
    main()
