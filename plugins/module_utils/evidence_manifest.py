# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SHA-256 manifest of an evidence bundle (chain of custody): write it once, verify it later.

The manifest is ``MANIFEST.sha256`` in the format of ``sha256sum`` (``<hex>  <relative path>``),
so ``sha256sum -c MANIFEST.sha256`` verifies a bundle without this collection, and
``manifest.json`` with the same digests, the sizes and the caller's metadata. Neither manifest
file lists itself. Used by the evidence_manifest module; no Ansible imports, unit-testable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError, atomic_write

MANIFEST = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
CHUNK = 1024 * 1024


class ManifestError(ClickviewError):
    """A manifest that cannot be written or read; the message names the file and the fix."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(root):
    """Relative paths (forward slashes, sorted) of every regular file below root, manifests excluded."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel in (MANIFEST, MANIFEST_JSON) or os.path.islink(full) or not os.path.isfile(full):
                continue
            found.append(rel)
    return sorted(found)


def compute(root):
    """{relative path: {"sha256": hex, "size": bytes}} for the bundle's files."""
    if not os.path.isdir(root):
        raise ManifestError("path: %s is not a folder" % root)
    return dict((rel, {"sha256": sha256_file(os.path.join(root, rel)),
                       "size": os.path.getsize(os.path.join(root, rel))})
                for rel in bundle_files(root))


def render(entries):
    """The MANIFEST.sha256 text (sha256sum format, two spaces, sorted by path)."""
    return "".join("%s  %s\n" % (entries[rel]["sha256"], rel) for rel in sorted(entries))


def parse(text):
    """{relative path: hex} from a MANIFEST.sha256 text; raises on a malformed line."""
    digests = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("  ", 1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdef" for c in parts[0]):
            raise ManifestError("%s line %d is not '<sha256>  <path>': %r" % (MANIFEST, number, line[:120]))
        digests[parts[1]] = parts[0]
    return digests


def _write_atomic(path, text):
    atomic_write(path, text, mode=0o440)


def create(root, metadata=None, check_mode=False, force=False):
    """Write the manifests of root. Same content again: unchanged. Different content: refused
    unless force (a manifest is the chain-of-custody record; silently replacing it would hide
    a change to the evidence)."""
    entries = compute(root)
    if not entries:
        raise ManifestError("path: %s holds no files; nothing to put in a manifest" % root)
    text = render(entries)
    manifest_path = os.path.join(root, MANIFEST)
    if os.path.exists(manifest_path):
        with open(manifest_path) as handle:
            existing = handle.read()
        if existing == text:
            return dict(changed=False, files=entries, manifest=manifest_path,
                        manifest_sha256=hashlib.sha256(text.encode()).hexdigest())
        if not force:
            raise ManifestError("%s already exists with other content: the bundle changed after it was sealed; "
                                "verify it (state=verified) or set force=true to seal it again" % manifest_path)
    document = {"schema_version": 1, "algorithm": "sha256", "metadata": metadata or {},
                "files": [dict(path=rel, **entries[rel]) for rel in sorted(entries)]}
    if not check_mode:
        for name in (MANIFEST, MANIFEST_JSON):
            target = os.path.join(root, name)
            if os.path.exists(target):
                os.chmod(target, 0o640)
        _write_atomic(os.path.join(root, MANIFEST_JSON), json.dumps(document, indent=2, sort_keys=True) + "\n")
        _write_atomic(manifest_path, text)
    return dict(changed=True, files=entries, manifest=manifest_path,
                manifest_sha256=hashlib.sha256(text.encode()).hexdigest())


def verify(root):
    """Compare the bundle with its MANIFEST.sha256: mismatched, missing and unexpected files."""
    manifest_path = os.path.join(root, MANIFEST)
    if not os.path.isfile(manifest_path):
        raise ManifestError("%s not found: the bundle was never sealed (state=present)" % manifest_path)
    with open(manifest_path) as handle:
        text = handle.read()
    recorded = parse(text)
    actual = compute(root)
    mismatched = sorted(rel for rel in recorded if rel in actual and actual[rel]["sha256"] != recorded[rel])
    missing = sorted(rel for rel in recorded if rel not in actual)
    unexpected = sorted(rel for rel in actual if rel not in recorded)
    return dict(verified=not (mismatched or missing or unexpected), mismatched=mismatched, missing=missing,
                unexpected=unexpected, checked=len(recorded), manifest=manifest_path,
                manifest_sha256=hashlib.sha256(text.encode()).hexdigest())
