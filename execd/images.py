"""Sandbox images: content-hash tags, build, check, and the base image bootstrap.

A tag is <prefix>-<language>:<hash of the build context>, so a changed runner
or Dockerfile never runs against a stale image. When the base image cannot be
pulled (no registry reachable), it is made from the Debian mirror the host's
apt already uses, with mmdebstrap, and imported; no mirror address lives here.
"""
import glob
import hashlib
import io
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile

import docker
import docker.errors

from execd import languages
from execd.errors import ImageError

log = logging.getLogger("execd.images")

BASE_REPOSITORY = "debian"
BASE_TAG = "bookworm-slim"
BASE_IMAGE = "%s:%s" % (BASE_REPOSITORY, BASE_TAG)
BASE_SUITE = "bookworm"


def content_hash(language):
    digest = hashlib.sha256()
    for name, path in sorted(language.context()):
        with open(path, "rb") as f:
            data = f.read()
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def image_tag(language, prefix="execd"):
    return "%s-%s:%s" % (prefix, language.name, content_hash(language)[:16])


def build_context(language):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in sorted(language.context()):
            with open(path, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _image_exists(client, ref):
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException as e:
        raise ImageError("Docker failed while looking up %s: %s" % (ref, e)) from e


def host_apt_sources():
    """The host's apt source files, as mmdebstrap mirror arguments."""
    found = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    if os.path.exists("/etc/apt/sources.list") and os.path.getsize("/etc/apt/sources.list") > 0:
        found.append("/etc/apt/sources.list")
    return found


def create_base_image(client):
    """debian:bookworm-slim from the host's Debian mirror (mmdebstrap | docker import)."""
    if shutil.which("mmdebstrap") is None:
        raise ImageError("%s is missing and cannot be pulled; install mmdebstrap (apt-get install mmdebstrap) "
                         "so execd can create it from the host's Debian mirror" % BASE_IMAGE)
    sources = host_apt_sources()
    if not sources:
        raise ImageError("no apt sources found on this host to create %s from" % BASE_IMAGE)
    with tempfile.TemporaryDirectory(prefix="execd-base-", dir="/var/tmp") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        cmd = ["mmdebstrap", "--variant=minbase", "--mode=root", "--quiet",
               "--aptopt=Acquire::Check-Valid-Until \"false\"",
               "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
               "--dpkgopt=path-exclude=/usr/share/locale/*",
               BASE_SUITE, tarball] + sources
        log.info("creating base image from the host's Debian mirror", extra={"image": BASE_IMAGE})
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise ImageError("mmdebstrap failed (%d): %s" % (proc.returncode, proc.stdout[-2000:]))
        try:
            client.api.import_image_from_file(tarball, repository=BASE_REPOSITORY, tag=BASE_TAG)
        except docker.errors.DockerException as e:
            raise ImageError("docker import of the base image failed: %s" % e) from e


def ensure_base_image(client):
    if _image_exists(client, BASE_IMAGE):
        return "present"
    try:
        client.images.pull(BASE_REPOSITORY, tag=BASE_TAG)
        return "pulled"
    except docker.errors.DockerException as e:
        log.warning("cannot pull %s (%s); creating it locally", BASE_IMAGE, str(e)[:200])
    create_base_image(client)
    return "created"


def build(client, language, prefix="execd", progress=None):
    """Build one language's image unless its content-hash tag exists. Returns the tag.

    `progress(text)`, when given, hears each build step ("Step 3/7 : RUN apt-get ...") as the
    engine reports it."""
    tag = image_tag(language, prefix)
    if _image_exists(client, tag):
        return tag
    ensure_base_image(client)
    labels = {"execd.language": language.name, "execd.content-hash": content_hash(language)}
    log_tail = []
    try:
        for chunk in client.api.build(fileobj=build_context(language), custom_context=True, tag=tag, rm=True,
                                      forcerm=True, pull=False, labels=labels, decode=True):
            if "error" in chunk:
                raise ImageError("building %s failed: %s\n%s" % (tag, chunk["error"].strip(),
                                                                  "".join(log_tail)[-3000:]))
            text = chunk.get("stream") or ""
            log_tail = (log_tail + [text])[-200:]
            if progress is not None and text.startswith("Step "):
                progress(text.strip())
    except docker.errors.DockerException as e:
        raise ImageError("building %s failed: %s" % (tag, e)) from e
    if not _image_exists(client, tag):
        raise ImageError("building %s ended without the image:\n%s" % (tag, "".join(log_tail)[-3000:]))
    return tag


def build_all(client, prefix="execd", progress=None):
    """{language: tag}, building what is missing. `progress(text)` hears each image and step."""
    tags = {}
    total = len(languages.LANGUAGES)
    for number, (name, lang) in enumerate(languages.LANGUAGES.items(), 1):
        head = "[%d/%d] %s" % (number, total, name)
        if progress is not None:
            progress("%s: %s" % (head, "up to date" if _image_exists(client, image_tag(lang, prefix))
                                 else "building %s" % image_tag(lang, prefix)))
        step = None if progress is None else (lambda text, head=head: progress("%s: %s" % (head, text)))
        tags[name] = build(client, lang, prefix, progress=step)
    return tags


def prime_page_cache(client, prefix="execd"):
    """Read the compiled languages' image files once, from the host: bytes read.

    A sandbox's memory cgroup is charged for the file pages it is first to read. A compiler
    whose toolchain (rustc's is about 350 MB of files) is not in the page cache then thrashes
    inside a small job's limit: a first Rust compile at 128 MB took 9.8 s here after the cache
    was dropped, against 0.5 s warm. Pages read here are charged to this process instead, and
    sandboxes find them cached. Needs read access to the engine's storage (a host install runs
    as root); elsewhere it reads nothing and says so in the log."""
    total = 0
    for lang in languages.LANGUAGES.values():
        if not lang.compiled:
            continue
        try:
            data = client.images.get(image_tag(lang, prefix)).attrs.get("GraphDriver", {}).get("Data") or {}
        except docker.errors.DockerException as e:
            log.info("page cache not primed for %s: %s", lang.name, e)
            continue
        layers = [d for key in ("UpperDir", "LowerDir") for d in (data.get(key) or "").split(":") if d]
        readable = [d for d in layers if os.access(d, os.R_OK | os.X_OK)]
        if not readable:
            log.info("page cache not primed for %s: its image layers are not readable here", lang.name)
            continue
        for layer in readable:
            total += _read_tree(layer)
    return total


def _read_tree(top):
    done = 0
    for folder, _, files in os.walk(top):
        for name in files:
            path = os.path.join(folder, name)
            try:
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb", buffering=0) as f:
                    while True:
                        chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        done += len(chunk)
            except OSError:
                continue  # a file that vanished or cannot be read: nothing to prime
    return done


def missing_images(client, prefix="execd"):
    """{language: tag} for every image that is absent or stale (its hash tag missing)."""
    return {name: image_tag(lang, prefix) for name, lang in languages.LANGUAGES.items()
            if not _image_exists(client, image_tag(lang, prefix))}
