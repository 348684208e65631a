"""plugins/lookup/private_dir.py: report, record and evidence folders only their owner controls."""
import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.lookup import private_dir as pd  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_missing_folder_and_parents_are_created_0750(tmp_path):
    target = tmp_path / "reports" / "pir"
    os.umask(0o022)
    assert pd.ensure(str(target)) == str(target)
    assert mode(target) == 0o750 and mode(tmp_path / "reports") == 0o750


def test_own_world_readable_folder_is_narrowed(tmp_path):
    target = tmp_path / "r"
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    pd.ensure(str(target))
    assert mode(target) == 0o750


@pytest.mark.parametrize("bits,who", [(0o777, "everyone"), (0o770, "its group")])
def test_writable_by_others_is_refused(tmp_path, bits, who):
    target = tmp_path / "r"
    target.mkdir()
    os.chmod(target, bits)
    with pytest.raises(ValueError, match=who):
        pd.ensure(str(target))


def test_folder_of_another_user_is_refused(tmp_path):
    target = tmp_path / "r"
    target.mkdir(mode=0o750)
    with pytest.raises(ValueError, match="owned by another user"):
        pd.ensure(str(target), uid=os.getuid() + 1)


def test_symlink_and_file_are_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o750)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ValueError, match="symbolic link"):
        pd.ensure(str(link))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        pd.ensure(str(afile))


def test_lookup_names_the_reason(tmp_path):
    target = tmp_path / "r"
    target.mkdir()
    os.chmod(target, 0o777)
    from ansible.errors import AnsibleLookupError
    with pytest.raises(AnsibleLookupError, match="refusing to write there"):
        pd.LookupModule().run([str(target)])
    assert pd.LookupModule().run([str(tmp_path / "ok")]) == [str(tmp_path / "ok")]
