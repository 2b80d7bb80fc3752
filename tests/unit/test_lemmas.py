import pickle

from ruai.text.lemmas import Lemmatizer


def test_words_are_lowercased_tokens_with_inner_hyphens():
    words = Lemmatizer().words("Кошки, КОТЫ и кто-то; Python-код -тире- 2024 г.")
    assert words == ["кошки", "коты", "и", "кто-то", "python-код", "тире", "2024", "г"]


def test_lemmas_are_normal_forms():
    assert Lemmatizer().lemmas("кошки бегали по дорогам") == ["кошка", "бегать", "дорога"]


def test_yo_is_folded():
    assert Lemmatizer().lemmas("ёлки зелёные шёл") == ["елка", "зеленый", "идти"]


def test_stop_words_are_dropped_but_numbers_kept():
    lemmas = Lemmatizer().lemmas("Я и она были в городе в 2024 году, and the cats were there")
    assert lemmas == ["город", "2024", "год", "cats"]


def test_stop_words_can_be_kept():
    assert Lemmatizer().lemmas("я и кошки", drop_stopwords=False) == ["я", "и", "кошка"]


def test_cache_is_used():
    lemmatizer = Lemmatizer(cache_size=10)
    lemmatizer.lemmas("кошки кошки кошки собаки")
    info = lemmatizer.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (2, 2, 10)


def test_cache_is_bounded():
    lemmatizer = Lemmatizer(cache_size=3)
    lemmatizer.lemmas("дом кот река город поле")
    assert lemmatizer.cache_info().currsize == 3


def test_pickles_without_the_analyzer_or_cache():
    lemmatizer = Lemmatizer(cache_size=5)
    lemmatizer.lemmas("кошки")
    payload = pickle.dumps(lemmatizer)
    assert len(payload) < 200
    clone = pickle.loads(payload)
    assert clone.cache_size == 5
    assert clone.lemmas("кошки") == ["кошка"]


def test_stop_words_are_spacys_lists_with_yo_folded():
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
    from spacy.lang.ru.stop_words import STOP_WORDS as RUSSIAN

    from ruai.text.normalize import fold_yo
    from ruai.text.stop_words import stop_words

    assert stop_words() == {fold_yo(word.lower()) for word in RUSSIAN | ENGLISH}
