#!/usr/bin/env bash
# make docker-selftest: build docker/Dockerfile with podman on a local Debian stand-in for its base
# image, and run the package and its tests inside the result (docs/docker.md, "Selftest").
#
# For a Debian or Ubuntu machine without a Docker engine that cannot pull tensorflow/tensorflow, as
# root (apt-get, debootstrap, podman build --isolation chroot). Only Debian's mirror and PyPI are used.
#
#   1 tools     podman and debootstrap, installed with apt-get if absent
#   2 base      the stand-in base localhost/fer-keras-selftest/base:bookworm-<hash of its recipe>:
#               Debian bookworm (debootstrap minbase) with python3, pip allowed system-wide and
#               `python` on PATH, which is what docker/Dockerfile relies on in the real base. Not
#               TensorFlow: `pip install .` installs it from PyPI, as setup.cfg pins it. Reused when
#               an image of the same recipe exists.
#   3 runtime   podman build --target runtime --build-arg BASE=<the stand-in> (the image's own
#               build-time checks: dependencies import, a shipped recipe loads, `fer-keras recipes`)
#   4 test      podman build --target test
#   5 predict   in the runtime image: TensorFlow is the base tag's release; `fer-keras predict` on
#               a photo of a bundled face (docker/selftest/checks.py)
#   6 train     in the runtime image: `fer-keras train amdcnn --epochs 1` on the bundled sample
#   7 tests     in the test image: `python -m pytest -n JOBS tests`, as `make docker-test` runs it
#   8 clean-up  the check images go; the runtime, test and base images stay as the cache of the next run
#
# The last line printed says what passed, the runtime image's size and the time taken, or which
# step failed (with the end of its log, kept in build/docker-selftest/). Every image it makes is
# tagged localhost/fer-keras-selftest/*, and it removes only those; no container or mount is left.
#
# Options (environment): JOBS=2 (pytest workers), FRESH=1 (rebuild the base and every layer),
# DEBIAN_MIRROR=http://deb.debian.org/debian. `selftest.sh --clean` removes its images.
set -euo pipefail
cd "$(dirname "$0")/../.."

PREFIX=localhost/fer-keras-selftest
RUNTIME=$PREFIX/fer-keras:runtime
TEST=$PREFIX/fer-keras:test
CHECK=$PREFIX/check
LOGS=build/docker-selftest
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=ca-certificates,python3,python3-pip,python-is-python3
JOBS=${JOBS:-2}
FRESH=${FRESH:-0}
STEPS=8
# As measured on the machines this was written for: podman's default nproc limit exceeds their hard
# limit, and chroot isolation is what builds there.
BUILD=(podman build --isolation chroot --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --pull=never)

START=$(date +%s)
STEP=""
LOG=""
ROOTFS=""
CONTEXT=""
DONE=0

elapsed() {
    local s=$(($(date +%s) - ${1:-$START}))
    if ((s >= 60)); then echo "$((s / 60)) min $((s % 60)) s"; else echo "$s s"; fi
}

step() {  # step N NAME: announce a step (its log: build/docker-selftest/N-NAME.log)
    STEP="$1/$STEPS $2"
    LOG=$LOGS/$1-$2.log
    STEP_START=$(date +%s)
    : > "$LOG"
    echo "docker-selftest [$STEP] ..."
}

passed() {
    echo "docker-selftest [$STEP] $* ($(elapsed "$STEP_START"))"
}

fail() {  # fail MESSAGE: the end of the step's log, clean up, then the final line naming the step
    if [[ -s $LOG ]]; then
        echo "----- the last 40 lines of $LOG -----"
        tail -n 40 "$LOG"
        echo "-----"
    fi
    cleanup
    DONE=1
    echo "docker-selftest: FAILED at step $STEP: $* (log: $LOG; after $(elapsed))"
    exit 1
}

logged() {  # logged CMD...: run CMD with its output appended to the step's log; fail the step if it fails
    if ! "$@" >> "$LOG" 2>&1; then
        fail "$(printf '%q ' "$@" | cut -c1-200)failed"
    fi
}

