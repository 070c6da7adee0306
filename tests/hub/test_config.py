"""The hub folder and the JupyterHub config it yields, without starting a hub."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from casebook.errors import InputError
from casebook.hub import HubSettings, configure, load_settings, spawn_environment
from casebook.hub.settings import (
    CONFIG_FILE,
    practitioners,
    read_credential,
    write_credential,
    write_settings,
)
from casebook.hub.setup import init_hub


def _folder(tmp_path: Path, **settings: object) -> Path:
    folder = tmp_path / "hub"
    init_hub(folder, HubSettings(**settings))  # type: ignore[arg-type]  # test values
    return folder


def _configured(folder: Path) -> Config:
    c = Config()
    configure(c, folder)
    return c


def test_init_writes_a_private_folder_whose_config_calls_configure(tmp_path: Path) -> None:
    folder = _folder(tmp_path, public_url="https://clinic.example.org", port=8123)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "hub.toml").stat().st_mode) == 0o600
    text = (folder / CONFIG_FILE).read_text()
    assert "from casebook.hub import configure" in text and str(folder.resolve()) in text
    c: dict[str, object] = {}
    exec(compile(text, CONFIG_FILE, "exec"), {"c": (cfg := Config())}, c)  # noqa: S102
    assert cfg.JupyterHub.port == 8123
    assert load_settings(folder).public_url == "https://clinic.example.org"


def test_init_refuses_a_folder_that_has_a_hub(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with pytest.raises(InputError, match="already holds a hub"):
        init_hub(folder, HubSettings())


def test_only_users_with_a_login_may_sign_in_and_each_server_gets_its_own(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path, authenticator="dummy", spawner="simple")
    write_credential(folder, "alice", "postgresql+psycopg://alice:pw-a@db/clinic")
    write_credential(folder, "bob", "postgresql+psycopg://bob:pw-b@db/clinic")
    write_credential(folder, "casebook_dashboard", "postgresql+psycopg://d:pw-d@db/clinic")
    c = _configured(folder)
    assert c.Authenticator.allowed_users == {"alice", "bob"}
    assert c.JupyterHub.authenticator_class == "jupyterhub.auth.DummyAuthenticator"
    assert c.Spawner.default_url == "/lab"
    # each server starts from the hub's own environment, even when it is not activated
    single_user = Path(sys.executable).parent / "jupyterhub-singleuser"
    assert c.Spawner.cmd == [str(single_user)] and single_user.exists()
    settings = load_settings(folder)
    env = spawn_environment(folder, settings, "alice")
    assert env["CASEBOOK_DB"] == "postgresql+psycopg://alice:pw-a@db/clinic"
    assert "pw-b" not in str(env) and "CASEBOOK_USER" not in env
    with pytest.raises(InputError, match="no database login"):
        spawn_environment(folder, settings, "mallory")
    with pytest.raises(InputError, match="no database login"):
        spawn_environment(folder, settings, "casebook_dashboard")
    for path in (folder / "credentials").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "credentials").stat().st_mode) == 0o700


def test_the_pre_spawn_hook_hands_over_the_login_and_refuses_strangers(tmp_path: Path) -> None:
    from tornado import web

    folder = _folder(tmp_path, public_url="https://clinic.example.org")
    write_credential(folder, "alice", "postgresql+psycopg://alice:pw-a@db/clinic")
    hook = _configured(folder).Spawner.pre_spawn_hook

    class _Spawner:
        def __init__(self, name: str) -> None:
            self.user = type("U", (), {"name": name})()
            self.environment = {"KEEP": "1", "CASEBOOK_DB": "sqlite:///other.db"}

    spawner = _Spawner("alice")
    hook(spawner)
    assert spawner.environment["CASEBOOK_DB"].startswith("postgresql+psycopg://alice:")
    assert spawner.environment["CASEBOOK_PUBLIC_URL"] == "https://clinic.example.org"
    assert spawner.environment["KEEP"] == "1"
    with pytest.raises(web.HTTPError) as refused:
        hook(_Spawner("mallory"))
    assert refused.value.status_code == 403


def test_the_dashboard_is_a_managed_service_behind_the_proxy(tmp_path: Path) -> None:
    folder = _folder(tmp_path, dashboard_port=8899, public_url="https://clinic.example.org")
    assert "services" not in _configured(folder).JupyterHub  # no login for it yet
    write_credential(folder, "casebook_dashboard", "postgresql+psycopg://d:pw-d@db/clinic")
    c = _configured(folder)
    (service,) = c.JupyterHub.services
    assert service["environment"] == {"CASEBOOK_DB": "postgresql+psycopg://d:pw-d@db/clinic"}
    assert "pw-d" not in " ".join(service["command"])  # never on a command line (ps)
    assert "https://clinic.example.org" in service["command"]
    assert c.Proxy.extra_routes == {"/dashboard/": "http://127.0.0.1:8899"}


@pytest.mark.parametrize("name", ["Alice", "a-b", "1abc", "", "a" * 64, "../x"])
def test_user_names_are_checked(tmp_path: Path, name: str) -> None:
    folder = _folder(tmp_path)
    with pytest.raises(InputError, match="user name"):
        write_credential(folder, name, "postgresql://x")


def test_bad_settings_are_one_line_naming_the_field(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "hub.toml").write_text('port = "eighty"\n')
    with pytest.raises(InputError, match=r"hub.toml: port: ") as err:
        load_settings(folder)
    assert "\n" not in str(err.value)
    (folder / "hub.toml").write_text("port = [\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings(folder)
    with pytest.raises(InputError, match="no hub here"):
        load_settings(tmp_path / "nowhere")


def test_settings_round_trip(tmp_path: Path) -> None:
    settings = HubSettings(public_url='https://a.example/"q"', admin_users=("ops",))
    write_settings(tmp_path, settings)
    assert load_settings(tmp_path) == settings
    assert practitioners(tmp_path) == []
    assert read_credential(tmp_path, "nobody") is None
