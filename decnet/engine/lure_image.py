"""The lure image (`decnet-lure:0.1`): every catalogue service's default, built without a registry.

No registry is reachable from the hosts decnet targets, so the image is assembled locally: a
root filesystem holding the static busybox binary, its applet links and the `/bin/lure`
entrypoint, streamed as a tar archive into `docker import`. Nothing touches the disk but the
engine's own storage.

The entrypoint reads `DECNET_PORTS` (`22/tcp 80/tcp 53/udp`) and keeps a listener on each port;
with no ports it only sleeps, which is what a decky's base container does.

`decnet image build lure` builds it (decnet.engine.images: every image decnet builds).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from decnet.errors import EnvironmentProblem

LURE_IMAGE = "decnet-lure:0.1"
BUSYBOX = Path("/bin/busybox")
LABEL = "decnet.image=lure"

_APPLET_NAMES = (
    "sh sleep ip nc httpd ping sysctl cat ls echo env wget grep sed tr printf mkdir kill ps"
    " netstat hostname id true false test [ head tail awk date uname wc rm"
)
APPLETS = tuple(_APPLET_NAMES.split())
"""Busybox applets linked into /bin: the lure's needs plus what an operator debugs with."""

_MTIME = 0
"""Fixed timestamps keep the archive byte-identical across builds of the same busybox."""

LURE_SCRIPT = r"""#!/bin/sh
# decnet lure: keep a listener on every port of DECNET_PORTS ("22/tcp 80/tcp 53/udp").
# With no ports it only sleeps: that is a decky's base container, which holds the network
# namespace its service containers join.

log() { echo "lure: $*" >&2; }

# The service's banner, if its catalogue entry declares one: DECNET_<SERVICE>_BANNER.
svc=$(echo "${DECNET_SERVICE:-}" | tr 'a-z-' 'A-Z_')
case "$svc" in
  *[!A-Z0-9_]*) svc="" ;;
esac
if [ -n "$svc" ]; then
  eval "DECNET_BANNER=\${DECNET_${svc}_BANNER:-}"
  export DECNET_BANNER
fi

web_root() {
  mkdir -p /tmp/www
  title=${DECNET_HTTP_TITLE:-It works}
  printf '<html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n' \
    "$title" "$title" >/tmp/www/index.html
}

listen_tcp() {
  case "$1" in
    80|443|8080) web_root; httpd -f -p "$1" -h /tmp/www & ;;
    *) nc -ll -p "$1" -e /bin/lure-session & ;;
  esac
}

# This busybox's nc has no UDP mode; a build that has one (-u) gets a respawning listener.
listen_udp() {
  if nc --help 2>&1 | grep -q -- '-u'; then
    ( while :; do nc -u -l -p "$1" -e /bin/lure-session; done ) &
  else
    log "no UDP listener in this busybox; port $1/udp stays closed"
  fi
}

for spec in ${DECNET_PORTS:-}; do
  port=${spec%%/*}
  proto=${spec#*/}
  [ "$proto" = "$spec" ] && proto=tcp
  case "$port" in
    ''|*[!0-9]*) log "ignoring bad port spec '$spec'"; continue ;;
  esac
  case "$proto" in
    tcp) listen_tcp "$port" ;;
    udp) listen_udp "$port" ;;
    *) log "ignoring bad protocol in '$spec'" ;;
  esac
done

# Sleep in the background and wait, so SIGTERM is handled at once even when the shell is
# PID 1 (no `init: true`): a foreground sleep would delay the trap until it returns.
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done
"""

SESSION_SCRIPT = r"""#!/bin/sh
# One accepted connection (stdin/stdout are the socket): greet with the banner, then echo.
[ -n "${DECNET_BANNER:-}" ] && printf '%s\r\n' "$DECNET_BANNER"
exec cat
"""


def _docker(docker: str) -> str:
    path = shutil.which(docker)
    if path is None:
        raise EnvironmentProblem(
            f"the docker CLI ({docker!r}) is not on PATH",
            hint="run scripts/setup-host.sh (installs docker.io) or put docker on PATH",
        )
    return path


def lure_image_present(docker: str = "docker", tag: str = LURE_IMAGE) -> bool:
    """Whether the engine has the lure image; an unreachable engine is an error, not False."""
    proc = subprocess.run(
        [_docker(docker), "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 0:
        return True
    if "no such image" in proc.stderr.lower():
        return False
    raise EnvironmentProblem(
        f"cannot ask the Docker engine about {tag}: {proc.stderr.strip() or proc.returncode}",
        hint="start dockerd (scripts/setup-host.sh) and check `docker info`",
    )


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, _MTIME
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, _MTIME
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, _MTIME
    tar.addfile(info)


def rootfs_tar(busybox: Path = BUSYBOX) -> bytes:
    """The image's whole root filesystem as a tar archive (root-owned, fixed timestamps)."""
    if not busybox.is_file():
        raise EnvironmentProblem(
            f"{busybox} is missing: the lure image is built from static busybox",
            hint="apt-get install busybox-static",
        )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "etc", "proc", "sys", "dev", "var"):
            _add_dir(tar, d)
        _add_dir(tar, "tmp", 0o1777)
        _add_file(tar, "bin/busybox", busybox.read_bytes(), 0o755)
        for applet in APPLETS:
            _add_link(tar, f"bin/{applet}", "busybox")
        _add_file(tar, "bin/lure", LURE_SCRIPT.encode(), 0o755)
        _add_file(tar, "bin/lure-session", SESSION_SCRIPT.encode(), 0o755)
    return buf.getvalue()


def build_lure_image(
    tag: str = LURE_IMAGE, *, docker: str = "docker", busybox: Path = BUSYBOX
) -> None:
    """Import the lure root filesystem as `tag`, with `/bin/lure` as its entrypoint."""
    archive = rootfs_tar(busybox)
    changes = [
        'ENTRYPOINT ["/bin/lure"]',
        "ENV PATH=/bin",
        f"LABEL {LABEL}",
    ]
    argv = [_docker(docker), "import"]
    for change in changes:
        argv += ["--change", change]
    proc = subprocess.run([*argv, "-", tag], input=archive, capture_output=True, check=False)
    if proc.returncode != 0:
        raise EnvironmentProblem(
            f"docker import of {tag} failed: {proc.stderr.decode(errors='replace').strip()}",
            hint="check `docker info`; scripts/setup-host.sh starts the engine",
        )


def ensure_lure_image(
    tag: str = LURE_IMAGE, *, force: bool = False, docker: str = "docker"
) -> bool:
    """Build the image unless it is there already (or `force`); True when it was built."""
    if not force and lure_image_present(docker, tag):
        return False
    build_lure_image(tag, docker=docker)
    return True
