"""``seganypet serve --root DIR``: the click-to-segment viewer and REST API in a browser.

Binds to 127.0.0.1 by default; any other address needs ``--token`` (every ``/api`` request
then carries ``Authorization: Bearer <token>``). Scans open by paths relative to ``--root``
(``http://127.0.0.1:8765/?path=patient1/SUV.nii.gz``) or by upload.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from seganypet.cli._options import add_session_rule_arguments, session_rules

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the browser viewer and the REST API for interactive segmentation",
        description="Start the seganypet server: open scans under --root in the browser "
        "viewer, click to segment, see SUV statistics live, download the label map.")
    parser.add_argument("--root", type=Path, required=True,
                        help="folder of scans; paths outside it are refused")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; others need --token)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--token", default=os.environ.get("SEGANYPET_TOKEN"),
                        help="bearer token required on /api (default: $SEGANYPET_TOKEN)")
    parser.add_argument("--max-sessions", type=int, default=8, help="open sessions at most")
    parser.add_argument("--max-upload-mb", type=float, default=512.0,
                        help="largest accepted upload in MB (default 512)")
    parser.add_argument("--idle-minutes", type=float, default=60.0,
                        help="close a session unused this long (default 60; it is autosaved)")
    parser.add_argument("--memory-mb", type=float, default=4096.0,
                        help="estimated memory of all sessions at most; LRU ones are closed "
                        "above it (default 4096)")
    parser.add_argument("--model", default="default", help="model name or checkpoint path")
    parser.add_argument("--work-dir", type=Path, default=Path("seganypet-sessions"),
                        help="per-session folders: autosaved labels, uploads, annotation.jsonl "
                        "(default ./seganypet-sessions)")
    parser.add_argument("--device", default="cpu")
    add_session_rule_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.errors import InputError
    from seganypet.server.config import ServerConfig

    if not 0 < args.port < 65536:
        raise InputError(f"--port must lie in 1..65535, got {args.port}")
    # The config refuses a non-loopback host without a token before any model is loaded.
    config = ServerConfig(root=args.root, work_dir=args.work_dir, model=args.model,
                          token=args.token, max_sessions=args.max_sessions,
                          max_upload_mb=args.max_upload_mb, idle_seconds=60 * args.idle_minutes,
                          memory_mb=args.memory_mb, host=args.host, device=args.device,
                          **session_rules(args))
    import uvicorn

    from seganypet.server.app import create_app

    app = create_app(config)
    print(f"seganypet serve: http://{args.host}:{args.port}/ (root {config.root}, "
          f"sessions in {config.work_dir})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
