## Кредиты, тарифы и платежи: /balance, /buy, оплата звёздами и картой, /paysupport, /terms

command-balance = Мои кредиты и тариф
command-buy = Купить кредиты или тариф

billing-plan-name = { $plan ->
    [pro] Pro
    [scholar] Scholar
   *[other] Бесплатный
}
billing-pack-name = { $credits } { $credits ->
    [one] кредит
    [few] кредита
   *[many] кредитов
}

billing-balance =
    💰 <b>Кредитов: { $balance }</b>
    Тариф: <b>{ $plan }</b>{ $until ->
        [none] {""}
       *[other] {" "}до { $until }
    }
    В этом периоде: потрачено { $used } из { $credits } { $credits ->
        [one] кредита
        [few] кредитов
       *[many] кредитов
    }. Новые кредиты: { $renews }.
    Сегодня: { $questions } из { $questions_limit } { $questions_limit ->
        [one] вопроса
        [few] вопросов
       *[many] вопросов
    }. Книг: до { $books }, файлы до { $file_mb } МБ.
billing-balance-trial = 🎁 Пробный Pro до { $until }.
billing-subscription-active = ⭐ Подписка продлится { $date }.
billing-subscription-canceled = Подписка отменена: тариф действует до { $date }.
billing-referral-link = 🤝 Пригласите друга: { $link }
    Когда он добавит первую книгу, вы оба получите кредиты: по { $bonus }.
billing-button-buy = ➕ Купить кредиты
billing-button-history = 🧾 Платежи
billing-button-cancel-sub = Отменить подписку
billing-button-resume-sub = Возобновить подписку

billing-history-title = <b>Последние платежи</b>
billing-history-line = { $date } · { $what } · { $amount } { $currency }{ $refunded ->
    [yes] {" "}(возвращён)
   *[other] {""}
}
billing-history-empty = Платежей пока нет. /buy покажет тарифы и пакеты кредитов.

billing-buy =
    <b>Тарифы</b>, помесячно:
    ⭐ <b>Pro</b>: { $pro_credits } кредитов в месяц, до { $pro_books } книг, { $pro_questions } вопросов в день.
    🎓 <b>Scholar</b>: { $scholar_credits } кредитов в месяц, до { $scholar_books } книг, { $scholar_questions } вопросов в день, самые сильные модели.

    <b>Пакеты кредитов</b> не сгорают. Оплата звёздами Telegram{ $card ->
        [yes] {" "}или картой
       *[other] {""}
    }.
billing-button-plan-stars = { $name } · { $stars } ⭐ в месяц
billing-button-plan-card = { $name } · { $rubles } ₽ на 30 дней
billing-button-pack-stars = { $name } · { $stars } ⭐
billing-button-pack-card = { $name } · { $rubles } ₽
billing-product-unknown = Это предложение больше не действует. /buy покажет актуальные.

billing-invoice-pack-title = { $credits } { $credits ->
    [one] кредит
    [few] кредита
   *[many] кредитов
}
billing-invoice-pack-description = Кредиты Librarity ({ $credits }) на вопросы, книги и пересказы. Они не сгорают.
billing-invoice-plan-title = Librarity { $name }
billing-invoice-plan-description = { $name } на месяц: { $credits } кредитов, до { $books } книг, { $questions } вопросов в день. Продлевается ежемесячно; отменить можно в /balance.
billing-subscribe-text = ⭐ { $name } — ежемесячная подписка за { $stars } звёзд. Нажмите, чтобы подписаться; отменить можно в любой момент в /balance.
billing-button-subscribe = Подписаться за { $stars } ⭐
billing-card-text = 💳 Оплатите { $rubles } ₽ картой на странице ЮKassa. Я сообщу, как только платёж поступит.
billing-button-pay-card = Оплатить { $rubles } ₽
billing-card-unavailable = 😔 Оплата картой сейчас не отвечает. Попробуйте через минуту или оплатите звёздами.

billing-precheckout-unknown-order = Этот счёт больше не действует. Откройте /buy ещё раз.
billing-precheckout-wrong-amount = Цена изменилась. Откройте /buy ещё раз.
billing-precheckout-paid = Этот счёт уже оплачен.
billing-precheckout-in-progress = Этот счёт уже оплачивается. Если тот платёж не прошёл, попробуйте через { $minutes } { $minutes ->
    [one] минуту
    [few] минуты
   *[many] минут
} или откройте /buy и получите новый счёт.
billing-precheckout-canceled = Этот счёт отменён. Откройте /buy ещё раз.
billing-precheckout-busy = Не успел проверить счёт. Попробуйте ещё раз.

