"""A run's record of its recipe: config.yaml, the recipe's fingerprint, and the changes a resume
was allowed to make.

A new run writes config.yaml (`write_new_run`): the resolved recipe, `recipe_sha256` (its
fingerprint: SHA-256 of its canonical JSON, `recipe_fingerprint`), the data, protocol, command and
backend; and a hidden copy of the recipe, .recipe.json (`RECIPE_COPY`), from which the keys a later
edit changed can be listed. `check_recipe` is what a resume asks: is config.yaml's recipe still
the one fingerprinted? An edited one is refused (ArgumentError listing the changed keys, dotted,
old -> new) unless the change is allowed; then `record_recipe_change` appends it to config.yaml's
`recipe_changes` (the keys, the epochs done before it, the command) and the fingerprint and copy
become the new recipe's. training.time_limit_minutes is no part of the fingerprint: it is the
session's. Runs written before fingerprints have none: their recipe is unknown, and they resume as
before.
The command config.yaml records is the one that started the process (`invoked_command`).
"""

import copy
import hashlib
import json
import sys
from pathlib import Path

import yaml

from fer_keras.errors import ArgumentError
from fer_keras.run.folder import CONFIG_FILE
from fer_keras.run.write import write_atomically

RECIPE_COPY = ".recipe.json"  # the recipe the fingerprint in config.yaml was taken of
ABSENT = "(not set)"  # a key one of two recipes lacks, in `recipe_changes`
SESSION_KEYS = ("training.time_limit_minutes",)  # a session's, not the recipe's


def invoked_command(argv=None):
    """The command line that started this process, as a user would type it: `fer-keras ...` for
    the console script or `python -m fer_keras` (whose argv[0] is an absolute path)."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    if argv and (argv[0].endswith(("fer_keras/__main__.py", "/fer-keras")) or argv[0] == "fer-keras"):
        argv[0] = "fer-keras"
    return shlex.join(argv)


def recipe_fingerprint(recipe):
    """SHA-256 of the recipe's canonical JSON (sorted keys), SESSION_KEYS left out."""
    recipe = copy.deepcopy(recipe)
    (recipe.get("training") or {}).pop("time_limit_minutes", None)
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _dotted(tree, prefix=""):
    """{dotted key: value} of a nested mapping's leaves (an empty mapping is a leaf)."""
    if not isinstance(tree, dict) or (prefix and not tree):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(_dotted(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def recipe_changes(old, new):
    """[{"key", "old", "new"}] for each dotted key whose value differs between the recipes (ABSENT
    where a recipe lacks the key), SESSION_KEYS left out."""
    old, new = _dotted(old), _dotted(new)
    keys = [k for k in [*old, *(k for k in new if k not in old)] if k not in SESSION_KEYS]
    return [{"key": k, "old": old.get(k, ABSENT), "new": new.get(k, ABSENT)} for k in keys
            if old.get(k, ABSENT) != new.get(k, ABSENT)]


def _show(value):
    return value if value == ABSENT else json.dumps(value)


def _write_text(path, text):
    write_atomically(path, lambda temporary: Path(temporary).write_text(text))


def _write_recipe_copy(run, recipe, fingerprint):
    _write_text(run / RECIPE_COPY, json.dumps({"recipe_sha256": fingerprint, "recipe": recipe}, indent=1, default=str))


def _recipe_copy(run, fingerprint):
    """The recipe copied when `fingerprint` was taken, or None (missing, damaged, of another)."""
    try:
        kept = json.loads((run / RECIPE_COPY).read_text())
    except (OSError, ValueError):
        return None
    return kept.get("recipe") if isinstance(kept, dict) and kept.get("recipe_sha256") == fingerprint else None


def write_run_config(run, record):
    """config.yaml of the run folder `run`, written atomically, keys in `record`'s order."""
    _write_text(Path(run) / CONFIG_FILE, yaml.safe_dump(record, sort_keys=False))


def write_new_run(run, recipe, data, protocol, command, backend):
    """Write a new run's RECIPE_COPY, then its config.yaml (recipe, recipe_sha256, data, protocol,
    command, keras_backend); returns the recipe as config.yaml holds it."""
    run = Path(run)
    recipe = yaml.safe_load(yaml.safe_dump(recipe, sort_keys=False))  # lists for tuples, as read back
    fingerprint = recipe_fingerprint(recipe)
    _write_recipe_copy(run, recipe, fingerprint)
    write_run_config(run, {"recipe": recipe, "recipe_sha256": fingerprint, "data": None if data is None else str(data),
                           "protocol": protocol, "command": command, "keras_backend": backend})
    return recipe


def check_recipe(run, saved, allow_change, epochs_done, command):
    """Check, before a resume, that `saved` (the run's config.yaml) still holds the recipe it
    fingerprinted. An edited recipe raises an ArgumentError naming `out` and the changed keys,
    unless `allow_change`: then the recipe is checked (fer_keras.recipes.validate) and the change,
    after `epochs_done` epochs, by `command`, is returned for `record_recipe_change` (nothing is
    written here, so a resume refused later leaves config.yaml as it was). No fingerprint (a run
    made before them): nothing to compare, nothing refused. Returns the change or None."""
    run = Path(run)
    recorded = saved.get("recipe_sha256")
    if recorded is None:
        return None
    current = recipe_fingerprint(saved["recipe"])
    if current == recorded:
        return None
    original = _recipe_copy(run, recorded)
    changes = None if original is None else recipe_changes(original, saved["recipe"])
    listed = _listed(run, changes)
    if not allow_change:
        raise ArgumentError("out", run, f"the recipe in config.yaml was changed since the run started ({listed}); "
                            "restore it, or pass `allow_recipe_change=True` to continue with the changed recipe "
                            "(the change is recorded in config.yaml)")
    from fer_keras.recipes import validate

    validate(saved["recipe"], source=str(run / CONFIG_FILE))
    return {"after_epoch": epochs_done,
            "changes": changes if changes is not None else "unknown (no copy of the earlier recipe)",
            "command": command}


def _listed(run, changes):
    """The changed keys as a message lists them (`changes`: `recipe_changes`' list, None: unknown)."""
    if not isinstance(changes, list) or not changes:
        return f"which keys is unknown: {run / RECIPE_COPY}, the copy of the recipe it started with, is missing"
    return ", ".join(f"{c['key']} {_show(c['old'])} -> {_show(c['new'])}" for c in changes)


def record_recipe_change(run, saved, change):
    """Record an allowed `change` (from `check_recipe`) in config.yaml, and make the fingerprint
    and the recipe copy the changed recipe's."""
    run = Path(run)
    print(f"fer-keras: continuing {run} after epoch {change['after_epoch']} with a changed recipe: "
          f"{_listed(run, change['changes'])}", file=sys.stderr)
    current = recipe_fingerprint(saved["recipe"])
    saved["recipe_changes"] = list(saved.get("recipe_changes") or []) + [change]
    saved["recipe_sha256"] = current
    write_run_config(run, saved)
    _write_recipe_copy(run, saved["recipe"], current)
    return change


__all__ = ["RECIPE_COPY", "check_recipe", "invoked_command", "record_recipe_change", "recipe_changes", "recipe_fingerprint",
           "write_new_run", "write_run_config"]
