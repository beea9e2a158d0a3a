"""``media-assets search "QUERY"``: hybrid search over what ``process`` indexed, as a table or JSON lines.

    media-assets search "QUERY" [--out DIR] [--kind KIND ...] [--video KEY_OR_FILE ...] [--top K] [--json]

``--out`` is the data root ``process`` wrote (the indexes are in ``<out>/_index`` unless
``MEDIA_ASSETS_INDEX_DIR`` says otherwise). ``--video`` takes a partition key or a source file (path or
name, looked up in ``<out>/*/source.json``). The query embedding comes from the packaged text model
(``MEDIA_ASSETS_TEXT_MODEL`` overrides it); when it cannot be loaded the search runs on full text only.
Exit codes: 0 (hits or not), 1 (nothing indexed yet), 2 (bad arguments, or the vector store is unreachable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

KINDS = ("segment", "text_event", "scene", "keyframe")
ENV_TEXT_MODEL = "MEDIA_ASSETS_TEXT_MODEL"


def add_search_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``search`` sub-command on ``media-assets``'s sub-parsers."""
    p = subparsers.add_parser("search", help="search transcripts, on-screen text and scenes")
    p.add_argument("query", help="words or a sentence to look for")
    p.add_argument("--out", default="./media_data", help="data root written by `process` (default ./media_data)")
    p.add_argument(
        "--kind",
        action="append",
        default=None,
        help=f"only these kinds ({', '.join(KINDS)}); repeat or separate with commas",
    )
    p.add_argument(
        "--video", action="append", default=None, help="only this video: partition key or source file; repeatable"
    )
    p.add_argument("--top", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object per hit")
    p.add_argument("--index-dir", default=None, help="index folder (default $MEDIA_ASSETS_INDEX_DIR or <out>/_index)")
    p.add_argument(
        "--qdrant-url", default=os.environ.get("MEDIA_ASSETS_QDRANT_URL"), help="Qdrant server with the vectors"
    )
    p.add_argument("--collection", default=None, help="text vector collection (default <prefix>_text)")
    p.add_argument("--fusion", choices=["rrf", "score"], default="rrf", help="how to fuse the two engines")
    p.add_argument("--no-semantic", action="store_true", help="full-text search only (no model is loaded)")
    p.set_defaults(func=run_search)
    return p


def load_query_embedder() -> Any:
    """The text model used at indexing time (packaged all-MiniLM-L6-v2 unless ``MEDIA_ASSETS_TEXT_MODEL``)."""
    from media_assets.core.embed.text_embedder import load_text_embedder

    return load_text_embedder(os.environ.get(ENV_TEXT_MODEL) or None)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def resolve_videos(out: str, videos: list[str]) -> tuple[list[str], list[str]]:
    """Partition keys for ``--video`` values (keys, paths or file names); returns (keys, unmatched values)."""
    root = Path(out).expanduser()
    sources: dict[str, list[str]] = {}
    if not out.startswith("s3://") and root.is_dir():
        for record in root.glob("*/source.json"):
            try:
                data = json.loads(record.read_text())
            except (OSError, ValueError):
                continue
            uris = [data.get("uri") or "", *(data.get("aliases") or [])]
            sources[record.parent.name] = [u for u in uris if u]
    keys: list[str] = []
    unmatched: list[str] = []
    for value in videos:
        if value in sources or (root / value / "source.json").exists():
            keys.append(value)
            continue
        wanted = str(Path(value).expanduser().resolve()) if os.sep in value or Path(value).exists() else None
        found = [
            key for key, uris in sources.items() if any(u in (value, wanted) or Path(u).name == value for u in uris)
        ]
        if found:
            keys.extend(found)
        elif out.startswith("s3://"):
            keys.append(value)  # cannot list an S3 root here: take it as a partition key
        else:
            unmatched.append(value)
    return list(dict.fromkeys(keys)), unmatched


def _clock(t: float) -> str:
    minutes, seconds = divmod(max(t, 0.0), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{seconds:04.1f}" if hours else f"{minutes:02d}:{seconds:04.1f}"


def run_search(args: argparse.Namespace) -> int:
    from rich.console import Console

    from media_assets.core.search.hybrid import search
    from media_assets.core.search.index_paths import default_index_dir, fulltext_dir, vectors_dir
    from media_assets.core.search.vector_store import VectorStoreError, open_vector_store

    err = Console(stderr=True)
    if args.top <= 0:
        err.print("[red]--top must be positive")
        return 2
    kinds = _split(args.kind)
    bad = [k for k in kinds or [] if k not in KINDS]
    if bad:
        err.print(f"[red]unknown kind(s): {', '.join(bad)}; choose from {', '.join(KINDS)}")
        return 2
    partitions = None
    if args.video:
        partitions, unmatched = resolve_videos(args.out, _split(args.video) or [])
        if unmatched:
            err.print(f"[yellow]no processed video matches: {', '.join(unmatched)}")
        if not partitions:
            return _print([], args)
    index_dir = Path(args.index_dir).expanduser() if args.index_dir else default_index_dir(args.out)
    prefix = os.environ.get("MEDIA_ASSETS_COLLECTION_PREFIX") or "media"
    collection = args.collection or f"{prefix}_text"
    has_vectors = bool(args.qdrant_url) or (vectors_dir(index_dir) / collection).exists()
    if not has_vectors and not (fulltext_dir(index_dir) / "meta.json").exists():
        err.print(f"[yellow]nothing indexed in {index_dir}: run `media-assets process` with the embeddings first")
        return 1

    embedder = None
    if not args.no_semantic and has_vectors:
        try:
            embedder = load_query_embedder()
        except Exception as exc:  # a missing model degrades to full text, it does not stop the search
            err.print(f"[yellow]semantic search off: {exc}")
    store = None
    try:
        if embedder is not None and args.qdrant_url:
            store = open_vector_store(url=args.qdrant_url, api_key=os.environ.get("MEDIA_ASSETS_QDRANT_API_KEY"))
        hits = search(
            args.query,
            index_dir=index_dir,
            embedder=embedder,
            vector_store=store,
            top_k=args.top,
            kinds=kinds,
            partitions=partitions,
            collection=collection,
            fusion=args.fusion,
        )
    except VectorStoreError as exc:
        err.print(f"[red]{exc}")
        return 2
    finally:
        if store is not None:
            store.close()
    return _print(hits, args)


def _print(hits: list[Any], args: argparse.Namespace) -> int:
    if args.json:
        for hit in hits:
            sys.stdout.write(json.dumps(hit.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not hits:
        console.print("no hits")
        return 0
    table = Table(title=escape(f"{len(hits)} hit(s) for {args.query!r}"), title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", no_wrap=True)
    table.add_column("video / time", max_width=24, overflow="ellipsis", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("text", overflow="fold", min_width=20, ratio=1)
    table.add_column("by", no_wrap=True)
    for i, h in enumerate(hits, start=1):
        video = Path(h.source).name if h.source else h.partition
        by = "both" if len(h.sources) > 1 else (h.sources[0] if h.sources else "")
        where = f"{escape(video)}\n{_clock(h.start)}-{_clock(h.end)}"
        table.add_row(str(i), f"{h.score:.4f}", where, h.kind, escape(h.snippet), by)
    console.print(table)
    return 0
