cards-button = 🖼 Карточка { $n }
cards-unavailable = Этого отрывка больше нет в ваших книгах.
cards-drawing = Рисую карточку…
cards-caption = 🖼 Из «{ $title }»
cards-button-one = 🖼 Карточка
cards-caption-link = 🖼 Из «{ $title }»
    Открыть и поделиться: { $link }
cards-button-share = 📤 Поделиться
cards-share-text = Цитата из «{ $title }»
cards-shared =
    <blockquote>{ $quote }</blockquote>
    — { $source }

    📚 С вами поделились этой цитатой. Пришлите мне книгу файлом и спросите о чём угодно: я отвечу цитатами вроде этой.
cards-shared-gone = Этой цитатой больше не делятся. Пришлите мне книгу и спросите о чём угодно: я отвечу цитатами из неё.
# Раздел админки «Топ цитат».
admin-menu-quotes = 🖼 Топ цитат
admin-quotes-title = 🖼 <b>Чаще всего делятся</b> (отправлено карточек · открытий ссылки другими)
admin-quotes-none = Карточками цитат пока не делились.
admin-quotes-line = { $n }. 📤 { $shares } · 👁 { $views } — «<b>{ $title }</b>» (пользователь <code>{ $user }</code>, #{ $id })
    <i>{ $quote }</i>
