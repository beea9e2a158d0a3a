"""Chromium screenshots of the Dagster UI views that issue 12 promises, with the checks that they show the truth.

Rerunnable: it builds a throwaway instance and store, processes a few real files from the shared media (under
readable names, plus one broken upload), starts ``media-assets ui``, launches a small backfill so that the runs
list holds a backfill run, and then opens the UI in headless Chromium (Playwright):

- the partition list filtered by a file name finds that file;
- the keyframes and timeline partition views show their pictures as images (loaded, not a "[Show Markdown]" link);
- the checks tab lists the checks with descriptions and per-partition results;
- the asset overview of an asset with a failed partition;
- the runs list, whose runs carry ``media_assets/what`` and ``media_assets/source`` tags.

Usage: ``python scripts/ui_screenshots.py --out shots/`` (needs ``pip install -e .[ui-check]`` and a Chromium:
``apt-get install chromium`` or ``playwright install chromium``). Prints one line per check; exits 1 if any fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MEDIA = Path(os.environ.get("MEDIA_ASSETS_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
# Readable upload names over real files: a talk with cuts, a film with fades, and a broken upload.
INPUTS = {
    "Interview March.mp4": "video/composite_bbb_cuts_jfk_speech.mp4",
    "Maple Leaf Fades.mp4": "video/psd_testvideo.mp4",
    "broken upload.mp4": "broken/truncated_no_moov.mp4",
}
FIND = "interview"  # typed into the partition filter
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, what: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
        self.failed += not ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["data"]
    except urllib.error.HTTPError as e:
        raise SystemExit(f"GraphQL error {e.code}: {e.read().decode(errors='replace')[:2000]}") from e


def wait_for_ui(port: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"media-assets ui exited with {proc.returncode}")
        try:
            data = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name "
                           "locationOrLoadError { __typename } } } } }")  # fmt: skip
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and all(e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] ==
                               "RepositoryLocation" for e in entries):  # fmt: skip
                return
        except OSError:
            pass
        time.sleep(2)
    raise SystemExit("the UI did not come up")


def partition_keys(store: Path) -> dict[str, str]:
    """Upload name -> partition key, from each partition's source.json."""
    keys = {}
    for source in store.glob("*/source.json"):
        record = json.loads(source.read_text())
        keys[Path(record["uri"]).name] = source.parent.name
    return keys


