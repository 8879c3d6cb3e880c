## Админка: /admin и её экраны (только владельцы и админы), и сообщение о бане

command-admin = Меню администратора
ban-notice = Вы заблокированы в этом боте. На ваши сообщения больше не отвечают.

admin-denied = ⛔ Это только для администраторов.
admin-stale-button = Эта кнопка устарела. Откройте /admin заново.
admin-button-back = ← Назад
admin-button-cancel = ✖️ Отмена

admin-error-not_found = Не найдено: возможно, уже удалено.
admin-error-forbidden = ⛔ С этим пользователем так нельзя.
admin-error-bad_amount = ⚠️ Пришлите целое число кредитов от 1 до { $limit }, без знака (начислить и списать — разные кнопки).
admin-error-insufficient = Не списано: на балансе только { $balance } { $balance ->
        [one] кредит
        [few] кредита
       *[other] кредитов
    }.
admin-error-same_plan = У пользователя уже этот тариф.
admin-error-unknown_plan = Такого тарифа нет.
admin-error-same_role = У пользователя уже эта роль.
admin-error-not_retryable = Повторно обработать можно только книгу с ошибкой, файл которой ещё хранится.
admin-error-not_refundable = Здесь можно вернуть только оплаченный платёж в Stars.
admin-error-unavailable = Сейчас это недоступно.

## Меню
admin-menu-title = 🛠 <b>Администрирование</b>
    Выберите раздел.
admin-menu-overview = 📊 Обзор
admin-menu-users = 👥 Пользователи
admin-menu-books = 📚 Книги
admin-menu-payments = 💳 Платежи
admin-menu-broadcasts = 📣 Рассылки
admin-menu-export = 📤 Выгрузка
admin-menu-close = ✖️ Закрыть
admin-menu-closed = Меню закрыто. /admin откроет его снова.

## Обзор
admin-overview-loading = Считаю…
admin-overview =
    📊 <b>Обзор</b> · { $date } UTC

    👥 Пользователей: <b>{ $users }</b> (новых: { $new_today } сегодня, { $new_7d } за 7 дней, { $new_30d } за 30 дней)
    🔥 Активных: { $dau } сегодня, { $wau } за 7 дней, { $mau } за 30 дней
    🚫 Заблокировали бота: { $blocked }
    📚 Книги: готово { $books }, с ошибкой { $failed }, в индексе { $pages } { $pages ->
        [one] страница
        [few] страницы
       *[other] страниц
    }
    ❓ Вопросы: { $questions_today } сегодня, { $questions_30d } за 30 дней
    💰 Выручка сегодня: { $stars_today } ⭐ + { $rub_today } ₽
    💰 Выручка за 30 дней: { $stars_30d } ⭐ + { $rub_30d } ₽ ({ $payments_30d } { $payments_30d ->
        [one] платёж
        [few] платежа
       *[other] платежей
    }, { $refunds_30d } { $refunds_30d ->
        [one] возврат
        [few] возврата
       *[other] возвратов
    })
    🔁 MRR: { $mrr_stars } ⭐ + { $mrr_rub } ₽, { $subscribers } { $subscribers ->
        [one] подписчик
        [few] подписчика
       *[other] подписчиков
    }
    🤖 Расходы на LLM: ${ $cost_today } сегодня, ${ $cost_30d } за 30 дней
admin-chart-title = Последние 30 дней
admin-chart-total-users = Всего пользователей
admin-chart-new-users = Новые пользователи
admin-chart-active-users = Активные пользователи
admin-chart-questions = Вопросы
admin-chart-caption = 📈 Рост за последние 30 дней

## Пользователи
admin-users-title = 👥 <b>Пользователи</b>: всего { $total }.
admin-users-button-find = 🔎 Найти
admin-users-button-newest = 🆕 Новые
admin-users-newest = 🆕 Новые пользователи (всего { $total }):
admin-users-find-prompt = 🔎 Пришлите id, @username или имя (достаточно части, мелкие опечатки не страшны).
admin-users-found = 🔎 «{ $query }»: { $count ->
        [one] найден { $count } пользователь
        [few] найдено { $count } пользователя
       *[other] найдено { $count } пользователей
    }.
admin-users-not-found = 🔎 «{ $query }»: никого не нашлось. Попробуйте другое написание, id или @username.
admin-users-results = 🔎 Результаты поиска: { $count }.

admin-card =
    👤 <b>{ $name }</b>
    🆔 <code>{ $id }</code> · { $role } · { $language }
    💳 Тариф: { $plan } (до { $until }) · Баланс: <b>{ $balance }</b> { $balance ->
        [one] кредит
        [few] кредита
       *[other] кредитов
    }
    📚 Книги: { $books } (готово { $ready }, с ошибкой { $failed }), { $pages } { $pages ->
        [one] страница
        [few] страницы
       *[other] страниц
    } · Вопросов: { $questions }
    🕒 С нами с { $joined } · Был(а) { $seen }
    💰 Платежи: { $payments } ({ $stars } ⭐, { $rub } ₽)
