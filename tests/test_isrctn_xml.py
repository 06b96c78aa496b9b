"""ISRCTN XML is read with care: no DTD, no entity, plain data out."""

from __future__ import annotations

import pytest

from monitor.errors import RecordError
from monitor.registries.isrctn import xml
from tests import registry_synthetic as synthetic

NS = 'xmlns="http://www.67bricks.com/isrctn"'


def test_the_real_answer_has_five_trials_and_a_total() -> None:
    root = xml.parse(synthetic.REAL_ISRCTN.read_bytes())
    assert xml.total_count(root) == 31
    assert [xml.trial_id(t) for t in xml.trials(root)] == [
        "ISRCTN41823570",
        "ISRCTN85064961",
        "ISRCTN12564318",
        "ISRCTN91308625",
        "ISRCTN15873887",
    ]


def test_a_count_only_answer() -> None:
    root = xml.parse((synthetic.ISRCTN / "count_limit0.xml").read_bytes())
    assert xml.total_count(root) == 4
    assert xml.trials(root) == []


@pytest.mark.parametrize(
    "document",
    [
        # billion laughs
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        f"<allTrials {NS}>&lol2;</allTrials>",
        # an external entity
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"<allTrials {NS}>&x;</allTrials>",
        # a DTD alone
        f'<!DOCTYPE allTrials SYSTEM "http://example.org/x.dtd"><allTrials {NS}/>',
    ],
)
def test_dtds_and_entities_are_refused(document: str) -> None:
    with pytest.raises(RecordError, match="XML refused"):
        xml.parse(document)


@pytest.mark.parametrize("document", ["", "<allTrials", "not xml at all", "<a></b>"])
def test_malformed_xml_is_a_record_error(document: str) -> None:
    with pytest.raises(RecordError, match="not well-formed XML"):
        xml.parse(document)


def test_another_root_is_not_an_answer() -> None:
    with pytest.raises(RecordError, match="expected <allTrials> or <fullTrial>"):
        xml.trials(xml.parse("<html><body>Error</body></html>"))


def test_to_dict_attributes_text_and_lists() -> None:
    root = xml.parse(
        f'<fullTrial {NS}><trial version="3"><participants>'
        '<lowerAgeLimit unit="years" value="18.0">18 Years</lowerAgeLimit>'
        "<recruitmentCountries><country>Sweden</country></recruitmentCountries>"
        "<trialCentres><trialCentre><country>Sweden</country></trialCentre></trialCentres>"
        "<gender/></participants></trial></fullTrial>"
    )
    data = xml.record_of(root)["fullTrial"]
    people = data["trial"]["participants"]
    assert data["trial"]["@version"] == "3"
    assert people["lowerAgeLimit"] == {"@unit": "years", "@value": "18.0", "#text": "18 Years"}
    assert people["recruitmentCountries"] == {"country": ["Sweden"]}
    assert people["trialCentres"]["trialCentre"] == [{"country": "Sweden"}]
    assert people["gender"] == ""


def test_the_id_of_a_trial_without_the_canonical_attribute() -> None:
    root = xml.parse(f"<fullTrial {NS}><trial><isrctn>12345678</isrctn></trial></fullTrial>")
    assert xml.trial_id(root) == "ISRCTN12345678"
    assert xml.trial_id(xml.parse(f"<fullTrial {NS}/>")) is None
