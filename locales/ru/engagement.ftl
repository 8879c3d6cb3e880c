## Серии дней чтения и достижения

command-stats = Ваша серия дней чтения и достижения
stats-text =
    📊 <b>Ваше чтение</b>

    📚 Книг: { $books }
    💬 Вопросов: { $questions }
    🔥 Серия: { $current ->
        [0] сегодня ещё нет — спросите что-нибудь о книге, чтобы начать
        [one] { $current } день подряд
        [few] { $current } дня подряд
       *[other] { $current } дней подряд
    }
    🏅 Лучшая серия: { $best ->
        [one] { $best } день
        [few] { $best } дня
       *[other] { $best } дней
    }
    📅 Дней чтения: { $days }
stats-milestones = <b>Достижения</b>
stats-no-milestones = <i>Достижений пока нет: первые два — первая книга и первый вопрос.</i>
milestone-reached = 🏆 <b>Достижение!</b> { $name }
milestone-first_book = Первая книга на полке
milestone-books_10 = 10 книг на полке
milestone-first_question = Первый вопрос о книге
milestone-questions_100 = 100 вопросов
milestone-questions_1000 = 1000 вопросов
milestone-streak_3 = 3 дня чтения подряд
milestone-streak_7 = Серия из 7 дней чтения
milestone-streak_30 = Серия из 30 дней чтения
