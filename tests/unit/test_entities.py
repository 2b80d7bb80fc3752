import pickle

import pytest

from ruai.text.entities import EntityExtractor

SENTENCE = (
    "Глава Сбербанка Герман Греф выступил в Москве на форуме Министерства иностранных дел. "
    "Позже Греф вернулся в Москву."
)


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def test_person_location_organisation(extractor):
    entities = extractor.extract(SENTENCE)
    assert {"type": "PER", "text": "Герман Греф", "normal": "Герман Греф"} in entities
    assert {"type": "LOC", "text": "Москве", "normal": "Москва"} in entities
    assert {"type": "ORG", "text": "Сбербанка", "normal": "Сбербанк"} in entities
    ministry = next(e for e in entities if e["text"] == "Министерства иностранных дел")
    assert ministry == {
        "type": "ORG",
        "text": "Министерства иностранных дел",
        "normal": "Министерство иностранных дел",
    }


def test_deduplicated_in_order_of_first_appearance(extractor):
    entities = extractor.extract(SENTENCE)
    moscow = [e for e in entities if e["normal"] == "Москва"]
    assert moscow == [{"type": "LOC", "text": "Москве", "normal": "Москва"}]
    assert [e["text"] for e in entities][:2] == ["Сбербанка", "Герман Греф"]
    assert len({(e["type"], e["normal"]) for e in entities}) == len(entities)


def test_extract_many_keeps_order_and_blanks(extractor):
    results = extractor.extract_many(
        ["", "Анна Иванова живёт в Новосибирске.", "  ", "Просто текст."]
    )
    assert results[0] == [] and results[2] == [] and results[3] == []
    assert [(e["type"], e["normal"]) for e in results[1]] == [
        ("PER", "Анна Иванова"),
        ("LOC", "Новосибирск"),
    ]
    assert results[1] == extractor.extract("Анна Иванова живёт в Новосибирске.")


def test_pickles_without_models(extractor):
    extractor.extract("Москва")
    clone = pickle.loads(pickle.dumps(extractor))
    assert clone._models is None
    assert clone.extract("Я живу в Казани.") == [
        {"type": "LOC", "text": "Казани", "normal": "Казань"}
    ]
