"""README.md and docs/*.md: README stays a front page (at most 300 lines) that links every page of the
manual, each page opens with its title and a one-line summary, every relative link (and its #anchor)
resolves, and every test the pages name exists."""

import re

import pytest

from tests.helpers import ROOT
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README] + sorted(DOCS.glob("*.md"))

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def prose(text):
    """The page without its code blocks (a `](` in code is no link)."""
    return FENCE.sub("", text)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    return {slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", prose(path.read_text()), re.MULTILINE)}


def name(path):
    return path.relative_to(ROOT).as_posix()


def test_readme_is_a_front_page_of_at_most_300_lines():
    lines = README.read_text().count("\n")
    assert lines <= 300, f"README.md has {lines} lines: move the detail to a page of docs/"


def test_readme_links_every_page_of_the_manual():
    linked = {(README.parent / target.split("#")[0]).resolve() for target in LINK.findall(prose(README.read_text()))}
    missing = [name(page) for page in DOCS.glob("*.md") if page.resolve() not in linked]
    assert not missing, f"README.md's 'Where to read more' does not link {missing}"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=name)
def test_each_page_opens_with_its_title_and_a_one_line_summary(page):
    title, blank, summary, after = (page.read_text().split("\n") + ["", "", "", ""])[:4]
    assert title.startswith("# ") and not blank.strip(), f"{name(page)} should open with '# Title' and a blank line"
    assert summary.strip() and not summary.startswith(("#", "|", "```", "-")) and not after.strip(), (
        f"{name(page)}: the line after the title should be a one-line summary, then a blank line")


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no {path})")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading with anchor #{anchor} in {name(resolved)})")
    assert not broken, f"{name(page)}: broken links: {broken}"


def test_every_test_the_pages_name_exists():
    """The pages name tests as `tests/<area>/test_x.py: \\`test_name\\`` (a name ending in ... is a prefix)."""
    defined = {}
    for path in ROOT.joinpath("tests").rglob("test_*.py"):
        defined[name(path)] = set(re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE))
    every = set().union(*defined.values())
    missing = []
    for page in PAGES:
        text = page.read_text()
        for file in re.findall(r"\btests/[\w/]+\.py\b", text):
            if not (ROOT / file).is_file():
                missing.append(f"{name(page)}: {file}")
        for test, prefix in re.findall(r"`(test_\w+)(\.\.\.)?`", text):
            if not any(t.startswith(test) if prefix else t == test for t in every):
                missing.append(f"{name(page)}: {test}{prefix}")
    assert not missing, f"tests named in the docs that do not exist: {missing}"
