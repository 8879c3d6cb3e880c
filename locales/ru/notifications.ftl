## Сообщения, которые бот присылает сам: цитата дня, дайджест, напоминания, книги, оплаты, пробный период, баланс

notify-raw = { $text }
notify-settings-hint = <i>/settings: что и когда я присылаю</i>
notify-place-page = с. { $page }

notify-quote =
    💡 <b>Цитата дня</b>

    <blockquote>{ $text }</blockquote>
    — <b>{ $title }</b>{ $author ->
        [none] {""}
       *[other] , { $author }
    }{ $place ->
        [none] {""}
       *[other] {""} · { $place }
    }

    <i>/settings: что и когда я присылаю</i>

notify-digest-title = 📬 <b>Ваша неделя с книгами</b>
notify-digest-questions = Вы задали { $count } { $count ->
        [one] вопрос
        [few] вопроса
       *[many] вопросов
    }: { $books }
notify-digest-no-questions = Тихая неделя: ни одного вопроса. Ваши книги ждут вас.
notify-digest-added = Новое на полке: { $titles }
notify-digest-passage =
    🔖 Отрывок, к которому стоит вернуться, из <b>«{ $title }»</b> ({ $place }):
    <blockquote>{ $text }</blockquote>

notify-reengage-7 = 👋 Прошла неделя. У ваших книг есть ответы: задайте вопрос или выберите другую в /books.
notify-reengage-7-new = 👋 Прошла неделя. Пришлите мне книгу файлом и спросите её о чём угодно.
notify-reengage-30 = 📚 Уже месяц! Ваша полка на месте. Спросите книгу о том, что давно хотели узнать.
notify-reengage-30-new = 📚 Уже месяц! Пришлите книгу файлом, и я отвечу на вопросы о ней с цитатами.

notify-book-ready = ✅ Книга <b>«{ $title }»</b> готова. Спрашивайте о ней что угодно или откройте /books.
notify-book-failed = ⚠️ Не получилось прочитать <b>«{ $title }»</b>. Почему и что делать — в сообщении, где вы её прислали.

notify-payment-received = 💳 Оплата получена: { $amount } { $currency }. { $credits ->
        [0] Спасибо!
       *[other] Начислено кредитов: { $credits }. Спасибо!
    }
notify-payment-refunded = ↩️ Платёж на { $amount } { $currency } возвращён.

notify-trial-started = 🎁 Пробный период начался и продлится до { $date }. { $credits ->
        [0] Приятного чтения!
       *[other] Вам доступно кредитов: { $credits }.
    }
notify-trial-ending = ⏳ Пробный период заканчивается завтра ({ $date }). Чтобы всё продолжало работать, выберите тариф: /plans
notify-trial-ended = Пробный период закончился, теперь у вас бесплатный тариф. Тариф вернёт все возможности: /plans
notify-low-balance = 🔋 Кредиты на исходе: осталось { $balance }. Пополните баланс или выберите тариф: /plans

## Оповещения админам (сгруппированные) и ежедневный отчёт

alert-more = …и ещё { $count }
alert-error-title = 🚨 <b>Ошибки: { $count }</b>
alert-error-item = <code>{ $type }</code> ×{ $count } (апдейты { $updates }): { $message }
alert-llm-down-title = 🔴 <b>LLM-провайдер недоступен</b>
alert-llm-down-item = { $provider }: { $detail }
alert-llm-up-title = 🟢 <b>LLM-провайдер снова работает</b>
alert-llm-up-item = { $provider } (не работал { $detail })
alert-book-failed-title = 📕 <b>Книги с ошибкой: { $count }</b>
alert-book-failed-item = #{ $book_id } «{ $title }» пользователя <code>{ $user_id }</code>: { $error_code }
alert-payment-title = 💰 <b>Оплаты: { $count }</b>
alert-payment-item = { $amount } { $currency } от <code>{ $user_id }</code> { $what }
alert-refund-title = ↩️ <b>Возвраты: { $count }</b>
alert-refund-item = { $amount } { $currency } пользователю <code>{ $user_id }</code>
alert-new-user-title = 👤 <b>Новые пользователи: { $count }</b>
alert-new-user-item = { $name } @{ $username } (<code>{ $user_id }</code>, { $language })

report-title = 📊 <b>Ежедневный отчёт</b> · { $date }
report-users = 👥 Пользователи: { $total } (+{ $new } за день, +{ $new_week } за неделю) · активны: { $dau } за день, { $wau } за неделю, { $mau } за месяц · заблокировали бота: { $blocked }
report-books = 📚 Готовых книг: { $ready } ({ $pages } стр.) · с ошибкой: { $failed }
report-questions = 💬 Вопросов: { $today } за день, { $month } за 30 дней
report-revenue = 💰 Выручка за день: { $stars } ⭐ + { $rub } ₽ · за 30 дней: { $stars_month } ⭐ + { $rub_month } ₽ · возвратов: { $refunds }
report-recurring = 🔁 MRR: { $mrr_stars } ⭐ + { $mrr_rub } ₽ · подписчиков: { $subscribers } · отток: { $churn }%
report-llm = 🤖 Расходы на LLM: ${ $today } за день, ${ $month } за 30 дней
report-features = 🔥 Самое популярное за день:
