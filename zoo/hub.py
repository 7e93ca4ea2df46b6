"""Publishing a student: to the Hugging Face Hub, or into a local Hub cache that ``from_pretrained`` reads.

Only the files a user needs are published (config, weights, tokenizer files, ``distillation.json``, the id
map, ``README.md``); checkpoints and training state never are. The recommended size of a language goes to two
repositories, ``org/time-xh`` and ``org/time-xh-xs`` (see :func:`zoo.card.repo_ids`).

The local mode writes the layout of ``huggingface_hub``'s cache: ``models--org--name/blobs/<hash>`` (git
blob sha1 for regular files, sha256 for LFS files, as the Hub's etags), ``snapshots/<commit>/<file>`` as
relative symlinks to the blobs, and ``refs/main`` holding the commit. The commit id is the sha1 of a real git
commit object (fixed author and date, no parent) over the git tree of the files, so it depends on the content
only: publishing identical content again is a no-op. Blobs and the snapshot are written first and
``refs/main`` is moved last, atomically, so a killed publish leaves ``refs/main`` at a complete snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from zoo import card
from zoo.errors import OfflineError, UsageError, ZooError
from zoo.fileio import exclusive_lock, write_text_atomic
from zoo.results import git_commit

# What a published model holds (anything else in a student directory is left out).
PUBLISHED_NAMES = {
    "config.json",
    "distillation.json",
    "README.md",
    "model.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "vocab.txt",
    "merges.txt",
}
_SHARD = re.compile(r"^model-\d{5}-of-\d{5}\.safetensors$")
_ID_MAP = re.compile(r"^[A-Za-z0-9_.-]*(vocab|id_?map|ids)[A-Za-z0-9_.-]*\.json$")
TRAINING_STATE = {"trainer_state.json", "training_args.json"}

# Files the Hub stores in LFS: its default .gitattributes patterns that apply here, and anything >= 10 MiB.
LFS_SUFFIXES = (".safetensors", ".bin", ".model", ".onnx", ".pt", ".pth", ".h5", ".msgpack")
LFS_MIN_BYTES = 10 * 1024 * 1024
_COMMIT_IDENT = "TiME Zoo <time-zoo@localhost> 0 +0000"


@dataclass
class PublishedFile:
    """One file of a publish, with the hashes the Hub would give it."""

    name: str
    path: Path
    size: int
    lfs: bool
    sha256: str
    git_sha1: str  # of the blob git stores (the LFS pointer for LFS files)

    @property
    def blob(self) -> str:
        """The blob name in the Hub cache: sha256 for LFS files, git sha1 otherwise (as the Hub's etags)."""
        return self.sha256 if self.lfs else self.git_sha1


@dataclass
class PublishPlan:
    """What a publish will do: which repos, which files, which commit message."""

    lang: str
    size: str
    model_dir: Path
    repo_ids: list[str]
    files: list[PublishedFile]
    skipped: list[str]
    message: str
    warnings: list[str] = field(default_factory=list)

    @property
    def commit(self) -> str:
        """The content-derived commit id of the local cache snapshot."""
        return snapshot_commit(self.files)


# --------------------------------------------------------------------------------------------------
# which files, and their hashes


def is_published(name: str) -> bool:
    """Whether a top-level file of a student directory belongs in a published model."""
    if name.startswith(".") or name in TRAINING_STATE:
        return False
    return name in PUBLISHED_NAMES or bool(_SHARD.match(name)) or bool(_ID_MAP.match(name))


def _git_sha1(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def hash_file(path: Path) -> tuple[str, str, int]:
    """(sha256, git blob sha1, size) of a file, in one pass."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha256.update(chunk)
            git.update(chunk)
    return sha256.hexdigest(), git.hexdigest(), size


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file git stores in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def publishable_files(model_dir: Path) -> tuple[list[PublishedFile], list[str]]:
    """The files to publish from ``model_dir`` (sorted by name) and the names left out."""
    files, skipped = [], []
    for p in sorted(model_dir.iterdir(), key=lambda p: p.name):
        if p.is_dir():
            skipped.append(p.name + "/")
        elif not is_published(p.name):
            skipped.append(p.name)
        elif p.is_file():
            sha256, git_sha1, size = hash_file(p)
            lfs = p.suffix in LFS_SUFFIXES or size >= LFS_MIN_BYTES
            stored = _git_sha1("blob", lfs_pointer(sha256, size)) if lfs else git_sha1
            files.append(PublishedFile(p.name, p, size, lfs, sha256, stored))
    return files, skipped


def snapshot_commit(files: list[PublishedFile]) -> str:
    """The sha1 of a git commit (fixed author/date, no parent) whose tree holds exactly ``files``."""
    entries = b"".join(
        b"100644 " + f.name.encode() + b"\0" + bytes.fromhex(f.git_sha1)
        for f in sorted(files, key=lambda f: f.name.encode())
    )
    tree = _git_sha1("tree", entries)
    body = f"tree {tree}\nauthor {_COMMIT_IDENT}\ncommitter {_COMMIT_IDENT}\n\nTiME Zoo local publish\n"
    return _git_sha1("commit", body.encode())


# --------------------------------------------------------------------------------------------------
# the plan (shared by the Hub and the local mode)


def commit_message(lang: str, size: str, summary: str, revision: str, code_commit: str | None) -> str:
    """``TiME xh-xs: 5 tasks × 3 seeds, bench eager/onnx-int8, model rev 1a2b3c, code abc123``."""
    msg = f"TiME {lang}-{size}: {summary}, model rev {revision}"
    return msg + (f", code {code_commit}" if code_commit else "")


def plan_publish(
    lang: str,
    size: str | None = None,
    model_dir: str | Path | None = None,
    org: str = "time",
    allow_unevaluated: bool = False,
) -> PublishPlan:
    """Check that a student can be published (card present and current, results present) and plan it."""
    student = card.locate_student(lang, size, model_dir)
    readme = student.path / "README.md"
    rerun = (
        f"zoo card --lang {student.spec.code} --size {student.size}"
        + (f" --model {student.path}" if model_dir is not None else "")
        + (f" --org {org}" if org != "time" else "")
    )
    if not readme.is_file():
        raise ZooError(f"{student.path} has no model card (README.md)", hint=f"run: {rerun}")
    stamp = card.read_stamp(readme.read_text(encoding="utf-8"))
    now = card.current_stamp(student, org)
    if stamp is None:
        raise ZooError(f"{readme} was not written by `zoo card`", hint=f"run: {rerun}")
    if stamp.get("org") != org:
        raise ZooError(
            f"{readme} names the organisation '{stamp.get('org')}', not '{org}'", hint=f"run: {rerun}"
        )
    if stamp.get("revision") != now["revision"] or stamp.get("size") != now["size"]:
        raise ZooError(
            f"{readme} describes another version of the model (revision {stamp.get('revision')}, "
            f"now {now['revision']})",
            hint=f"run: {rerun}",
        )
    if stamp.get("results") != now["results"]:
        raise ZooError(f"the results store changed since {readme} was written", hint=f"run: {rerun}")
    warnings = []
    if now["evaluated"] == 0:
        if not allow_unevaluated:
            raise ZooError(
                f"{student.model_id} (revision {student.revision}) has no evaluation results",
                hint=f"run: zoo eval --lang {student.spec.code} --size {student.size}, "
                "or pass --allow-unevaluated to publish it anyway",
            )
        warnings.append("publishing a model with no evaluation results (--allow-unevaluated)")
    files, skipped = publishable_files(student.path)
    names = {f.name for f in files}
    for need in ("config.json", "README.md"):
        if need not in names:
            raise ZooError(f"{student.path} has no {need}")
    if not any(n.endswith(".safetensors") for n in names):
        raise ZooError(f"{student.path} has no safetensors weights")
    if "tokenizer.json" not in names and "tokenizer_config.json" not in names:
        raise ZooError(f"{student.path} has no tokenizer files", hint="was the distillation finished?")
    message = commit_message(student.spec.code, student.size, now["summary"], student.revision, git_commit())
    return PublishPlan(
        student.spec.code,
        student.size,
        student.path,
        card.repo_ids(student.spec, student.size, org),
        files,
        skipped,
        message,
        warnings,
    )


def describe(plan: PublishPlan, target: str) -> list[str]:
    """Human-readable lines of the operations a publish performs (the ``--dry-run`` output)."""
    total = sum(f.size for f in plan.files)
    lines = [f"model: {plan.model_dir} ({plan.lang}-{plan.size})"]
    lines += [f"warning: {w}" for w in plan.warnings]
    for repo in plan.repo_ids:
        if target == "hub":
            lines.append(f"create_repo(repo_id='{repo}', repo_type='model', exist_ok=True)")
            lines.append(
                f"upload_folder(repo_id='{repo}', folder_path='{plan.model_dir}', "
                f"{len(plan.files)} files, {total:,} bytes, delete_patterns='*')"
            )
        else:
            lines.append(f"snapshot {repo} @ {plan.commit} ({len(plan.files)} files, {total:,} bytes)")
    for f in plan.files:
        lines.append(f"  {f.name}  {f.size:,} bytes{'  (LFS)' if f.lfs else ''}  {f.blob}")
    if plan.skipped:
        lines.append(f"not published: {', '.join(plan.skipped)}")
    lines.append(f"commit message: {plan.message}")
    return lines


# --------------------------------------------------------------------------------------------------
# Hub


def hub_token() -> str:
    """The Hub token from ``HF_TOKEN`` (never printed)."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise UsageError("HF_TOKEN is not set", hint="export HF_TOKEN=<a write token>, or use --dry-run")
    return token


def publish_hub(plan: PublishPlan, token: str | None = None) -> list[str]:
    """Create the repos (if needed) and upload the files, one commit per repo; return the commit URLs."""
    try:  # huggingface_hub 2.x talks through httpx2, 1.x through httpx
        import httpx2 as httpx
    except ImportError:
        import httpx
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise OfflineError(
            "HF_HUB_OFFLINE is set: cannot publish to the Hub",
            hint="unset it, use --to local DIR, or --dry-run",
        )
    api = HfApi(token=token or hub_token())
    names = [f.name for f in plan.files]
    urls = []
    for repo in plan.repo_ids:
        try:
            api.create_repo(repo, repo_type="model", exist_ok=True)
            info = api.upload_folder(
                repo_id=repo,
                folder_path=plan.model_dir,
                allow_patterns=names,
                delete_patterns="*",
                commit_message=plan.message,
                repo_type="model",
            )
        except OfflineModeIsEnabled as e:
            raise OfflineError(f"cannot publish {repo}: {e}") from None
        except HfHubHTTPError as e:
            raise ZooError(
                f"the Hub refused {repo}: {str(e).splitlines()[0]}",
                hint="check that HF_TOKEN can write to the organisation",
            ) from None
        except (OSError, httpx.TransportError) as e:
            raise OfflineError(f"cannot reach the Hub for {repo}: {e}", hint="check the network") from None
        urls.append(str(getattr(info, "commit_url", info)))
    return urls


# --------------------------------------------------------------------------------------------------
# local Hub cache


@dataclass
class LocalSnapshot:
    """The outcome of one local publish: the repo folder, its commit and whether refs/main moved."""

    repo_id: str
    folder: Path
    commit: str
    previous: str | None

    @property
    def changed(self) -> bool:
        return self.previous != self.commit


def repo_folder(cache: Path, repo_id: str) -> Path:
    """``<cache>/models--org--name``, as huggingface_hub names it."""
    return cache / ("models--" + repo_id.replace("/", "--"))


def _copy_blob(src: Path, blob: Path, sha256: str) -> None:
    if blob.is_file():
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{blob.name[:16]}.", suffix=".incomplete", dir=blob.parent)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise ZooError(f"{src} changed while it was being published", hint="publish again")
        os.chmod(tmp, 0o644)
        os.replace(tmp, blob)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_leftovers(blobs: Path, snaps: Path) -> None:
    """Remove what a killed publish left (our temp blobs and snapshot dirs); the caller holds the lock."""
    for tmp in blobs.glob(".*.incomplete"):
        tmp.unlink(missing_ok=True)
    for tmp in snaps.glob(".*.partial"):
        shutil.rmtree(tmp, ignore_errors=True)


def _snapshot_complete(snap: Path, files: list[PublishedFile]) -> bool:
    if not snap.is_dir() or {p.name for p in snap.iterdir()} != {f.name for f in files}:
        return False
    return all(
        os.readlink(snap / f.name) == f"../../blobs/{f.blob}" and (snap / f.name).is_file() for f in files
    )


def publish_local(plan: PublishPlan, cache: str | Path) -> list[LocalSnapshot]:
    """Write the plan's files into the Hub cache at ``cache`` for each repo; move ``refs/main`` last."""
    cache = Path(cache).expanduser().resolve()
    if cache.exists() and not cache.is_dir():
        raise UsageError(f"{cache} is not a directory")
    commit = plan.commit
    out = []
    for repo in plan.repo_ids:
        folder = repo_folder(cache, repo)
        with exclusive_lock(cache / ".locks" / folder.name / "zoo-publish.lock", what=f"the cache of {repo}"):
            blobs, snaps, ref = folder / "blobs", folder / "snapshots", folder / "refs" / "main"
            _remove_leftovers(blobs, snaps)
            previous = ref.read_text(encoding="utf-8").strip() if ref.is_file() else None
            for d in (blobs, snaps, ref.parent):
                d.mkdir(parents=True, exist_ok=True)
            for f in plan.files:
                _copy_blob(f.path, blobs / f.blob, f.sha256)
            snap = snaps / commit
            if not _snapshot_complete(snap, plan.files):
                tmp = Path(tempfile.mkdtemp(prefix=f".{commit}.", suffix=".partial", dir=snaps))
                try:
                    for f in plan.files:
                        os.symlink(f"../../blobs/{f.blob}", tmp / f.name)
                    if snap.exists():
                        shutil.rmtree(snap)
                    os.replace(tmp, snap)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
            if previous != commit:
                write_text_atomic(ref, commit)  # no newline, as huggingface_hub writes it
        out.append(LocalSnapshot(repo, folder, commit, previous))
    return out