billing-paid-pack = ✅ Спасибо! Добавлено кредитов: { $credits }. Баланс: { $balance }.
billing-paid-plan = ✅ Спасибо! Ваш тариф — <b>{ $plan }</b> до { $until }, новых кредитов: { $credits }. Баланс: { $balance }.
billing-paid-renewal = ⭐ Подписка { $plan } продлена до { $until }: добавлено { $credits } кредитов. Баланс: { $balance }.
billing-paid-problem = Мы получили ваш платёж, но что-то в нём не сходится с нашими записями. Не волнуйтесь: напишите /paysupport, и мы разберёмся.
billing-card-canceled = ❌ Оплата картой на { $rubles } ₽ отменена, деньги не списаны. Можно попробовать ещё раз в любой момент.
billing-refunded = ↩️ Платёж на { $amount } { $currency } возвращён; списано кредитов: { $taken }.{ $plan_ended ->
    [yes] {" "}Ваш тариф снова бесплатный.
   *[other] {""}
}
billing-sub-canceled = Подписка отменена. { $plan } действует до { $until } и не продлится.
billing-sub-resumed = Подписка возобновлена: { $plan } продлится { $until }.
billing-sub-none = У вас нет подписки, которую можно изменить.

billing-low-credits = ⚠️ Вы потратили { $percent }% кредитов этого периода: осталось { $balance }. Пополнить можно в /buy.
billing-no-credits = 🙂 На это не хватает кредитов (нужно { $cost }, осталось { $balance }). Пополните баланс кнопками ниже или дождитесь ежемесячных кредитов (см. /balance).
billing-daily-limit = 🌙 Сегодня уже { $limit } { $limit ->
    [one] вопрос
    [few] вопроса
   *[many] вопросов
} — это максимум для вашего тарифа. Спросите завтра или перейдите на тариф побольше.
billing-books-limit = 📚 На вашем тарифе можно хранить до { $limit } { $limit ->
    [one] книги
    [few] книг
   *[many] книг
}. Удалите одну в /books или выберите тариф побольше.
billing-file-too-large = 📦 На вашем тарифе книги — до { $limit } МБ. Для файлов побольше выберите другой тариф.

billing-trial-started = 🎁 Подарок для начала: <b>Pro на { $days } { $days ->
    [one] день
    [few] дня
   *[many] дней
}</b> и кредиты: { $credits }. Пользуйтесь!
billing-referral-invitee = 🎉 Ваша первая книга готова! Вас пригласил друг, поэтому вы оба получаете кредиты: по { $bonus }.
billing-referral-referrer = 🎉 Приглашённый вами друг добавил первую книгу: вам начислено кредитов: { $bonus }!

billing-paysupport =
    <b>Помощь с оплатой</b>
    Что-то не так с платежом или нужен возврат? Напишите <code>/paysupport</code> и что случилось (дата и сумма помогут), и мы ответим здесь в течение суток.{ $contact ->
        [none] {""}
       *[other] {" "}Можно также написать { $contact }.
    }
billing-paysupport-sent = ✉️ Спасибо, сообщение передано в поддержку. Мы ответим здесь.
billing-paysupport-admin = 💬 Вопрос об оплате от { $user } (id { $user_id }):
    { $text }
billing-paysupport-answer = 💬 <b>Ответ поддержки</b>
    { $text }

    Чтобы написать ещё, отправьте <code>/paysupport</code> и ваше сообщение.
billing-terms =
    <b>Условия использования</b>
    • Librarity продаёт цифровые кредиты и месячные тарифы. Кредиты тратятся на ответы, чтение книг и пересказы; цена дорогих действий показывается заранее.
    • В Telegram оплата идёт звёздами Telegram; оплата картой — через ЮKassa, где она доступна.
    • Подписка продлевается каждый месяц, пока вы не отмените её в /balance; отменённый тариф действует до конца оплаченного месяца.
    • Если что-то пошло не так, напишите /paysupport: при возврате платежа списываются его неизрасходованные кредиты.{ $url ->
        [none] {""}
       *[other] {"\u000A"}Полные условия: { $url }
    }

billing-refund-usage = Использование: <code>/refund telegram_payment_charge_id</code>
billing-refund-done = ↩️ Возвращено. Пользователь { $user_id }: списано { $taken } из { $owed } { $owed ->
        [one] кредита
       *[other] кредитов
    }.
billing-refund-unknown = Такого платежа нет.
billing-refund-already = Этот платёж уже возвращён.

## Показывает библиотека, когда биллинг отказывает книге до чтения (коды из хука перед индексацией)
library-error-no-credits = 🙂 Чтение этой книги стоит кредитов: { $cost }, а у вас { $balance }. Пополните баланс в /buy и пришлите книгу снова.
library-error-books-limit = 📚 На вашем тарифе можно хранить до { $limit } { $limit ->
    [one] книги
    [few] книг
   *[many] книг
}. Удалите одну в /books или загляните в /buy.
