cards-button = 🖼 Карточка { $n }
cards-unavailable = Этого отрывка больше нет в ваших книгах.
cards-drawing = Рисую карточку…
cards-caption = 🖼 Из «{ $title }»
cards-button-one = 🖼 Карточка
