"""`decnet image build|lock`: the images decnet builds locally (docs/images.md)."""

from __future__ import annotations

import typer

from decnet.cli import common
from decnet.engine.images import IMAGE_NAMES, ImageResult, build_images, lock_sensor

app = typer.Typer(help="Build the local images decnet deploys.", no_args_is_help=True)


@app.command("build")
def build(
    ctx: typer.Context,
    names: list[str] = typer.Argument(
        None, help=f"Images to build: {', '.join(IMAGE_NAMES)}.", show_default=False
    ),
    all_images: bool = typer.Option(False, "--all", help="Build every image."),
    if_missing: bool = typer.Option(
        False,
        "--if-missing",
        help="Skip images that are present (base and sensor: and built from the current inputs).",
    ),
    tag: str = typer.Option(None, "--tag", help="Tag to build (with exactly one image name)."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Build the lure, the Debian base and the sensor image locally (no registry needed)."""
    names = list(names or [])
    tags = None
    if tag is not None:
        if len(names) != 1:
            raise typer.BadParameter("--tag needs exactly one image name", param_hint="--tag")
        tags = {names[0]: tag}
    results = build_images(
        names,
        home=common.settings(ctx).home,
        all_images=all_images,
        if_missing=if_missing,
        tags=tags,
        progress=lambda name, message: common.note(f"[{name}] {message}"),
    )
    if json_out:
        common.print_json([_as_dict(r) for r in results])
        return
    for r in results:
        what = f"built in {r.seconds:.0f} s" if r.built else r.detail or "present"
        common.note(f"{r.tag}: {what} ({r.image_id[:19]})")


def _as_dict(result: ImageResult) -> dict[str, object]:
    return {
        "name": result.name,
        "tag": result.tag,
        "built": result.built,
        "image_id": result.image_id,
        "seconds": round(result.seconds, 1),
        "detail": result.detail,
    }


@app.command("lock")
def lock(ctx: typer.Context) -> None:
    """Re-resolve images/sensor/requirements.in into requirements.lock (hashes included)."""
    count = lock_sensor(common.settings(ctx).home, progress=lambda m: common.note(f"[lock] {m}"))
    common.note(f"requirements.lock: {count} packages; review the diff and commit it")
