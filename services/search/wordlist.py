"""A small Russian-English word list for cross-language questions when no LLM is configured.

`gloss("Кто украл золотое яблоко?", "en")` -> "stole golden apple": the question's words that the list
knows, in the other language (numbers as they are), matched by Snowball stem (so most inflected forms are found); a word it
does not know but that is capitalised (a name) is transliterated. Everyday words only (~360 pairs:
time, places, people, numbers, common verbs), written by hand, not drawn from any benchmark's questions.
It is a crude stand-in for a translation: `services.search.translate` searches it beside the question as
asked, with a lower weight, and only when it covers at least two of the question's words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.search import lexical

_PAIRS = """
год=year года=year лет=years век=century время=time день=day ночь=night неделя=week месяц=month
утро=morning вечер=evening раз=time начало=beginning конец=end город=city страна=country
государство=state столица=capital мир=world земля=land река=river море=sea океан=ocean
гора=mountain остров=island лес=forest поле=field дом=house здание=building улица=street
район=district регион=region область=region место=place центр=center север=north юг=south
запад=west восток=east северный=northern южный=southern западный=western восточный=eastern
человек=person люди=people мужчина=man женщина=woman ребенок=child дети=children сын=son
дочь=daughter отец=father мать=mother брат=brother сестра=sister жена=wife муж=husband семья=family
друг=friend король=king королева=queen царь=tsar принц=prince принцесса=princess император=emperor
президент=president правительство=government власть=power закон=law суд=court армия=army война=war
битва=battle солдат=soldier оружие=weapon победа=victory мир=peace народ=people
население=population язык=language слово=word имя=name название=name книга=book глава=chapter
история=history рассказ=story сказка=tale песня=song музыка=music искусство=art картина=painting
театр=theatre фильм=film игра=game команда=team игрок=player матч=match сезон=season очко=point
счет=score школа=school университет=university студент=student учитель=teacher наука=science
ученый=scientist исследование=research теория=theory закон=law число=number количество=number
сколько=many процент=percent деньги=money цена=price стоимость=cost доллар=dollar компания=company
работа=work рабочий=worker завод=factory промышленность=industry торговля=trade экономика=economy
рынок=market бог=god церковь=church религия=religion вера=faith храм=temple болезнь=disease
врач=doctor больница=hospital лечение=treatment тело=body кровь=blood сердце=heart голова=head
рука=hand нога=leg глаз=eye вода=water огонь=fire воздух=air солнце=sun луна=moon звезда=star
небо=sky свет=light энергия=energy сила=force вес=weight температура=temperature растение=plant
дерево=tree цветок=flower животное=animal птица=bird рыба=fish собака=dog кошка=cat лошадь=horse
конь=horse волк=wolf медведь=bear змея=snake еда=food хлеб=bread вино=wine золото=gold
золотой=golden серебро=silver железо=iron камень=stone корабль=ship лодка=boat поезд=train
машина=car самолет=aircraft дорога=road путь=way мост=bridge стена=wall дверь=door окно=window
сад=garden двор=yard замок=castle дворец=palace башня=tower клетка=cage яблоко=apple ключ=key
письмо=letter бумага=paper газета=newspaper телевидение=television радио=radio система=system
сеть=network программа=program проект=project план=plan правило=rule право=right свобода=freedom
вопрос=question ответ=answer причина=reason результат=result пример=example часть=part группа=group
член=member организация=organization общество=society партия=party выборы=election министр=minister
совет=council член=member первый=first второй=second третий=third последний=last новый=new
старый=old большой=large крупный=largest маленький=small высокий=high длинный=long короткий=short
глубокий=deep широкий=wide быстрый=fast медленный=slow сильный=strong слабый=weak богатый=rich
бедный=poor красный=red белый=white черный=black зеленый=green синий=blue хороший=good плохой=bad
главный=main важный=important известный=famous популярный=popular основной=main современный=modern
древний=ancient национальный=national международный=international федеральный=federal местный=local
общий=total полный=full один=one два=two три=three четыре=four пять=five шесть=six семь=seven
восемь=eight девять=nine десять=ten сто=hundred тысяча=thousand миллион=million миллиард=billion
называть=called называется=called назвать=named построить=built построен=built создать=created
создан=created основать=founded основан=founded открыть=opened открыт=discovered найти=found
искать=search получить=received дать=gave давать=give взять=took брать=take сделать=made
делать=make сказать=said говорить=say писать=write написать=wrote читать=read жить=live
умереть=died родиться=born родился=born убить=killed поймать=caught украсть=stole красть=steal
бежать=run идти=go ехать=ride поехать=rode приехать=arrived прийти=came уйти=left
вернуться=returned остаться=stayed стать=became начать=began закончить=finished играть=play
выиграть=won проиграть=lost победить=defeated купить=bought продать=sold платить=pay
использовать=used помочь=helped помогать=help хотеть=want мочь=can знать=know думать=think
видеть=see увидеть=saw слышать=hear любить=love есть=eat съесть=ate пить=drink спать=sleep
сидеть=sit стоять=stand лежать=lie держать=hold носить=wear показать=showed принять=adopted
содержать=contains включать=includes состоять=consists являться=is находиться=located
расположен=located составлять=amounts увеличить=increased уменьшить=decreased измерить=measured
производить=produce расти=grow изменить=changed
"""

MIN_WORDS = 2
_NAME = re.compile(r"\b[A-ZА-ЯЁ][\w'’-]+")


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    to_en: dict[str, str] = {}
    to_ru: dict[str, str] = {}
    for pair in _PAIRS.split():
        ru, en = pair.split("=")
        for stem in lexical.stems(ru):
            to_en.setdefault(stem, en)
        for stem in lexical.stems(en):
            to_ru.setdefault(stem, ru)
    return {"en": to_en, "ru": to_ru}


def gloss(question: str, target: str) -> str | None:
    """The question's known words in `target` ("en" or "ru"), names transliterated; None when fewer than
    MIN_WORDS words are known."""
    table = _tables().get(target)
    if table is None:
        return None
    names = {word.lower().replace("ё", "е") for word in _NAME.findall(question)}
    found: list[str] = []
    known = 0
    for word in lexical.tokenize(question):
        stems = lexical.stems(word)
        translated = table.get(stems[0]) if stems else None
        if translated is not None:
            known += 1
            found.append(translated)
        elif word.isdigit():
            found.append(word)  # years and counts read the same in both languages
        elif word in names and _script(word) != target:
            other = lexical._transliterated(word)  # the lexical index's own transliteration
            if other:
                found.append(other)
    if known < MIN_WORDS:
        return None
    return " ".join(dict.fromkeys(found))


def _script(word: str) -> str:
    return "ru" if re.search(r"[а-яё]", word) else "en"
