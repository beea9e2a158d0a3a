"""The Dagster webserver with one more read-only route: the preview images in the media store.

Dagster 1.13 has no image metadata type. Its UI renders a markdown metadata value inline only when it is
shorter than 1,000 characters, so an image embedded as a data URI always hides behind "[Show Markdown]".
The materializations therefore link their contact sheets and timeline pictures by a short relative URL,
``/media-assets/files/<partition>/<name>`` (:func:`media_assets.assets.common.image_markdown`), which this
module serves from the media store next to the UI, so the picture shows in the materialization itself.

``python -m media_assets.webserver`` takes the same arguments as ``dagster-webserver``; ``python -m
media_assets.webserver dev ...`` runs ``dagster dev`` with this webserver in place of Dagster's own (what
``media-assets ui`` starts). Only image files are served, and only under validated partition keys and names.
"""

from __future__ import annotations

import sys
from typing import Any

from media_assets.assets.common import FILES_ROUTE

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def files_endpoint(store: Any):
    """A Starlette endpoint serving ``<key>/<name>`` from ``store`` (images only; 404 for anything else)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse, Response

    from media_assets.core.store.naming import validate_name, validate_partition_key

    def read(key: str, name: str) -> bytes | None:
        try:
            return store.get_bytes(key, name)
        except FileNotFoundError:
            return None

    async def endpoint(request) -> Response:
        key, name = request.path_params["key"], request.path_params["name"]
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        try:
            validate_partition_key(key)
            validate_name(name)
        except ValueError:
            return PlainTextResponse("not found", status_code=404)
        data = await run_in_threadpool(read, key, name) if suffix in IMAGE_TYPES else None
        if data is None:  # previews are small (a contact sheet, a timeline picture): read whole, local or S3
            return PlainTextResponse("not found", status_code=404)
        headers = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
        return Response(data, media_type=IMAGE_TYPES[suffix], headers=headers)

    return endpoint


def install_files_route(store: Any | None = None) -> None:
    """Add the files route to every DagsterWebserver app built in this process."""
    from dagster_webserver.webserver import DagsterWebserver
    from starlette.routing import Route

    if getattr(DagsterWebserver, "_media_assets_files", False):
        return
    if store is None:
        from resources.media_store import MediaStore

        store = MediaStore.from_env()
    original = DagsterWebserver.build_routes
    route = Route(f"{FILES_ROUTE}/{{key}}/{{name:path}}", files_endpoint(store), methods=["GET", "HEAD"])

    def build_routes(self: DagsterWebserver) -> list:
        return [route, *original(self)]  # before the UI's catch-all route

    DagsterWebserver.build_routes = build_routes  # type: ignore[method-assign]
    DagsterWebserver._media_assets_files = True  # type: ignore[attr-defined]


def run_dev(argv: list[str]) -> None:
    """``dagster dev`` whose webserver is this module's (its daemon and code server are Dagster's own)."""
    import dagster._cli.dev as dev

    spawn = dev.open_ipc_subprocess

    def open_subprocess(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        if cmd[1:3] == ["-m", "dagster_webserver"]:
            cmd = [cmd[0], "-m", "media_assets.webserver", *cmd[3:]]
        return spawn(cmd, *args, **kwargs)

    dev.open_ipc_subprocess = open_subprocess
    from dagster._cli import main

    sys.argv = ["dagster", "dev", *argv]
    main()


def main() -> None:
    if sys.argv[1:2] == ["dev"]:
        run_dev(sys.argv[2:])
        return
    install_files_route()
    from dagster_webserver.cli import main as webserver_main

    webserver_main()


if __name__ == "__main__":
    main()
