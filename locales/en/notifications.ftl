## Messages the bot starts: daily quote, weekly digest, reminders, books, payments, trial, balance

notify-raw = { $text }
notify-settings-hint = <i>/settings: what I send and when</i>
notify-place-page = p. { $page }

notify-quote =
    💡 <b>Quote of the day</b>

    <blockquote>{ $text }</blockquote>
    — <b>{ $title }</b>{ $author ->
        [none] {""}
       *[other] , { $author }
    }{ $place ->
        [none] {""}
       *[other] {""} · { $place }
    }

    <i>/settings: what I send and when</i>

notify-digest-title = 📬 <b>Your week with your books</b>
notify-digest-questions = You asked { $count } { $count ->
        [one] question
       *[other] questions
    }: { $books }
notify-digest-no-questions = A quiet week: no questions. Your books are waiting for you.
notify-digest-added = New on your shelf: { $titles }
notify-digest-passage =
    🔖 A passage worth returning to, from <b>{ $title }</b> ({ $place }):
    <blockquote>{ $text }</blockquote>

notify-reengage-7 = 👋 It's been a week. Your books have answers waiting: ask one a question, or /books to pick another.
notify-reengage-7-new = 👋 It's been a week. Send me a book as a file, and ask it anything.
notify-reengage-30 = 📚 A month already! Your shelf is still here. Ask your book something you've been wondering about.
notify-reengage-30-new = 📚 A month already! Send me a book as a file, and I'll answer your questions about it with quotes.

notify-book-ready = ✅ <b>{ $title }</b> is ready. Ask me anything about it, or open /books.
notify-book-failed = ⚠️ I couldn't read <b>{ $title }</b>. Why, and what to do, is in the message where you sent it.

notify-payment-received = 💳 Payment received: { $amount } { $currency }. { $credits ->
        [0] Thank you!
       *[other] { $credits } credits added. Thank you!
    }
notify-payment-refunded = ↩️ Your payment of { $amount } { $currency } has been refunded.

notify-trial-started = 🎁 Your trial has started: it runs until { $date }. { $credits ->
        [0] Enjoy!
       *[other] { $credits } credits are yours to use.
    }
notify-trial-ending = ⏳ Your trial ends tomorrow ({ $date }). Keep everything going with a plan: /plans
notify-trial-ended = Your trial has ended; you're on the free plan now. A plan brings everything back: /plans
notify-low-balance = 🔋 You're running low on credits: { $balance } left. Top up or pick a plan: /plans

## Admin alerts (grouped) and the daily report

alert-more = …and { $count } more
alert-error-title = 🚨 <b>Errors: { $count }</b>
alert-error-item = <code>{ $type }</code> ×{ $count } (updates { $updates }): { $message }
alert-llm-down-title = 🔴 <b>LLM provider down</b>
alert-llm-down-item = { $provider }: { $detail }
alert-llm-up-title = 🟢 <b>LLM provider back</b>
alert-llm-up-item = { $provider } (down for { $detail })
alert-book-failed-title = 📕 <b>Books failed: { $count }</b>
alert-book-failed-item = #{ $book_id } «{ $title }» of user <code>{ $user_id }</code>: { $error_code }
alert-payment-title = 💰 <b>Payments: { $count }</b>
alert-payment-item = { $amount } { $currency } from <code>{ $user_id }</code> { $what }
alert-refund-title = ↩️ <b>Refunds: { $count }</b>
alert-refund-item = { $amount } { $currency } to <code>{ $user_id }</code>
alert-new-user-title = 👤 <b>New users: { $count }</b>
alert-new-user-item = { $name } @{ $username } (<code>{ $user_id }</code>, { $language })

report-title = 📊 <b>Daily report</b> · { $date }
report-users = 👥 Users: { $total } (+{ $new } that day, +{ $new_week } in 7 days) · active: { $dau } that day, { $wau } in 7 days, { $mau } in 30 days · blocked the bot: { $blocked }
report-books = 📚 Books ready: { $ready } ({ $pages } pages) · failed: { $failed }
report-questions = 💬 Questions: { $today } that day, { $month } in 30 days
report-revenue = 💰 Revenue that day: { $stars } ⭐ + { $rub } ₽ · 30 days: { $stars_month } ⭐ + { $rub_month } ₽ · refunds: { $refunds }
report-recurring = 🔁 MRR: { $mrr_stars } ⭐ + { $mrr_rub } ₽ · subscribers: { $subscribers } · churn: { $churn }%
report-llm = 🤖 LLM cost: ${ $today } that day, ${ $month } in 30 days
report-features = 🔥 Most used that day:
