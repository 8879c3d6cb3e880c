## Credits, plans and payments: /balance, /buy, Stars and card payments, /paysupport, /terms

command-balance = My credits and plan
command-buy = Buy credits or a plan

billing-plan-name = { $plan ->
    [pro] Pro
    [scholar] Scholar
   *[other] Free
}
billing-pack-name = { $credits } credits

billing-balance =
    💰 <b>{ $balance } credits</b>
    Plan: <b>{ $plan }</b>{ $until ->
        [none] {""}
       *[other] {" "}until { $until }
    }
    This period: { $used } of { $credits } credits used. More credits on { $renews }.
    Today: { $questions } of { $questions_limit } questions. Books: up to { $books }, files up to { $file_mb } MB.
billing-balance-trial = 🎁 Pro trial until { $until }.
billing-subscription-active = ⭐ Your subscription renews on { $date }.
billing-subscription-canceled = Subscription canceled: your plan stays until { $date }.
billing-referral-link = 🤝 Invite a friend: { $link }
    You both get { $bonus } credits when they add their first book.
billing-button-buy = ➕ Buy credits
billing-button-history = 🧾 Payments
billing-button-cancel-sub = Cancel subscription
billing-button-resume-sub = Resume subscription

billing-history-title = <b>Your last payments</b>
billing-history-line = { $date } · { $what } · { $amount } { $currency }{ $refunded ->
    [yes] {" "}(refunded)
   *[other] {""}
}
billing-history-empty = No payments yet. /buy shows plans and credit packs.

billing-buy =
    <b>Plans</b>, monthly:
    ⭐ <b>Pro</b>: { $pro_credits } credits a month, up to { $pro_books } books, { $pro_questions } questions a day.
    🎓 <b>Scholar</b>: { $scholar_credits } credits a month, up to { $scholar_books } books, { $scholar_questions } questions a day, the strongest models.

    <b>Credit packs</b> never expire. Pay with Telegram Stars{ $card ->
        [yes] {" "}or by card
       *[other] {""}
    }.
billing-button-plan-stars = { $name } · { $stars } ⭐ a month
billing-button-plan-card = { $name } · { $rubles } ₽ for 30 days
billing-button-pack-stars = { $name } · { $stars } ⭐
billing-button-pack-card = { $name } · { $rubles } ₽
billing-product-unknown = This offer is no longer available. /buy shows the current ones.

billing-invoice-pack-title = { $credits } credits
billing-invoice-pack-description = { $credits } Librarity credits for questions, books and summaries. They never expire.
billing-invoice-plan-title = Librarity { $name }
billing-invoice-plan-description = { $name } for a month: { $credits } credits, up to { $books } books, { $questions } questions a day. Renews monthly; cancel any time in /balance.
billing-subscribe-text = ⭐ { $name } is a monthly subscription for { $stars } Stars. Tap to subscribe; you can cancel any time in /balance.
billing-button-subscribe = Subscribe for { $stars } ⭐
billing-card-text = 💳 Pay { $rubles } ₽ by card on YooKassa's page. I'll tell you as soon as the payment arrives.
billing-button-pay-card = Pay { $rubles } ₽
billing-card-unavailable = 😔 Card payments aren't answering right now. Please try again in a minute, or pay with Stars.

billing-precheckout-unknown-order = This invoice is no longer valid. Please open /buy again.
billing-precheckout-wrong-amount = The price has changed. Please open /buy again.
billing-precheckout-paid = This invoice has already been paid.
billing-precheckout-in-progress = This invoice is already being paid. If that payment didn't go through, try again in { $minutes } { $minutes ->
    [one] minute
   *[other] minutes
} or open /buy for a new invoice.
billing-precheckout-canceled = This invoice was canceled. Please open /buy again.
billing-precheckout-busy = I couldn't check this invoice in time. Please try again.

