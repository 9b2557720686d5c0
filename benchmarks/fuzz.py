"""Mutation fuzzing of the CLI: bit flips, truncations, insertions, header and size edits over
the samples, captures, tar, tar.gz and 7z archives, signed bundles (re-signed after the edit,
so the edit reaches what is read after the signature check), ledgers, CSLU archives and
settings files. Every run must exit 0, 1, 3 or 4, print no traceback, not die of a signal,
end within 10 s and write nothing outside its destination.

    python benchmarks/fuzz.py [--runs 10000] [--jobs 2] [--seed 1]

Each run forks from a process that has airgap loaded (a few ms a run, not a new interpreter),
and prints the count of each outcome; a failing run is printed with a recipe to repeat it.
``tests/test_fuzz.py`` drives the same corpus and mutations, fewer of them, in the default
suite.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ALLOWED = (0, 1, 3, 4)
GOOD = frozenset(f"exit {code}" for code in ALLOWED)
HANG_SECONDS = 10
KINDS = ("flip", "truncate", "insert", "delete", "header", "size", "duplicate")


@dataclass(frozen=True)
class Mutation:
    """One edit: its kind, where (a fraction of the length) and a value that says how."""

    kind: str
    at: float
    value: int

    def apply(self, data: bytes) -> bytes:
        """``data`` with this edit made."""
        if not data:
            return bytes([self.value % 256]) if self.kind == "insert" else data
        pos = min(int(self.at * len(data)), len(data) - 1)
        if self.kind == "flip":
            return data[:pos] + bytes([data[pos] ^ (1 << self.value % 8)]) + data[pos + 1 :]
        if self.kind == "truncate":
            return data[:pos]
        if self.kind == "insert":
            return data[:pos] + bytes([self.value % 256]) * (1 + self.value % 9) + data[pos:]
        if self.kind == "delete":
            return data[:pos] + data[pos + 1 + self.value % 64 :]
        if self.kind == "header":  # the first 1 KiB: magic numbers, tar headers, XML prolog
            pos = int(self.at * min(len(data), 1024))
            return data[:pos] + bytes([self.value % 256]) + data[pos + 1 :]
        if self.kind == "size":
            return _edit_number(data, pos, self.value)
        chunk = data[pos : pos + 1 + self.value % 512]  # duplicate
        return data[:pos] + chunk * (2 + self.value % 3) + data[pos:]


_NUMBER = re.compile(rb"[0-9]+")
_SIZES = (
    b"0",
    b"1",
    b"7",
    b"99999999999",
    b"77777777777",
    b"18446744073709551616",
    b"-1",
    b"4294967295",
    b"0000000",
    b"1" * 40,
)


def _edit_number(data: bytes, pos: int, value: int) -> bytes:
    """The run of digits nearest after ``pos`` (a tar size in octal, a Payload-Oxum, a
    count, a seq, a size in a trusted comment) replaced by an edge value; the gzip ISIZE
    trailer when there are no digits."""
    found = _NUMBER.search(data, pos) or _NUMBER.search(data)
    if found is None:
        if data[:2] == b"\x1f\x8b" and len(data) > 8:
            return data[:-4] + (value % (1 << 32)).to_bytes(4, "little")
        return data
    new = _SIZES[value % len(_SIZES)]
    if value % 2 and len(new) <= found.end() - found.start():  # same width: a tar field
        new = new.rjust(found.end() - found.start(), b"0")
    return data[: found.start()] + new + data[found.end() :]


def random_mutations(rng: random.Random) -> tuple[Mutation, ...]:
    """One to three edits."""
    return tuple(
        Mutation(rng.choice(KINDS), rng.random(), rng.randrange(1 << 32))
        for _ in range(rng.choice((1, 1, 1, 2, 3)))
    )


@dataclass(frozen=True)
class Seed:
    """A file to mutate, where it goes in a run's folder, and the commands that read it.

    Commands name ``{file}`` (the mutated file), ``{dest}`` (the one path a command may
    write), ``{pub}`` (the trusted public key) and ``{sample}`` (a valid usage file)."""

    name: str
    data: bytes = field(repr=False)
    commands: tuple[tuple[str, ...], ...] = field(repr=False)
    place: str = ""  # where the mutated bytes go in a run's folder (default: the name)
    subject: str = ""  # the file the command names, when it is not the mutated one
    resign: bool = False  # a bundle: sign it again after the edit, with the trusted key
    extra: dict[str, bytes] = field(default_factory=dict, repr=False)  # other files it needs


XML_COMMANDS = (
    ("validate", "{file}"),
    ("inspect", "{file}"),
    ("validate", "--format", "sarif", "{file}"),
    ("validate", "--format", "junit", "{file}"),
    ("inspect", "--format", "json", "{file}"),
    ("reconcile", "{file}"),
    ("diff", "{sample}", "{file}"),
)
CAPTURE_COMMANDS = (
    ("state", "{file}"),
    ("inspect", "{file}"),
    ("deadlines", "{file}"),
    ("reconcile", "{file}"),
    ("diff", "{file}", "{file}"),
    ("state", "--format", "json", "{file}"),
)
ARCHIVE_COMMANDS = (
    ("validate", "{file}"),
    ("inspect", "{file}"),
    ("validate", "--format", "json", "{file}"),
    ("reconcile", "{file}"),
)
BUNDLE_COMMANDS = (
    ("bundle", "verify", "{file}", "--trusted-key", "{pub}"),
    ("bundle", "extract", "--no-scan-required", "{file}", "{dest}", "--trusted-key", "{pub}"),
    ("bundle", "list", "{file}"),
    ("inspect", "{file}"),
)
LEDGER_COMMANDS = (
    ("ledger", "verify", "--ledger", "{file}"),
    ("ledger", "show", "--ledger", "{file}"),
    ("ledger", "export", "--ledger", "{file}"),
)
CSLU_COMMANDS = (
    ("cslu", "unpack", "{file}", "{dest}"),
    ("inspect", "{file}"),
    ("validate", "{file}"),
)
CONFIG_COMMANDS = (("config", "show"), ("validate", "{sample}"))


@dataclass(frozen=True)
class Corpus:
    """The seeds and what every run shares: a HOME with the host key and the key pair."""

    folder: Path
    seeds: tuple[Seed, ...] = field(repr=False)
    secret: bytes = field(default=b"", repr=False)  # the unencrypted secret key that signs bundles
    unbuilt: tuple[str, ...] = ()  # seeds airgap itself could not make, and why


def _cli(home: Path, *args: str | Path) -> str:
    """Run the CLI; its last stderr line when it fails, else ''."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRGAP_")},
        **environment(home),
    }
    done = subprocess.run(
        [sys.executable, "-m", "airgap", *map(str, args)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        return f"exit {done.returncode}: {' '.join(map(str, args[:2]))}: {done.stderr.strip()}"
    return ""


def environment(home: Path) -> dict[str, str]:
    """A hermetic environment under ``home``."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AIRGAP_SYSTEM_CONFIG": str(home / "etc" / "config.toml"),
        "NO_COLOR": "1",
    }


def _archive(members: dict[str, bytes], *, gz: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0) if gz else buffer.getvalue()


def _seven_zip(members: dict[str, bytes]) -> bytes | None:
    try:
        import py7zr
    except ImportError:
        return None
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return buffer.getvalue()


def build_corpus(folder: Path) -> Corpus:
    """Seeds of every kind, made fresh with the real CLI in ``folder``."""
    home = folder / "home"
    home.mkdir(parents=True)
    xml = sorted(
        [*SAMPLES.glob("*.xml"), *SAMPLES.glob("invalid/*.xml"), *SAMPLES.glob("warnings/*.xml")]
    )
    seeds = [Seed(f"xml/{p.parent.name}-{p.name}", p.read_bytes(), XML_COMMANDS) for p in xml]
    seeds += [
        Seed(f"show/{p.name}", p.read_bytes(), CAPTURE_COMMANDS)
        for p in sorted(SAMPLES.glob("show/*.txt"))
    ]
    members = {f"usage/{p.name}": p.read_bytes() for p in xml[:4]}
    members["show/status.txt"] = (SAMPLES / "show" / "c9300-status.txt").read_bytes()
    seeds.append(Seed("usage.tar", _archive(members, gz=False), ARCHIVE_COMMANDS))
    seeds.append(Seed("usage.tar.gz", _archive(members, gz=True), ARCHIVE_COMMANDS))
    if (seven := _seven_zip(members)) is not None:
        seeds.append(Seed("usage.7z", seven, ARCHIVE_COMMANDS))

    usage = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
    key = home / "op"
    _cli(home, "key", "generate", "--out", key, "--no-passphrase")
    ledger = home / "ledger.jsonl"
    for step in ("note", "cssm.upload", "note"):
        _cli(home, "ledger", "record", "--step", step, "--ledger", ledger, "--material", usage)
    seeds.append(Seed("ledger.jsonl", ledger.read_bytes(), LEDGER_COMMANDS))
    unbuilt = []
    for archive in ("tar.gz", "tar", "7z"):
        out = home / f"usage.{archive}"
        if failed := _cli(
            home,
            "bundle",
            "create",
            "--out",
            out,
            usage,
            SAMPLES / "usage-n9k-nxos-v1.xml",
            "--key",
            f"{key}.key",
            "--archive",
            archive,
        ):
            unbuilt.append(f"bundle.{archive}: {failed}")
            if not _seven_zip_bundle(home / "usage.tar.gz", out, Path(f"{key}.key")):
                continue
        signature = Path(f"{out}.minisig").read_bytes()
        seeds.append(
            Seed(
                f"bundle.{archive}",
                out.read_bytes(),
                BUNDLE_COMMANDS,
                place=out.name,
                resign=True,
                extra={f"{out.name}.minisig": signature},
            )
        )
        seeds.append(
            Seed(
                f"bundle.{archive}.minisig",
                signature,
                BUNDLE_COMMANDS[:2],
                place=f"{out.name}.minisig",
                subject=out.name,
                extra={out.name: out.read_bytes()},
            )
        )
    upload = home / "upload.tar"
    _cli(home, "cslu", "pack", upload, usage)
    seeds.append(Seed("upload.tar", upload.read_bytes(), CSLU_COMMANDS))
    config = b'privacy = "strict"\nexclude = ["old/*"]\n[rules]\nsample-interval = "error"\n'
    seeds.append(
        Seed("user-config", config, CONFIG_COMMANDS, place="home/.config/airgap/config.toml")
    )
    seeds.append(
        Seed(
            "project-config",
            b'exclude = ["a/*"]\n[rules]\nno-reports = "off"\n',
            CONFIG_COMMANDS,
            place="cwd/airgap.toml",
        )
    )
    return Corpus(folder, tuple(seeds), Path(f"{key}.key").read_bytes(), tuple(unbuilt))


def _seven_zip_bundle(bundle: Path, out: Path, key: Path) -> bool:
    """The same bag as ``bundle`` in a 7z archive, signed as airgap signs one (for when
    ``bundle create --archive 7z`` cannot make it)."""
    with tarfile.open(bundle) as tar:
        members = {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
    seven = _seven_zip(members)
    if seven is None:
        return False
    out.write_bytes(seven)
    signature = (
        Path(f"{bundle}.minisig")
        .read_bytes()
        .replace(f"file:{bundle.name}".encode(), f"file:{out.name}".encode())
    )
    Path(f"{out}.minisig").write_bytes(_resign(seven, signature, key.read_bytes()))
    return True


def _resign(data: bytes, signature: bytes, secret: bytes) -> bytes:
    """A bundle edited inside its compression, and signed again with the original trusted
    comment (its budget): what a trusted sender's broken or hostile tool would send."""
    from airgap.signing.minisign import SecretKey, Signature, blake2b_file

    comment = signature.decode().splitlines()[2].removeprefix("trusted comment: ")
    signed = Signature.create(SecretKey.parse(secret.decode(), None), blake2b_file([data]), comment)
    return signed.text().encode()


@dataclass(frozen=True)
class Case:
    """One run: a folder holding the mutated file, and the command line."""

    folder: Path
    argv: tuple[str, ...]
    dest: Path


def prepare(
    corpus: Corpus,
    seed: Seed,
    command: tuple[str, ...],
    mutations: Sequence[Mutation],
    folder: Path,
) -> Case:
    """A run's folder: a copy of the shared HOME, the mutated file, its companions."""
    shutil.copytree(corpus.folder / "home", folder / "home", symlinks=True)
    for name in ("cwd", "tmp"):
        (folder / name).mkdir()
    for name, data in seed.extra.items():
        (folder / name).write_bytes(data)
    data = seed.data
    if seed.resign and seed.name.endswith(".tar.gz"):
        data = gzip.compress(_mutate(gzip.decompress(data), mutations), mtime=0)
    else:
        data = _mutate(data, mutations)
    target = folder / (seed.place or seed.name.replace("/", "-"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if seed.resign:
        signature = folder / f"{target.name}.minisig"
        signature.write_bytes(_resign(data, signature.read_bytes(), corpus.secret))
    subject = folder / seed.subject if seed.subject else target
    values = {
        "file": str(subject),
        "dest": str(folder / "cwd" / "dest"),
        "pub": str(folder / "home" / "op.pub"),
        "sample": str(SAMPLES / "usage-n9k-nxos-v1.xml"),
    }
    return Case(folder, tuple(part.format(**values) for part in command), folder / "cwd" / "dest")


def _mutate(data: bytes, mutations: Sequence[Mutation]) -> bytes:
    for mutation in mutations:
        data = mutation.apply(data)
    return data


def snapshot(folder: Path, dest: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` but ``dest``: a file's size and modification time, a
    folder's presence (a temporary file made and removed beside the destination is fine)."""
    found = {}
    for base, folders, files in os.walk(folder):
        for name in folders:
            if (path := Path(base) / name) != dest and dest not in path.parents:
                found[str(path.relative_to(folder))] = (0, 0)
        for name in files:
            if (path := Path(base) / name) != dest and dest not in path.parents:
                info = path.lstat()
                found[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return found


def written_outside(before: dict[str, tuple[int, int]], case: Case) -> list[str]:
    """What a run changed outside its destination (its private temp folder must be empty)."""
    after = snapshot(case.folder, case.dest)
    return sorted(set(before) ^ set(after) | {p for p in before if before[p] != after.get(p)})


def run_forked(case: Case) -> tuple[str, str]:
    """Run ``airgap ARGV`` in a forked child; the outcome (``exit N``, ``signal N``, ``hang``
    or a problem) and the child's stderr."""
    before = snapshot(case.folder, case.dest)
    err_path = case.folder.with_name(f"{case.folder.name}.stderr")
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(case, err_path)
    deadline = time.monotonic() + HANG_SECONDS
    status = 0
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.002)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "hang", err_path.read_text(errors="replace")
    err = err_path.read_text(errors="replace")
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}", err
    code = os.WEXITSTATUS(status)
    if code not in ALLOWED:
        return f"exit {code}", err
    if "Traceback" in err:
        return "traceback", err
    if outside := written_outside(before, case):
        return f"wrote outside: {outside[:3]}", err
    return f"exit {code}", err


def _child(case: Case, err_path: Path) -> None:
    code = 70
    try:
        os.chdir(case.folder / "cwd")
        for name in [n for n in os.environ if n.startswith("AIRGAP_")]:
            del os.environ[name]
        os.environ.update(environment(case.folder / "home"))
        tempfile.tempdir = str(case.folder / "tmp")
        out = os.open(os.devnull, os.O_WRONLY)
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.argv = ["airgap", *case.argv]
        from airgap.cli.main import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def plan(corpus: Corpus, rng: random.Random) -> tuple[Seed, tuple[str, ...], tuple[Mutation, ...]]:
    """A random seed, one of its commands and one to three edits."""
    seed = rng.choice(corpus.seeds)
    return seed, rng.choice(seed.commands), random_mutations(rng)


def worker(
    corpus: Corpus, runs: int, seed: int, report: Callable[[str, str], None]
) -> Counter[str]:
    """``runs`` random runs; each failure is reported with a recipe to repeat it."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    scratch = Path(tempfile.mkdtemp(prefix="airgap-fuzz-run-"))
    try:
        for _ in range(runs):
            chosen, command, mutations = plan(corpus, rng)
            folder = Path(tempfile.mkdtemp(dir=scratch))
            case = prepare(corpus, chosen, command, mutations, folder)
            outcome, err = run_forked(case)
            counts[outcome] += 1
            if outcome not in GOOD:
                report(
                    outcome,
                    f"--replay {chosen.name!r} {' '.join(command)!r} "
                    f"{repr(mutations)!r}\n{err.strip()[-2000:]}",
                )
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replay",
        nargs=3,
        metavar=("SEED", "ARGV", "MUTATIONS"),
        help="repeat one failing run as printed (seed name, argv, mutations) "
        "with --debug, keeping its folder",
    )
    args = parser.parse_args()
    if args.replay:
        replay(*args.replay)
        return
    work = Path(tempfile.mkdtemp(prefix="airgap-fuzz-"))
    started = time.perf_counter()
    try:
        corpus = build_corpus(work / "corpus")
        for failed in corpus.unbuilt:
            print(f"seed not made: {failed}", file=sys.stderr)
        import airgap.cli.main  # noqa: F401  (loaded once, before forking)

        share = [args.runs // args.jobs + (i < args.runs % args.jobs) for i in range(args.jobs)]
        children = []
        for index, runs in enumerate(share):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                counts = worker(
                    corpus,
                    runs,
                    args.seed * 1000 + index,
                    lambda outcome, recipe: print(
                        f"FAIL {outcome}: {recipe}\n", file=sys.stderr, flush=True
                    ),
                )
                os.write(write, repr(dict(counts)).encode())
                os._exit(0)
            os.close(write)
            children.append((pid, read))
        total: Counter[str] = Counter()
        for pid, read in children:
            with os.fdopen(read, "rb") as pipe:
                text = pipe.read().decode()
            os.waitpid(pid, 0)
            total.update({k: int(v) for k, v in _parse_counts(text).items()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    print(
        f"{sum(total.values())} runs over {len(corpus.seeds)} seeds in {seconds:.0f} s "
        f"({args.jobs} processes)"
    )
    for outcome, count in sorted(total.items()):
        print(f"  {outcome:<12} {count:>6}")
    bad = sum(n for outcome, n in total.items() if outcome not in GOOD)
    print(
        "goal met: no exit 5, no signal, no hang, no traceback, nothing written outside"
        if not bad
        else f"goal NOT met: {bad} runs failed (above)"
    )


def replay(name: str, argv: str, mutations: str) -> None:
    """One run again, in a subprocess with ``--debug``; its folder is kept to look at."""
    work = Path(tempfile.mkdtemp(prefix="airgap-fuzz-replay-"))
    corpus = build_corpus(work / "corpus")
    seed = next(s for s in corpus.seeds if s.name == name)
    edits = eval(mutations, {"Mutation": Mutation})  # the recipe this printed
    case = prepare(corpus, seed, tuple(argv.split()), edits, work / "case")
    print(f"folder: {case.folder}\nrun: airgap {' '.join(case.argv)}")
    env = {**os.environ, **environment(case.folder / "home"), "TMPDIR": str(case.folder / "tmp")}
    done = subprocess.run(
        [sys.executable, "-m", "airgap", "--debug", *case.argv],
        env=env,
        cwd=case.folder / "cwd",
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"exit {done.returncode}\n{done.stderr[-3000:]}")


def _parse_counts(text: str) -> dict[str, int]:
    import ast

    value = ast.literal_eval(text) if text else {}
    return {str(k): int(v) for k, v in value.items()}


if __name__ == "__main__":
    main()