def launch_backfill(port: int, key: str) -> str:
    mutation = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
      __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
    params = {"partitionNames": [key], "assetSelection": [{"path": ["media_metadata"]}, {"path": ["audio"]}]}
    result = graphql(port, mutation, {"p": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise SystemExit(f"backfill not launched: {result}")
    return result["backfillId"]


def backfill_runs(port: int, backfill_id: str) -> list[dict]:
    query = """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results {
      runId jobName status tags { key value } } } } }"""
    data = graphql(port, query, {"f": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}})
    return data["runsOrError"]["results"]


def screenshots(port: int, out: Path, keys: dict[str, str], check: Checks) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    chromium = next((p for p in CHROMIUM_PATHS if Path(p).exists()), None)
    good = keys["Interview March.mp4"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1920, "height": 1200})

        def visit(path: str, ready: str, name: str) -> None:
            page.goto(base + path)
            page.wait_for_selector(ready, timeout=90_000)
            page.wait_for_timeout(2500)  # let the remaining panels finish loading
            page.screenshot(path=str(out / name), full_page=True)

        # 1. A person finds a video by its file name.
        visit("/assets/keyframes?view=partitions", "input[placeholder^='Filter by name']", "partitions_filter.png")
        page.fill("input[placeholder^='Filter by name']", FIND)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "partitions_filter.png"), full_page=True)
        body = page.inner_text("body")
        check(good in body, f"filtering the keyframes partitions by {FIND!r} lists {good}")
        check(keys["Maple Leaf Fades.mp4"] not in body, "... and not the other videos")

        # 2. The keyframe contact sheet and the timeline picture render as images in the partition view.
        for asset, name in (("keyframes", "contact_sheet"), ("timeline", "timeline")):
            visit(f"/assets/{asset}?view=partitions&partition={good}", "img[src*='/media-assets/files/']",
                  f"{asset}_partition.png")  # fmt: skip
            sizes = page.eval_on_selector_all(
                "img[src*='/media-assets/files/']",
                "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth, i.clientWidth])",
            )
            shown = [s for s in sizes if name in s[0] and s[1] > 0]
            check(bool(shown), f"{asset}: {name} image loaded in the partition view ({sizes})")
            check(any(s[2] >= 600 for s in shown), f"{asset}: {name} shown at least 600 px wide")
            check("Show Markdown" not in page.inner_text("body"), f"{asset}: no '[Show Markdown]' link")

        # 3. Checks: every check has a description and results per partition.
        visit("/assets/audio?view=checks", "text=audio_duration_matches_container", "audio_checks.png")
        text = page.inner_text("body")
        check("No description" not in text, "audio checks: every check has a description")
        check("Failed" in text or "Passed" in text, "audio checks: evaluations are listed")

        # 4. The overview shows the latest good materialization, never the broken upload's metadata; the
        #    partitions tab counts the broken upload as failed.
        visit("/assets/scenes", "text=Latest materialization", "scenes_overview.png")
        text = page.inner_text("body")
        check(keys["broken upload.mp4"] not in text, "scenes overview: the broken upload is not the latest state")
        row = page.locator("tr", has=page.locator("td", has_text="status")).first.inner_text()
        check(row.split()[-1] == "ok", f"scenes overview: the latest metadata says status ok ({row.split()[-1]!r})")
        visit("/assets/scenes?view=partitions", "input[placeholder^='Filter by name']", "scenes_partitions.png")
        page.fill("input[placeholder^='Filter by name']", "broken")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "scenes_partitions.png"), full_page=True)
        text = page.inner_text("body")
        check("Failed" in text and keys["broken upload.mp4"] in text, "scenes partitions: the broken upload is failed")

        # 5. Runs say what they are.
        visit("/runs", "text=process_media", "runs.png")
        page.get_by_text("Show runs within backfills").click()
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "runs.png"), full_page=True)
        text = page.inner_text("body")
        check("backfill: media_metadata" in text, "runs list: the backfill run says what it is")
        check("cli: " in text or "media_assets/source" in text, "runs list: the CLI run says where it came from")
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ui_screenshots"), help="folder for the PNG files")
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help="the shared media folder")
    parser.add_argument("--keep", action="store_true", help="keep the UI running until Ctrl-C")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    check = Checks()
    work = Path(tempfile.mkdtemp(prefix="ui_screenshots_"))
    inputs = work / "uploads"
    inputs.mkdir()
    for name, rel in INPUTS.items():
        (inputs / name).symlink_to(args.media / rel)
    entry = Path(sys.executable).parent / "media-assets"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_ASSETS_", "DAGSTER_"))}
    common = ["--out", str(work / "store"), "--dagster-home", str(work / "home")]
    print(f"processing {len(INPUTS)} uploads in {work}", flush=True)
    done = subprocess.run([str(entry), "process", str(inputs), *common, "--quiet"], cwd=work, env=env)
    check(done.returncode != 0, "process reports the broken upload (exit code != 0)")
    keys = partition_keys(work / "store")
    print(f"partition keys: {keys}", flush=True)
    check(keys.get("Interview March.mp4", "").startswith("interview-march-"), "the partition key is readable")
    port = free_port()
    log = (work / "ui.log").open("w")
    ui = subprocess.Popen([str(entry), "ui", *common, "--port", str(port)], cwd=work, env=env, stdout=log,
                          stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_for_ui(port, ui)
        backfill = launch_backfill(port, keys["Maple Leaf Fades.mp4"])
        deadline = time.monotonic() + 300
        runs: list[dict] = []
        while time.monotonic() < deadline:
            runs = backfill_runs(port, backfill)
            if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
                break
            time.sleep(3)
        tags = [{t["key"]: t["value"] for t in r["tags"]} for r in runs]
        print(f"backfill runs: {[(r['jobName'], r['status']) for r in runs]}", flush=True)
        check(bool(runs) and all(r["status"] == "SUCCESS" for r in runs), "the backfill ran and succeeded")
        check(all(t.get("media_assets/source") == "backfill" for t in tags) and bool(tags),
              f"backfill runs are tagged: {[t.get('media_assets/what') for t in tags]}")  # fmt: skip
        screenshots(port, args.out, keys, check)
        print(f"screenshots in {args.out.resolve()}")
        if args.keep:
            print(f"UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
            ui.wait()
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, 2)
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, 9)
        shutil.rmtree(work, ignore_errors=True)
    print("all checks passed" if not check.failed else f"{check.failed} checks failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
