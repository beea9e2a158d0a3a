"""Deployment files: docker-compose.yml, Dockerfile, both dagster.yaml variants and the workspaces.

The compose stack cannot run here (no Docker engine), so its file is checked for internal consistency and
against what the code reads. The two Dagster instance configs are checked by Dagster's own loader, and
used for real: the laptop one on SQLite in a temporary DAGSTER_HOME, the cluster one on the local
PostgreSQL server (``-m postgres``; a missing server fails the test, it does not skip it).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.workspace.config_schema import process_workspace_config

from media_assets.instance import PACKAGED_CONFIG, ensure_dagster_home, get_instance
from media_assets.partitions import VIDEOS_PARTITIONS_NAME, videos_partitions

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
LAPTOP_CONFIG = REPO_ROOT / "dagster.yaml"
CLUSTER_CONFIG = REPO_ROOT / "deploy" / "postgres" / "dagster.yaml"
WORKSPACE = REPO_ROOT / "workspace.yaml"
GRPC_WORKSPACE = REPO_ROOT / "deploy" / "workspace.grpc.yaml"

# Where the Dockerfile puts the repository inside the image.
IMAGE_APP_DIR = "/opt/dagster/app"
EXPECTED_SERVICES = {"postgres", "seaweedfs", "createbuckets", "qdrant", "code", "webserver", "daemon"}
DAGSTER_SERVICES = ("code", "webserver", "daemon")
# Always needed by the Dagster processes of the stack, whatever the code scan below finds.
REQUIRED_ENV = {
    "DAGSTER_HOME",
    "DAGSTER_PG_URL",
    "MEDIA_ASSETS_STORE_ROOT",
    "MEDIA_ASSETS_S3_ENDPOINT_URL",
    "MEDIA_ASSETS_S3_BUCKET",
    "MEDIA_ASSETS_S3_PREFIX",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "MEDIA_ASSETS_QDRANT_URL",
}
# Packages whose source is the running code; every MEDIA_ASSETS_* / QDRANT_* name they mention is a
# setting the stack must provide.
CODE_PACKAGES = ("media_assets", "resources", "sensors")
CODE_ENV_NAME = re.compile(r"(MEDIA_ASSETS|QDRANT)_[A-Z0-9_]+")
# Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} ($$ escapes $).
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}")

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Admin connection to the test PostgreSQL server (a libpq URL); CI and developers have it on localhost.
PG_ADMIN_URL = os.environ.get("MEDIA_ASSETS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


# --------------------------------------------------------------------------------------------------------
# helpers


def _with_defaults(value: object) -> str:
    """A compose string as it would be with no .env: defaults applied, required variables as <NAME>."""

    def replace(match: re.Match[str]) -> str:
        name, default_op, default, required_op = match.groups()
        if default_op is not None:
            return default
        if required_op is not None:
            return f"<{name}>"
        return ""

    return INTERPOLATION.sub(replace, str(value)).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open() as f:
        data = yaml.safe_load(f)  # anchors and `<<` merges are resolved by PyYAML
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "no services in compose file"
    return data


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: _with_defaults(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def _option(args: list[str], *flags: str) -> str:
    for i, arg in enumerate(args[:-1]):
        if arg in flags:
            return args[i + 1]
    raise AssertionError(f"none of {flags} in {args}")


def _image_path(path: str) -> Path:
    """A path inside the image that comes from the repository, as a path in this checkout."""
    assert path.startswith(IMAGE_APP_DIR + "/"), f"{path} is not under {IMAGE_APP_DIR}"
    return REPO_ROOT / path.removeprefix(IMAGE_APP_DIR + "/")


def _published_ports(service: dict) -> list[tuple[str, int, str]]:
    """(host_ip, host_port, protocol) of each published port."""
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                out.append(
                    (
                        _with_defaults(entry.get("host_ip", "")),
                        int(_with_defaults(entry["published"])),
                        entry.get("protocol", "tcp"),
                    )
                )
            continue
        spec, _, proto = _with_defaults(entry).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) == 1:
            continue  # container port only: Docker picks a free host port
        host_ip = parts[0] if len(parts) == 3 else ""
        out.append((host_ip, int(parts[-2]), proto or "tcp"))
    return out


def _code_env_names() -> set[str]:
    """MEDIA_ASSETS_* / QDRANT_* names written as string constants in the application code."""
    names = set()
    for package in CODE_PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and CODE_ENV_NAME.fullmatch(node.value)
                ):
                    names.add(node.value)
    return names


def _load_instance_config(config_file: Path, tmp_path: Path) -> InstanceRef:
    home = tmp_path / "config_check"
    home.mkdir()
    shutil.copyfile(config_file, home / "dagster.yaml")
    dagster_instance_config(str(home))  # Dagster's schema validation (raises DagsterInvalidConfigError)
    return InstanceRef.from_dir(str(home))  # builds the storage/launcher references without connecting


# --------------------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_services_have_image_or_build(compose: dict) -> None:
    services = compose["services"]
    assert set(services) >= EXPECTED_SERVICES, f"missing services: {EXPECTED_SERVICES - set(services)}"
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"service {name} has neither image nor build"
    for name in DAGSTER_SERVICES:
        build = services[name].get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
        assert context is not None, f"{name} must build the project image"
        assert (REPO_ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_compose_depends_on_targets_exist_and_can_be_waited_for(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = (spec or {}).get("condition", "service_started")
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} is a one-shot: restart must be 'no'"
            else:
                assert condition == "service_started", f"{name}: unknown depends_on condition {condition}"
    # the Dagster processes wait for their backing services to be ready
    for name in DAGSTER_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
    code_deps = services["code"]["depends_on"]
    assert code_deps["createbuckets"]["condition"] == "service_completed_successfully"
    assert code_deps["qdrant"]["condition"] == "service_healthy"
    assert code_deps["seaweedfs"]["condition"] == "service_healthy"
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code"]["condition"] == "service_healthy"


def test_compose_published_ports_do_not_collide(compose: dict) -> None:
    seen: dict[tuple[int, str], str] = {}
    for name, service in compose["services"].items():
        for host_ip, port, proto in _published_ports(service):
            assert 0 < port < 65536, f"{name}: bad port {port}"
            key = (port, proto)
            assert key not in seen, f"host port {port}/{proto} published by both {seen[key]} and {name}"
            seen[key] = name
            assert host_ip, f"{name}: port {port} binds every interface; bind it to MEDIA_ASSETS_BIND_ADDRESS"
    assert (3000, "tcp") in seen and seen[(3000, "tcp")] == "webserver"
    assert {(6333, "tcp"), (6334, "tcp")} <= set(seen)


def test_compose_healthchecks(compose: dict) -> None:
    services = compose["services"]
    for name in ("postgres", "qdrant", "seaweedfs", *DAGSTER_SERVICES):
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        test = check["test"]
        assert isinstance(test, str) or test[0] in {"CMD", "CMD-SHELL"}, f"{name}: bad healthcheck test {test}"
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    # the qdrant image has neither curl nor wget
    qdrant_test = " ".join(services["qdrant"]["healthcheck"]["test"])
    assert "curl" not in qdrant_test and "wget" not in qdrant_test
    assert "/readyz" in qdrant_test
    assert "grpc-health-check" in services["code"]["healthcheck"]["test"]
    assert "liveness-check" in services["daemon"]["healthcheck"]["test"]


def test_compose_volumes_are_declared_and_bind_mounts_exist(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict):
                source, kind = mount.get("source", ""), mount["type"]
            else:
                source = str(mount).split(":", 1)[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "volume":
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
            elif kind == "bind":
                assert source.startswith("./"), f"{name}: bind mount {source} should be relative to the repo"
                assert (REPO_ROOT / source).exists(), f"{name}: bind mount source {source} is missing"
    assert declared - used == set(), f"declared but unused volumes: {declared - used}"
    assert {"postgres_data", "qdrant_data", "seaweedfs_data"} <= declared


def test_compose_dagster_env_covers_what_the_code_reads(compose: dict) -> None:
    code_names = _code_env_names()
    assert {"MEDIA_ASSETS_STORE_ROOT", "MEDIA_ASSETS_S3_BUCKET"} <= code_names, "code scan found nothing"
    needed = REQUIRED_ENV | code_names
    for name in DAGSTER_SERVICES:
        env = _env(compose["services"][name])
        missing = needed - set(env)
        assert not missing, f"{name} does not set {sorted(missing)} (read by the code or by dagster.yaml)"
    documented = set(re.findall(r"\b[A-Z][A-Z0-9_]*(?==)", ENV_EXAMPLE.read_text()))
    undocumented = needed - documented
    assert not undocumented, f".env.example does not mention {sorted(undocumented)}"


def test_compose_env_points_at_the_stack(compose: dict) -> None:
    services = compose["services"]
    envs = [_env(services[name]) for name in DAGSTER_SERVICES]
    assert envs[0] == envs[1] == envs[2], "code, webserver and daemon must share one environment"
    env = envs[0]

    pg = urlsplit(env["DAGSTER_PG_URL"])
    assert pg.scheme == "postgresql+psycopg2", "SQLAlchemy 2.1 needs the psycopg2 driver named in the URL"
    assert pg.hostname == "postgres" and (pg.port or 5432) == 5432
    pg_env = _env(services["postgres"])
    assert pg.username == pg_env["POSTGRES_USER"] and pg.path == "/" + pg_env["POSTGRES_DB"]
    assert pg.password == pg_env["POSTGRES_PASSWORD"] == "<POSTGRES_PASSWORD>", "the password must be required"

    s3 = urlsplit(env["MEDIA_ASSETS_S3_ENDPOINT_URL"])
    assert (s3.hostname, s3.port) == ("seaweedfs", 8333)
    assert env["MEDIA_ASSETS_STORE_ROOT"].startswith("s3://")
    seaweed_env = _env(services["seaweedfs"])
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert seaweed_env[key] == env[key] == f"<{key}>", f"{key} must be required and shared with seaweedfs"

    # createbuckets makes the drop bucket and the store root's bucket
    buckets_env = _env(services["createbuckets"])
    assert buckets_env["MEDIA_ASSETS_S3_BUCKET"] == env["MEDIA_ASSETS_S3_BUCKET"]
    assert buckets_env["MEDIA_ASSETS_STORE_ROOT"] == env["MEDIA_ASSETS_STORE_ROOT"]
    script = " ".join(_command(services["createbuckets"]))
    assert "s3.bucket.create" in script and "MEDIA_ASSETS_STORE_ROOT" in script

    qdrant = urlsplit(env["MEDIA_ASSETS_QDRANT_URL"])
    assert (qdrant.hostname, qdrant.port) == ("qdrant", 6333)
    assert env["DAGSTER_HOME"] == "/opt/dagster/home"


def test_compose_workspace_and_instance_config_exist(compose: dict) -> None:
    services = compose["services"]
    code_args = _command(services["code"])
    assert code_args[:3] == ["dagster", "code-server", "start"]
    assert _option(code_args, "-m", "--module-name") == "media_assets.definitions"
    assert _option(code_args, "-h", "--host") == "0.0.0.0"
    code_port = int(_option(code_args, "-p", "--port"))

    for name in ("webserver", "daemon"):
        workspace = _image_path(_option(_command(services[name]), "-w", "--workspace"))
        assert workspace == GRPC_WORKSPACE, f"{name} should load {GRPC_WORKSPACE}"
    webserver_args = _command(services["webserver"])
    assert webserver_args[:3] == ["python", "-m", "media_assets.webserver"]
    assert _option(webserver_args, "-p", "--port") == "3000"
    assert _command(services["daemon"])[:2] == ["dagster-daemon", "run"]

    grpc = yaml.safe_load(GRPC_WORKSPACE.read_text())
    assert process_workspace_config(grpc).success
    (location,) = grpc["load_from"]
    server = location["grpc_server"]
    assert (server["host"], server["port"], server["location_name"]) == ("code", code_port, "media_assets")
    assert _option(code_args, "--location-name") == server["location_name"]

    # DAGSTER_HOME/dagster.yaml of every Dagster process is the cluster config from the repository
    for name in DAGSTER_SERVICES:
        home = _env(services[name])["DAGSTER_HOME"]
        mounts = {}
        for mount in services[name].get("volumes") or []:
            source, target = str(mount).split(":")[:2]
            mounts[target] = source
        source = mounts.get(f"{home}/dagster.yaml")
        assert source is not None, f"{name}: nothing mounted at {home}/dagster.yaml"
        assert (REPO_ROOT / source).resolve() == CLUSTER_CONFIG


# --------------------------------------------------------------------------------------------------------
# Dockerfile, .dockerignore, .env.example


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines()]
    first = next(line for line in lines if line and not line.startswith("#"))
    assert first == "FROM python:3.11-slim"
    torch_pin = re.search(r"^torch==(\S+)$", (REPO_ROOT / "constraints.txt").read_text(), re.M)
    assert torch_pin, "constraints.txt no longer pins torch"
    torch_install = text.find(f"--index-url https://download.pytorch.org/whl/cpu torch=={torch_pin.group(1)}")
    project_install = text.find("pip install -c constraints.txt .")
    assert torch_install != -1, "torch must come from the CPU index at the version constraints.txt pins"
    assert project_install > torch_install, "install the project (with -c constraints.txt) after torch"

    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    assert re.search(r"^ENV\b.*DAGSTER_HOME=/opt/dagster/home", text, re.M | re.S)
    assert "cp deploy/postgres/dagster.yaml /opt/dagster/home/dagster.yaml" in text
    assert f"WORKDIR {IMAGE_APP_DIR}" in text


def test_dockerignore_keeps_secrets_out_and_sources_in() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    for must_ignore in (".env", ".venv", ".git", ".dagster_home"):
        assert must_ignore in patterns, f".dockerignore should exclude {must_ignore}"
    for needed in ("pyproject.toml", "constraints.txt", "deploy", "media_assets", "resources", "sensors"):
        assert needed not in patterns, f"the image build needs {needed}"


# --------------------------------------------------------------------------------------------------------
# Dagster instance configs


def test_packaged_config_is_the_repo_config() -> None:
    assert PACKAGED_CONFIG.read_bytes() == LAPTOP_CONFIG.read_bytes(), (
        "media_assets/config/dagster.yaml and dagster.yaml differ: copy one over the other"
    )


def test_laptop_config_is_valid(tmp_path: Path) -> None:
    ref = _load_instance_config(LAPTOP_CONFIG, tmp_path)
    assert ref.storage_data.class_name == "DagsterSqliteStorage"
    assert ref.compute_logs_data.class_name == "LocalComputeLogManager"
    assert ref.local_artifact_storage_data.class_name == "LocalArtifactStorage"
    assert (ref.run_coordinator_data.module_name, ref.run_coordinator_data.class_name) == (
        "media_assets.run_coordinator",
        "MediaRunCoordinator",
    )
    assert ref.run_launcher_data.class_name == "DefaultRunLauncher"
    settings = ref.settings
    assert settings["telemetry"]["enabled"] is False
    assert settings.get("run_retries", {}).get("enabled", False) is False
    runs = settings["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] == 2
    assert any(limit["key"] == "media_assets/heavy" for limit in runs["tag_concurrency_limits"])
    assert settings["concurrency"]["pools"]["default_limit"] >= 1


def test_cluster_config_is_valid_without_connecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_postgres import DagsterPostgresStorage

    ref = _load_instance_config(CLUSTER_CONFIG, tmp_path)
    assert (ref.storage_data.module_name, ref.storage_data.class_name) == ("dagster_postgres", "DagsterPostgresStorage")
    for data in (ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data):
        assert data.module_name == "dagster_postgres"
    assert (ref.run_coordinator_data.module_name, ref.run_coordinator_data.class_name) == (
        "media_assets.run_coordinator",
        "MediaRunCoordinator",
    )
    assert ref.run_launcher_data.class_name == "DefaultRunLauncher"
    assert ref.settings["telemetry"]["enabled"] is False
    laptop_pools = yaml.safe_load(LAPTOP_CONFIG.read_text())["concurrency"]["pools"]
    assert ref.settings["concurrency"]["pools"] == laptop_pools, "laptop and cluster must define the same pools"

    # storage: the whole URL comes from DAGSTER_PG_URL
    url = "postgresql+psycopg2://dagster:secret@postgres:5432/dagster"
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    storage_config = yaml.safe_load(ref.storage_data.config_yaml)
    assert storage_config == {"postgres_url": {"env": "DAGSTER_PG_URL"}}
    resolved = process_config(DagsterPostgresStorage.config_type(), storage_config)
    assert resolved.success, resolved.errors
    assert resolved.value["postgres_url"] == url

    # the optional S3 compute-log block, kept as a comment, is valid config too
    block = re.search(r"^# compute_logs:\n(?:^#   .*\n)+", CLUSTER_CONFIG.read_text(), re.M)
    assert block, "the commented S3 compute_logs example is gone"
    compute_logs = yaml.safe_load(re.sub(r"^# ?", "", block.group(0), flags=re.M))["compute_logs"]
    dagster_instance_config(str(tmp_path / "config_check"), overrides={"compute_logs": compute_logs})
    manager_class = getattr(importlib.import_module(compute_logs["module"]), compute_logs["class"])
    for key in ("MEDIA_ASSETS_S3_BUCKET", "MEDIA_ASSETS_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, "x")
    assert process_config(manager_class.config_type(), compute_logs["config"]).success


# --------------------------------------------------------------------------------------------------------
# workspaces


def test_workspace_loads_media_assets_definitions() -> None:
    workspace = yaml.safe_load(WORKSPACE.read_text())
    assert process_workspace_config(workspace).success
    (location,) = workspace["load_from"]
    target = location["python_module"]
    assert target["module_name"] == "media_assets.definitions"
    assert target.get("attribute", "defs") == "defs"
    assert target["working_directory"] == "."
    assert target["location_name"] == "media_assets"

    # the same names as pyproject's [tool.dagster] (used by `dagster dev` without -w)
    import tomllib

    tool = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    assert (tool["module_name"], tool["code_location_name"]) == (target["module_name"], target["location_name"])
    definitions = REPO_ROOT / "media_assets" / "definitions.py"
    module = ast.parse(definitions.read_text())
    assigned = {
        t.id for node in module.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    assert "defs" in assigned, "media_assets/definitions.py should define `defs`"


# --------------------------------------------------------------------------------------------------------
# the laptop instance, for real (SQLite in a temporary DAGSTER_HOME)


@dg.asset
def deploy_smoke() -> int:
    return 42


@dg.asset(pool="accelerator")
def deploy_smoke_pooled(deploy_smoke: int) -> int:
    return deploy_smoke + 1


def test_ensure_dagster_home_and_sqlite_materialization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # restored after the test
    monkeypatch.chdir(tmp_path)

    home = ensure_dagster_home()  # default: ./.dagster_home
    assert home == (tmp_path / ".dagster_home").resolve() and home.is_absolute()
    assert os.environ["DAGSTER_HOME"] == str(home)
    assert (home / "dagster.yaml").read_bytes() == LAPTOP_CONFIG.read_bytes()

    # an existing dagster.yaml is kept; DAGSTER_HOME from the environment is honoured
    edited = (home / "dagster.yaml").read_text() + "# edited\n"
    (home / "dagster.yaml").write_text(edited)
    assert ensure_dagster_home() == home
    assert (home / "dagster.yaml").read_text() == edited
    assert not list(home.glob(".dagster.yaml.*.tmp"))

    other = tmp_path / "nested" / "home"
    with get_instance(other) as instance:
        assert os.environ["DAGSTER_HOME"] == str(other.resolve())
        assert Path(instance.root_directory) == other.resolve()
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        run_queue = instance.get_concurrency_config().run_queue_config
        assert run_queue is not None and run_queue.max_concurrent_runs == 2

        result = dg.materialize([deploy_smoke, deploy_smoke_pooled], instance=instance)
        assert result.success
        assert result.output_for_node("deploy_smoke_pooled") == 43
        for key in ("deploy_smoke", "deploy_smoke_pooled"):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None and event.run_id == result.run_id
        record = instance.get_run_record_by_id(result.run_id)
        assert record is not None and record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        # the pooled step took (and gave back) a slot of the `accelerator` pool at the default limit
        pool = instance.event_log_storage.get_concurrency_info("accelerator")
        assert pool.slot_count == 1 and pool.active_slot_count == 0
    assert (other / "history" / "runs.db").exists(), "runs should be in SQLite under DAGSTER_HOME"


# --------------------------------------------------------------------------------------------------------
# the cluster instance, for real (the local PostgreSQL server)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database on the test server; yields its SQLAlchemy (psycopg2) URL, drops it afterwards."""
    import psycopg2
    from psycopg2 import sql

    try:
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}). These tests need it: start the server "
            "or point MEDIA_ASSETS_TEST_POSTGRES at one (a libpq URL with rights to CREATE DATABASE).",
            pytrace=False,
        )
    admin.autocommit = True
    name = f"media_assets_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        parts = urlsplit(PG_ADMIN_URL)
        yield urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@dg.asset(partitions_def=videos_partitions)
