"""The benchmark's corpus keeps the real records whole, with new ids, deterministically."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from pages import write_pages
from realcorpus import RealCorpus, load_templates


def strip_id(study: dict) -> dict:
    study = orjson.loads(orjson.dumps(study))
    ident = study["protocolSection"]["identificationModule"]
    ident.pop("nctId")
    ident.pop("nctIdAliases", None)
    ident.pop("orgStudyIdInfo", None)
    ident.pop("secondaryIdInfos", None)
    study.get("derivedSection", {}).get("miscInfoModule", {}).pop("versionHolder", None)
    return study


@pytest.fixture
def corpus(tmp_path: Path) -> RealCorpus:
    built = RealCorpus(tmp_path / "records", 120, seed=3, alias_share=0.1)
    built.generate()
    return built


def test_every_clone_is_its_real_record_whole_with_a_new_id(corpus: RealCorpus) -> None:
    for index in range(corpus.n):
        study = orjson.loads(corpus.path(index).read_bytes())
        ident = study["protocolSection"]["identificationModule"]
        assert ident["nctId"] == corpus.nct_id(index)
        assert ident.get("nctIdAliases", []) == list(corpus.aliases(index))
        assert strip_id(study) == strip_id(corpus.template(index).study)
    assert len({corpus.nct_id(i) for i in range(corpus.n)}) == corpus.n
    others = [
        orjson.loads(corpus.path(i).read_bytes())["protocolSection"]["identificationModule"]
        for i in range(corpus.n)
    ]
    orgs = [o["orgStudyIdInfo"]["id"] for o in others if "orgStudyIdInfo" in o]
    assert len(set(orgs)) == len(orgs)  # no two trials share an id, as in a registry
    assert any(corpus.with_alias) and any(corpus.sort_keys) and not all(corpus.sort_keys)
    assert any("resultsSection" in t.study for t in load_templates())


def test_the_same_seed_gives_the_same_bytes(corpus: RealCorpus, tmp_path: Path) -> None:
    again = RealCorpus(tmp_path / "again", 120, seed=3, alias_share=0.1)
    again.generate()
    assert all(corpus.path(i).read_bytes() == again.path(i).read_bytes() for i in range(120))
    assert corpus.cycle(2, 0.05) == again.cycle(2, 0.05)
    assert all(corpus.path(i).read_bytes() == again.path(i).read_bytes() for i in range(120))


def test_a_release_stamps_every_record_and_changes_some(corpus: RealCorpus) -> None:
    before = [corpus.path(i).read_bytes() for i in range(corpus.n)]
    changed = corpus.cycle(2, 0.05)
    assert len(changed) == 6
    day = corpus.day.isoformat()
    for index in range(corpus.n):
        study = orjson.loads(corpus.path(index).read_bytes())
        misc = study.get("derivedSection", {}).get("miscInfoModule", {})
        if "versionHolder" in misc:
            assert misc["versionHolder"] == day
        moved = strip_id(study) != strip_id(orjson.loads(before[index]))
        assert moved == (index in changed)
        if index in changed:
            status = study["protocolSection"]["statusModule"]
            assert status["lastUpdatePostDateStruct"]["date"] == day == corpus.posted(index)


def test_pages_hold_every_study_compact_in_the_api_key_order(
    corpus: RealCorpus, tmp_path: Path
) -> None:
    entries = write_pages(corpus, tmp_path / "pages", per_page=50, array=tmp_path / "all.json")
    pages = sorted((tmp_path / "pages").iterdir())
    assert len(pages) == 3
    studies = [s for p in pages for s in orjson.loads(p.read_bytes())["studies"]]
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in studies] == [
        corpus.nct_id(i) for i in range(corpus.n)
    ]
    assert all(next(iter(s)) == "protocolSection" for s in studies)
    assert orjson.loads((tmp_path / "all.json").read_bytes()) == studies
    assert [e.nct_id for e in entries] == [corpus.nct_id(i) for i in range(corpus.n)]
