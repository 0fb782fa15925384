"""``monitor silence add|list|expire`` through the installed command."""

from test_cli import file_config, monitor


def test_silences_are_added_listed_and_expired_from_the_cli(tmp_path):
    config = str(file_config(tmp_path))
    added = monitor("silence", "add", "--config", config, "--brand", "acme", "--for", "2h", "--reason", "planned launch",
                    cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split(":")[0]
    listed = monitor("silence", "list", "--config", config, cwd=tmp_path)
    assert silence_id in listed.stdout and "Acme" in listed.stdout and "planned launch" in listed.stdout
    assert monitor("silence", "expire", "--config", config, silence_id, cwd=tmp_path).returncode == 0
    assert "no silences" in monitor("silence", "list", "--config", config, cwd=tmp_path).stdout
    assert silence_id in monitor("silence", "list", "--config", config, "--all", cwd=tmp_path).stdout
    bad = monitor("silence", "add", "--config", config, "--brand", "Acme", "--for", "soon", cwd=tmp_path)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    unknown = monitor("silence", "add", "--config", config, "--brand", "Nope", "--for", "1h", cwd=tmp_path)
    assert unknown.returncode == 2 and "no brand named 'Nope'" in unknown.stderr