admin-card-payment = • { $date } · { $amount } · { $status } · { $credits } { $credits ->
        [one] кредит
        [few] кредита
       *[other] кредитов
    }
admin-card-banned = ⛔ <b>Заблокирован(а)</b> (причина: { $reason })
admin-card-blocked = 🚫 Заблокировал(а) бота
admin-card-deleted = 🗑 Данные удалены { $date }
admin-card-button-grant = ➕ Кредиты
admin-card-button-take = ➖ Кредиты
admin-card-button-plan = 💳 Тариф
admin-card-button-role = 🎖 Роль
admin-card-button-ban = ⛔ Заблокировать
admin-card-button-unban = ✅ Разблокировать
admin-card-button-delete = 🗑 Удалить данные
admin-card-button-log = 📜 Журнал
admin-card-button-refresh = 🔄 Обновить

admin-role-user = пользователь
admin-role-subscriber = подписчик
admin-role-admin = администратор
admin-role-owner = владелец
admin-role-make-admin = 🎖 Сделать администратором
admin-role-make-user = 👤 Сделать обычным пользователем
admin-role-choose = 🎖 Новая роль пользователя <code>{ $id }</code>:
admin-role-done = Роль: { $role }

admin-plan-free = Free
admin-plan-pro = Pro
admin-plan-scholar = Scholar
admin-plan-choose = 💳 Тариф пользователя <code>{ $id }</code> (платный — на месяц, с месячными кредитами):
admin-plan-done = Тариф: { $plan }

admin-credits-grant-prompt = ➕ Сколько кредитов начислить пользователю <code>{ $id }</code>? Пришлите число.
admin-credits-take-prompt = ➖ Сколько кредитов списать у пользователя <code>{ $id }</code>? Пришлите число.
admin-credits-reason-prompt = ✍️ Теперь причину (она попадёт в журнал операций и в журнал действий).
admin-credits-done = ✅ Готово: { $amount } { $credits ->
        [one] кредит
        [few] кредита
       *[other] кредитов
    }, баланс теперь { $balance }.

admin-ban-done = Пользователь заблокирован
admin-unban-done = Пользователь разблокирован
admin-delete-confirm =
    🗑 Удалить данные пользователя <code>{ $id }</code>?

    Удаляются его книги (вместе с индексом), переписка, сохранённые ответы и пересказы, а имя стирается. Платежи и журнал кредитов остаются для бухгалтерии — только под числовым id. Отменить нельзя.
admin-delete-button-yes = 🗑 Да, удалить
admin-delete-working = Удаляю…
admin-delete-done = 🗑 Данные пользователя <code>{ $id }</code> удалены: { $books } { $books ->
        [one] книга
        [few] книги
       *[other] книг
    } и { $turns } { $turns ->
        [one] вопрос с ответом
        [few] вопроса с ответами
       *[other] вопросов с ответами
    }.

admin-log-title = 📜 <b>Журнал действий</b> по <code>{ $id }</code> ({ $count } { $count ->
        [one] запись
        [few] записи
       *[other] записей
    }):
admin-log-line = • { $date } · <code>{ $actor }</code> · { $action } { $details }
admin-log-empty = Пока пусто.

## Книги
admin-books-title =
    📚 <b>Книги</b>
    В очереди: { $queued } · С ошибкой: { $failed }