containers() {  # every container podman and buildah know of, by ID (sorted)
    podman ps --all --external --quiet --no-trunc 2> /dev/null | sort || true
}

ours() {  # the images tagged PREFIX/*, as repository:tag
    podman images --format '{{.Repository}}:{{.Tag}}' | grep "^$PREFIX/" || true
}

image_id() {
    podman image inspect --format '{{.Id}}' "$1" 2> /dev/null || true
}

drop_if_untagged() {  # an image this script built before under one of its tags, now replaced
    local id=$1
    [[ -n $id ]] || return 0
    if [[ $(podman image inspect --format '{{len .RepoTags}}' "$id" 2> /dev/null || echo 1) == 0 ]]; then
        podman rmi "$id" > /dev/null 2>&1 || true
    fi
}

cleanup() {  # containers and mounts of this script's builds, the build context's copy, the debootstrap root, the check images
    local id image
    while read -r id image; do
        [[ $image == "$PREFIX/"* ]] && podman rm --force "$id" > /dev/null 2>&1 || true
    done < <(podman ps --all --external --format '{{.ID}} {{.Image}}' 2> /dev/null || true)
    if [[ -n $CONTEXT && -d $CONTEXT ]]; then
        rm -rf --one-file-system "$CONTEXT"
    fi
    if [[ -n $ROOTFS && -d $ROOTFS ]]; then
        # debootstrap mounts /proc and /sys in its target (and may bind /dev): unmount before removing
        { grep -o " $ROOTFS/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do umount -l "$mount" || true; done
        rm -rf --one-file-system "$ROOTFS"
    fi
    for image in $(ours | grep "^$CHECK:" || true); do
        podman rmi "$image" > /dev/null 2>&1 || true
    done
}

on_exit() {
    local rc=$?
    if ((DONE == 0)); then
        cleanup
        echo "docker-selftest: FAILED at step ${STEP:-0/$STEPS start} (exit status $rc; log: ${LOG:-none}; after $(elapsed))"
    fi
}

if [[ ${1:-} == --clean ]]; then
    command -v podman > /dev/null || exit 0
    # dependants first: checks, test, runtime, then the bases
    for image in $(ours | grep "^$CHECK:") $(ours | grep "^$TEST$") $(ours | grep "^$RUNTIME$") $(ours | grep "^$PREFIX/base:"); do
        podman rmi "$image"
    done
    echo "docker-selftest: removed the images under $PREFIX/"
    exit 0
fi

mkdir -p "$LOGS"
trap on_exit EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------------------------------- 1 tools
step 1 tools
[[ $(id -u) == 0 ]] || fail "needs root (apt-get, debootstrap, podman build --isolation chroot)"
if ! command -v podman > /dev/null || ! command -v debootstrap > /dev/null; then
    command -v apt-get > /dev/null || fail "podman and debootstrap are missing and there is no apt-get to install them"
    logged apt-get update
    logged env DEBIAN_FRONTEND=noninteractive apt-get install -y podman debootstrap
fi
cleanup  # what an interrupted earlier run left: its build containers (and their mounts), its check images
BEFORE=$(containers)  # the containers that are not this run's (step 8 checks that it adds none)
STORE=$(podman info --format '{{.Store.GraphRoot}}' 2>> "$LOG") || fail "podman info failed"
mkdir -p "$STORE"
FREE_GB=$(($(df --output=avail -k "$STORE" | tail -n 1) / 1024 / 1024))
((FREE_GB >= 12)) || fail "$FREE_GB GB free under $STORE: the images need about 12 GB"
passed "$(podman --version), debootstrap $(dpkg-query -W -f '${Version}' debootstrap 2> /dev/null || echo '?'); $FREE_GB GB free"

# ---------------------------------------------------------------------------------- 2 stand-in base
# What docker/Dockerfile relies on in tensorflow/tensorflow:<version>-gpu, from Debian's packages:
# python3 with pip, pip allowed to install system-wide (no PEP 668 marker) and `python` on PATH.
# The real base also has TensorFlow and CUDA; here `pip install .` brings TensorFlow from PyPI.
# The machine's own added certificate authorities (/usr/local/share/ca-certificates) go in too, so
# that pip reaches PyPI through a TLS-inspecting egress where there is one.
build_base() {  # build_base ROOT TAG (each command checked: `logged` runs it where set -e does not apply)
    local root=$1 tag=$2
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" || return
    printf 'deb %s %s main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE-updates" > "$root/etc/apt/sources.list" || return
    printf 'deb http://deb.debian.org/debian-security %s-security main\n' "$SUITE" >> "$root/etc/apt/sources.list" || return
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED || return
    if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" || return
        chroot "$root" update-ca-certificates || return
    fi
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* || return
    chroot "$root" python --version || return
    chroot "$root" python -m pip --version || return
    # pip may install system-wide, as in the real base (no PEP 668 marker left)
    if chroot "$root" python -c 'import sys, sysconfig, os; sys.exit(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        echo "pip may install system-wide"
    else
        echo "the stand-in base's Python still refuses pip (EXTERNALLY-MANAGED)"
        return 1
    fi
    tar --numeric-owner -C "$root" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' --message "fer_keras docker-selftest stand-in base" - "$tag"
}

step 2 base
RECIPE=$( (declare -f build_base; echo "$SUITE $MIRROR $PACKAGES"; cat /usr/local/share/ca-certificates/*.crt 2> /dev/null) | sha256sum | cut -c1-12)
BASE=$PREFIX/base:$SUITE-$RECIPE
if [[ $FRESH == 1 && -n $(image_id "$BASE") ]]; then
    for image in $(ours | grep "^$CHECK:") $(ours | grep "^$TEST$") $(ours | grep "^$RUNTIME$"); do  # dependants first
        logged podman rmi "$image"
    done
    logged podman rmi "$BASE"
fi
if [[ -n $(image_id "$BASE") ]]; then
    BASE_STATE=cached
    passed "$BASE reused (cached)"
else
    BASE_STATE=built
    ROOTFS=$(mktemp -d /var/tmp/fer-keras-selftest-rootfs.XXXXXX)
    logged build_base "$ROOTFS" "$BASE"
    cleanup
    ROOTFS=""
    passed "$BASE built ($(podman image inspect --format '{{.Size}}' "$BASE" | awk '{printf "%.2f GB", $1 / 1e9}'))"
fi
# ------------------------------------------------------------------------------ 3-4 the two stages
# FRESH=1 rebuilds the runtime stage's layers (--no-cache); the test stage then builds on those
# layers, so that it extends the very runtime image that steps 5 and 6 check (with --no-cache it
# would install the package a second time, into another image).
CACHE=()
[[ $FRESH == 1 ]] && CACHE=(--no-cache)
build_stage() {  # build_stage TARGET TAG [OPTION...]
    local old target=$1 tag=$2
    shift 2
    old=$(image_id "$tag")
    logged "${BUILD[@]}" "$@" -f "$CONTEXT/docker/Dockerfile" --ignorefile "$CONTEXT/docker/Dockerfile.dockerignore" \
        --build-arg BASE="$BASE" --target "$target" -t "$tag" "$CONTEXT"
    [[ $old == "$(image_id "$tag")" ]] || drop_if_untagged "$old"
}

# Both stages and the checks build from one copy of the checkout, taken now: a file edited during the
# run cannot make the test stage extend another runtime image than the one steps 5 and 6 check. The
# copy is what a clone has (git's tracked files and the untracked ones it does not ignore);
# docker/Dockerfile.dockerignore then filters it as it filters the checkout.
snapshot() {  # snapshot DIR
    if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard | tar --null --files-from=- --ignore-failed-read -c -f - \
            | tar -x -f - -C "$1"
    else
        tar --exclude=./.git --exclude=./runs --exclude=./build -c -f - . | tar -x -f - -C "$1"
    fi
}

step 3 runtime
CONTEXT=$(mktemp -d /var/tmp/fer-keras-selftest-context.XXXXXX)
logged snapshot "$CONTEXT"
TF_VERSION=$(sed -n 's|^ARG BASE=tensorflow/tensorflow:\([0-9][0-9.]*\)-gpu$|\1|p' "$CONTEXT/docker/Dockerfile")
[[ -n $TF_VERSION ]] || fail "docker/Dockerfile has no ARG BASE=tensorflow/tensorflow:<version>-gpu"
build_stage runtime "$RUNTIME" "${CACHE[@]}"
CONFIG=$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.User}} {{.Config.WorkingDir}}' "$RUNTIME")
echo "image config: $CONFIG" >> "$LOG"
[[ $CONFIG == '["fer-keras"] ["--help"] 1000:1000 /work' ]] || fail "entry point, command, user or working directory: $CONFIG"
SIZE=$(podman image inspect --format '{{.Size}}' "$RUNTIME" | awk '{printf "%.2f GB", $1 / 1e9}')
passed "$RUNTIME, $SIZE; ENTRYPOINT [\"fer-keras\"], USER 1000:1000, WORKDIR /work"

step 4 test
build_stage test "$TEST"
passed "$TEST"

# ----------------------------------------------------------------------- 5-7 inside the images
check() {  # check TARGET: build a stage of docker/selftest/Containerfile, always running its steps
    logged "${BUILD[@]}" --no-cache --layers=false -f "$CONTEXT/docker/selftest/Containerfile" \
        --build-arg IMAGE="$RUNTIME" --build-arg TEST_IMAGE="$TEST" --build-arg TF_VERSION="$TF_VERSION" \
        --build-arg JOBS="$JOBS" --target "$1" -t "$CHECK:$1" "$CONTEXT/docker/selftest"
    podman rmi "$CHECK:$1" >> "$LOG" 2>&1 || true
}
result() {  # the SELFTEST line of the step's log that starts with $1
    sed -n "s/^SELFTEST $1: //p" "$LOG" | tail -n 1
}

step 5 predict
check predict
TF_FOUND=$(result tensorflow)
PREDICT=$(result predict)
[[ -n $PREDICT && ${TF_FOUND%.*} == "${TF_VERSION%.*}" ]] || fail "no SELFTEST predict line (or TensorFlow $TF_FOUND, not ${TF_VERSION%.*})"
passed "TensorFlow $TF_FOUND; predict: $PREDICT"

step 6 train
check train
TRAIN=$(result train)
[[ -n $TRAIN ]] || fail "no SELFTEST train line"
passed "train: $TRAIN"

step 7 tests
check tests
TESTS=$(grep -E '^=+ .*(passed|failed).* in [0-9.]+s' "$LOG" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')
[[ -n $TESTS ]] || fail "no pytest summary line"
passed "pytest: $TESTS"

# ------------------------------------------------------------------------------------ 8 clean-up
step 8 clean-up
cleanup
for image in $(ours | grep "^$PREFIX/base:" | grep -v "^$BASE$" || true); do  # bases of older recipes
    podman rmi "$image" >> "$LOG" 2>&1 || true
done
LEFT=$(podman ps --all --external --format '{{.Image}}' | grep -c "^$PREFIX/" || true)
((LEFT == 0)) || fail "$LEFT containers of $PREFIX/* images are left"
NEW=$(comm -13 <(echo "$BEFORE") <(containers) | tr '\n' ' ')
[[ -z ${NEW// /} ]] || fail "this run left containers: $NEW"
MOUNTED=$(podman mount --no-trunc 2> /dev/null | awk '{print $1}' | sort | comm -23 - <(echo "$BEFORE") | tr '\n' ' ')
[[ -z ${MOUNTED// /} ]] || fail "this run left containers mounted: $MOUNTED"
passed "no containers or mounts left; kept $(ours | tr '\n' ' ')"

DONE=1
echo "docker-selftest: PASSED: docker/Dockerfile built with podman on a Debian $SUITE stand-in for" \
    "tensorflow/tensorflow:$TF_VERSION-gpu (base $BASE_STATE; TensorFlow $TF_FOUND from pip install .);" \
    "in the image: predict ${PREDICT%% (*}, train amdcnn 1 epoch, TensorFlow tests $(echo "$TESTS" | sed -E 's/ in [0-9.]+s.*//');" \
    "runtime image $SIZE; $(elapsed)"
