"""What can be checked of the deployment files with no Docker engine: they parse, and name real things."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_whole_stack(compose) -> None:
    services = compose["services"]
    assert {"web", "worker", "gpu-worker", "training-worker", "beat", "db", "redis"} <= set(services)
    assert services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == [
        "gpu"
    ]


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_workers_consume_the_queues_tasks_are_routed_to(compose, settings) -> None:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    routed.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    consumed: set[str] = set()
    for name in ("worker", "gpu-worker", "training-worker"):
        argv = _command(compose["services"][name])
        assert argv[:3] == ["celery", "-A", "config"]
        consumed |= set(argv[argv.index("-Q") + 1].split(","))
    assert routed <= consumed
    gpu = _command(compose["services"]["gpu-worker"])
    assert gpu[gpu.index("-Q") + 1] == "inference"
    assert "--pool=solo" in gpu  # one task at a time per GPU


def test_commands_exist_in_the_project(compose) -> None:
    commands = get_commands()
    for service in compose["services"].values():
        if "command" not in service:
            continue
        text = " ".join(_command(service))
        for name in re.findall(r"manage\.py (\w+)", text):
            assert name in commands, name
        for path in re.findall(r"-c (platform/\S+)", text):
            assert (REPO / path).is_file(), path
        assert "config.wsgi" not in text or (REPO / "config" / "wsgi.py").is_file()


def test_services_use_the_documented_environment(compose) -> None:
    web = compose["services"]["web"]["environment"]
    assert web["DATABASE_URL"].startswith("postgres://")
    assert web["CELERY_BROKER_URL"].startswith("redis://")
    assert "MEDIA_ROOT" in web


@pytest.mark.parametrize("dockerfile", ["platform/Dockerfile", "platform/Dockerfile.gpu"])
def test_dockerfiles_copy_paths_that_exist(dockerfile: str) -> None:
    for line in (REPO / dockerfile).read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"{dockerfile}: {source}"
    assert "torch==2.13.0" in (REPO / dockerfile).read_text()


@pytest.mark.parametrize("dockerfile", ["platform/Dockerfile", "platform/Dockerfile.gpu"])
def test_dockerfiles_copy_every_project_package(dockerfile: str, settings) -> None:
    # An installed app missing from the image fails at startup, which nothing here would otherwise notice.
    copied = {
        source.rstrip("/")
        for line in (REPO / dockerfile).read_text().splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (REPO / app.split(".")[0]).is_dir()}
    packages = apps | {"config", "recommender", "inference", "templates", "static"}
    assert "." in copied or packages <= copied, f"{dockerfile} leaves out {sorted(packages - copied)}"


def test_gpu_manifest_requests_a_gpu() -> None:
    manifest = yaml.safe_load((REPO / "platform/k8s/gpu-worker.yaml").read_text())
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "inference" in container["command"]


def test_no_importable_package_is_named_platform() -> None:
    assert not (REPO / "platform" / "__init__.py").exists()
    import platform

    assert hasattr(platform, "python_version")  # still the standard library's