def deploy_pg_partitioned(context) -> dg.MaterializeResult:  # unannotated: dagster rejects string hints here
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


@pytest.mark.postgres
def test_cluster_instance_on_postgres(postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg2

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(CLUSTER_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_database)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    job = dg.Definitions(
        assets=[deploy_pg_partitioned],
        jobs=[dg.define_asset_job("deploy_pg_job", selection=[deploy_pg_partitioned])],
    ).resolve_job_def("deploy_pg_job")
    keys = ["deploy-a.mp4", "deploy-b.mp4", "deploy-c.mp4"]

    with get_instance() as instance:  # ensure_dagster_home keeps the cluster dagster.yaml it finds
        assert (home / "dagster.yaml").read_bytes() == CLUSTER_CONFIG.read_bytes()
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"

        instance.add_dynamic_partitions(VIDEOS_PARTITIONS_NAME, keys)
        result = job.execute_in_process(instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[1]})
        assert result.success
        asset_key = deploy_pg_partitioned.key
        assert instance.get_materialized_partitions(asset_key) == set(keys[:2])

    # ... and it is all in the PostgreSQL database, not somewhere under DAGSTER_HOME
    assert not (home / "history").exists()
    conn = psycopg2.connect(postgres_database.replace("+psycopg2", ""), connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT partition FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
                (result.run_id,),
            )
            assert sorted(row[0] for row in cur.fetchall()) == keys[:2]
            cur.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
            assert cur.fetchone() == ("SUCCESS",)
            cur.execute(
                "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = %s", (VIDEOS_PARTITIONS_NAME,)
            )
            assert sorted(row[0] for row in cur.fetchall()) == keys
    finally:
        conn.close()