billing-paid-pack = ✅ Thank you! { $credits } credits added. Balance: { $balance } credits.
billing-paid-plan = ✅ Thank you! You're on <b>{ $plan }</b> until { $until }, with { $credits } new credits. Balance: { $balance } credits.
billing-paid-renewal = ⭐ Your { $plan } subscription renewed until { $until }: { $credits } credits added. Balance: { $balance } credits.
billing-paid-problem = We received your payment, but something about it doesn't match our records. Don't worry: write /paysupport and we'll sort it out.
billing-card-canceled = ❌ The card payment of { $rubles } ₽ was canceled and nothing was charged. You can try again any time.
billing-refunded = ↩️ Your payment of { $amount } { $currency } was refunded; { $taken } { $taken ->
        [one] credit was
       *[other] credits were
    } taken back.{ $plan_ended ->
    [yes] {" "}Your plan is Free again.
   *[other] {""}
}
billing-sub-canceled = Subscription canceled. { $plan } stays until { $until }, and it won't renew.
billing-sub-resumed = Subscription resumed: { $plan } renews on { $until }.
billing-sub-none = You have no subscription to change.

billing-low-credits = ⚠️ You've used { $percent }% of this period's credits: { $balance } left. Top up any time with /buy.
billing-no-credits = 🙂 You're out of credits for this ({ $cost } needed, { $balance } left). Top up below, or wait for your monthly credits (see /balance).
billing-daily-limit = 🌙 That's { $limit } questions today, the most your plan allows. Ask again tomorrow, or upgrade for more.
billing-books-limit = 📚 Your plan holds up to { $limit } books. Delete one in /books, or upgrade for a bigger shelf.
billing-file-too-large = 📦 On your plan, books can be up to { $limit } MB. Upgrade for larger files.

billing-trial-started = 🎁 A welcome gift: <b>Pro for { $days } days</b> with { $credits } credits. Enjoy!
billing-referral-invitee = 🎉 Your first book is ready! A friend invited you, so you both get { $bonus } credits.
billing-referral-referrer = 🎉 A friend you invited just added their first book: { $bonus } credits for you!

billing-paysupport =
    <b>Help with payments</b>
    Something wrong with a payment, or want a refund? Write <code>/paysupport</code> and what happened (the date and the amount help), and we'll answer here within 24 hours.{ $contact ->
        [none] {""}
       *[other] {" "}You can also write to { $contact }.
    }
billing-paysupport-sent = ✉️ Thanks, your message went to our support team. We'll answer here.
billing-paysupport-admin = 💬 Payment support from { $user } (id { $user_id }):
    { $text }
billing-paysupport-answer = 💬 <b>Support answered</b>
    { $text }

    To write again, send <code>/paysupport</code> and your message.
billing-terms =
    <b>Terms of use</b>
    • Librarity sells digital credits and monthly plans. Credits pay for answers, reading books and summaries; prices are shown before anything costly.
    • In Telegram, you pay with Telegram Stars; card payments go through YooKassa where available.
    • Subscriptions renew monthly until you cancel them in /balance; a canceled plan stays until the end of the paid month.
    • If something went wrong, write /paysupport: refunds return the payment and take back its unspent credits.{ $url ->
        [none] {""}
       *[other] {"\u000A"}Full terms: { $url }
    }

billing-refund-usage = Usage: <code>/refund telegram_payment_charge_id</code>
billing-refund-done = ↩️ Refunded. User { $user_id }: { $taken } of { $owed } { $owed ->
        [one] credit
       *[other] credits
    } taken back.
billing-refund-unknown = No such payment.
billing-refund-already = That payment was already refunded.

## Shown by the library when billing refuses a book before reading it (codes from the before-index hook)
library-error-no-credits = 🙂 Reading this book costs { $cost } credits and you have { $balance }. Top up with /buy, and send it again.
library-error-books-limit = 📚 Your plan holds up to { $limit } books. Delete one in /books, or see /buy for a bigger shelf.