admin-books-button-queue = ⏳ Очередь ({ $count })
admin-books-button-failed = ❌ С ошибкой ({ $count })
admin-books-queue = ⏳ <b>Очередь обработки</b>: { $count } (сначала старые)
admin-books-failed = ❌ <b>Книги с ошибкой</b>: { $count } (сначала свежие)
admin-books-failed-line = #{ $id }: <code>{ $error }</code>
admin-book-card =
    📖 <b>{ $title }</b> (#{ $id })
    👤 Владелец: <code>{ $user }</code>
    Статус: { $status } · этап { $stage } · { $progress }%
    Страниц: { $pages } · фрагментов: { $chunks } · попыток: { $attempts }
    Ошибка: <code>{ $error }</code> ({ $details })
    Добавлена { $created } · обновлена { $updated }
admin-book-status-pending = ждёт
admin-book-status-processing = обрабатывается
admin-book-status-ready = готова
admin-book-status-failed = ошибка
admin-book-file-kept = 📎 Файл хранится до { $until }, до тех пор книгу можно обработать заново.
admin-book-file-gone = 📎 Файл уже не хранится (файлы книг с ошибкой хранятся { $days ->
        [one] { $days } день
        [few] { $days } дня
       *[other] { $days } дней
    }): владельцу нужно прислать книгу снова.
admin-book-button-retry = 🔁 Обработать заново
admin-book-button-delete = 🗑 Удалить
admin-book-button-owner = 👤 Владелец
admin-book-button-delete-yes = 🗑 Да, удалить книгу
admin-book-delete-confirm = 🗑 Удалить книгу #{ $id } вместе с индексом и файлом? Отменить нельзя.
admin-book-delete-done = Книга удалена
admin-book-deleted = 🗑 Книга #{ $id } удалена.
admin-book-retry-done = Снова в очереди

## Платежи
admin-payments-title = 💳 <b>Платежи</b>: { $count } (сначала свежие)
admin-payment-card =
    💳 <b>Платёж #{ $id }</b>
    👤 Пользователь: <code>{ $user }</code> · { $provider }
    Сумма: { $amount } · кредитов: { $credits } · тариф: { $plan }
    Статус: { $status }
    Платёж: <code>{ $charge }</code>
    Оплачен { $created } · возвращён { $refunded } (списано кредитов: { $taken })
admin-payment-status-paid = оплачен
admin-payment-status-refunded = возвращён
admin-payment-button-refund = ↩️ Вернуть
admin-refund-confirm = ↩️ Вернуть платёж #{ $id }? Stars вернутся пользователю, начисленные за него кредиты спишутся, тариф закончится.
admin-refund-button-yes = ↩️ Да, вернуть
admin-refund-done = Возвращено; списано кредитов: { $credits }.

## Рассылки
admin-bc-title = 📣 <b>Рассылки</b> ({ $count } { $count ->
        [one] последняя
        [few] последние
       *[other] последних
    }):
admin-bc-list-item = #{ $id } · { $status } · { $sent }/{ $total }
admin-bc-button-new = ✍️ Новая рассылка
admin-bc-compose = ✍️ Пришлите сообщение для рассылки: текст или фото с подписью. Оформление сохранится.
admin-bc-unsupported = Разослать можно только текст или фото (или картинку файлом).
admin-bc-photo-saved = 🖼 Фото для рассылки.
admin-bc-button-prompt = 🔗 Добавить кнопку-ссылку? Пришлите её так: <code>Текст | https://example.com</code> — или нажмите «Без кнопки».
admin-bc-button-none = Без кнопки
admin-bc-button-bad = Это не похоже на кнопку. Пришлите <code>Текст | https://example.com</code> (текст до 64 символов и ссылку).
admin-bc-audience-choose = 👥 Кому отправить?
admin-bc-audience-all = Всем
admin-bc-audience-active = Активным за 30 дней
admin-bc-audience-plan = На тарифе { $plan }
admin-bc-audience-language = Язык: { $language }
admin-bc-language-en = Английский
admin-bc-language-ru = Русский
admin-bc-expired = Черновик потерялся. Начните заново с «Новой рассылки».
admin-bc-preview-below = 👇 Предпросмотр — ровно так увидят пользователи:
admin-bc-confirm =
    📣 Рассылка #{ $id } готова (предпросмотр выше).
    Аудитория: { $audience } — <b>{ $count }</b> { $count ->
        [one] получатель
        [few] получателя
       *[other] получателей
    }.
    Начать отправку?
admin-bc-button-start = 🚀 Начать
admin-bc-button-discard = 🗑 Отменить
admin-bc-button-refresh = 🔄 Обновить
admin-bc-button-cancel = ⏹ Остановить
admin-bc-started = Отправляю…
admin-bc-cancelled = Остановлено
admin-bc-progress =
    📣 <b>Рассылка #{ $id }</b>: { $status }
    { $bar }
    ✅ Отправлено: { $sent } из { $total }
    ❌ Ошибки: { $failed } · 🚫 Заблокировали: { $blocked } · ❔ Прервано: { $unknown }
    ⏳ Осталось: { $pending }
    Начата { $started } · закончена { $finished }
admin-bc-status-draft = черновик
admin-bc-status-running = идёт отправка
admin-bc-status-cancelled = остановлена
admin-bc-status-done = завершена
admin-bc-error-empty = Сообщение пустое.
admin-bc-error-text_too_long = Текст длиннее 4096 символов — больше Telegram не пропустит.
admin-bc-error-caption_too_long = Подпись к фото — не больше 1024 символов.
admin-bc-error-bad_button = Кнопке нужен текст (до 64 символов) и ссылка http(s).
admin-bc-error-bad_audience = Выберите аудиторию.
admin-bc-error-not_found = Такой рассылки нет.
admin-bc-error-not_draft = Эта рассылка уже запущена.
admin-bc-error-unavailable = Рассылки сейчас недоступны.

## Выгрузка
admin-export-title = 📤 <b>Выгрузка</b> в CSV (UTF-8, открывается в Excel и Google Таблицах).
admin-export-button-users = 👥 Пользователи
admin-export-button-payments = 💳 Платежи
admin-export-working = Готовлю файл…
admin-export-done-users = 👥 Пользователи: { $rows } { $rows ->
        [one] строка
        [few] строки
       *[other] строк
    }.
admin-export-done-payments = 💳 Платежи: { $rows } { $rows ->
        [one] строка
        [few] строки
       *[other] строк
    }.

admin-support-button-reply = ↩️ Ответить
admin-support-reply-prompt = ✍️ Напишите ответ пользователю { $id }: он получит его в том виде, как вы напишете. В группе ответьте на это сообщение.
admin-support-reply-sent = ✅ Ответ отправлен пользователю { $id }.
admin-support-reply-failed = ⚠️ Не удалось отправить ответ пользователю { $id }: возможно, он заблокировал бота.
admin-support-reply-canceled = Ответ не отправлен.
