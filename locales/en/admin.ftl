## Admin: /admin and its screens (owners and admins only), and the ban notice

command-admin = Admin menu
ban-notice = You have been banned from this bot. Your messages are no longer answered.

admin-denied = ⛔ This is for admins only.
admin-stale-button = This button is out of date. Open /admin again.
admin-button-back = ← Back
admin-button-cancel = ✖️ Cancel

admin-error-not_found = Not found: it may have been deleted.
admin-error-forbidden = ⛔ You can't do that to this user.
admin-error-bad_amount = ⚠️ Send a whole number of credits from 1 to { $limit }, without a sign (giving and taking are separate buttons).
admin-error-insufficient = Not taken: the balance is only { $balance } { $balance ->
        [one] credit
       *[other] credits
    }.
admin-error-same_plan = The user is already on this plan.
admin-error-unknown_plan = There is no such plan.
admin-error-same_role = The user already has this role.
admin-error-not_retryable = Only a failed book whose file is still stored can be reprocessed.
admin-error-not_refundable = Only a paid Stars payment can be refunded here.
admin-error-unavailable = This is not available right now.

## Menu
admin-menu-title = 🛠 <b>Admin</b>
    Choose a section.
admin-menu-overview = 📊 Overview
admin-menu-users = 👥 Users
admin-menu-books = 📚 Books
admin-menu-payments = 💳 Payments
admin-menu-broadcasts = 📣 Broadcasts
admin-menu-export = 📤 Export
admin-menu-close = ✖️ Close
admin-menu-closed = Admin menu closed. /admin opens it again.

## Overview
admin-overview-loading = Counting…
admin-overview =
    📊 <b>Overview</b> · { $date } UTC

    👥 Users: <b>{ $users }</b> (new: { $new_today } today, { $new_7d } in 7 days, { $new_30d } in 30 days)
    🔥 Active: { $dau } today, { $wau } in 7 days, { $mau } in 30 days
    🚫 Blocked the bot: { $blocked }
    📚 Books: { $books } ready, { $failed } failed, { $pages } { $pages ->
        [one] page
       *[other] pages
    } indexed
    ❓ Questions: { $questions_today } today, { $questions_30d } in 30 days
    💰 Revenue today: { $stars_today } ⭐ + { $rub_today } ₽
    💰 Revenue, 30 days: { $stars_30d } ⭐ + { $rub_30d } ₽ ({ $payments_30d } { $payments_30d ->
        [one] payment
       *[other] payments
    }, { $refunds_30d } { $refunds_30d ->
        [one] refund
       *[other] refunds
    })
    🔁 MRR: { $mrr_stars } ⭐ + { $mrr_rub } ₽, { $subscribers } { $subscribers ->
        [one] subscriber
       *[other] subscribers
    }
    🤖 LLM cost: ${ $cost_today } today, ${ $cost_30d } in 30 days
admin-chart-title = Last 30 days
admin-chart-total-users = Users in total
admin-chart-new-users = New users
admin-chart-active-users = Active users
admin-chart-questions = Questions
admin-chart-caption = 📈 Growth over the last 30 days

## Users
admin-users-title = 👥 <b>Users</b>: { $total } in total.
admin-users-button-find = 🔎 Find
admin-users-button-newest = 🆕 Newest
admin-users-newest = 🆕 Newest users ({ $total } in total):
admin-users-find-prompt = 🔎 Send an id, an @username or a name (part of it is enough, small typos are forgiven).
admin-users-found = 🔎 «{ $query }»: { $count } { $count ->
        [one] user
       *[other] users
    } found.
admin-users-not-found = 🔎 «{ $query }»: nobody found. Try another spelling, an id or an @username.
admin-users-results = 🔎 Search results: { $count }.

admin-card =
    👤 <b>{ $name }</b>
    🆔 <code>{ $id }</code> · { $role } · { $language }
    💳 Plan: { $plan } (until { $until }) · Balance: <b>{ $balance }</b> { $balance ->
        [one] credit
       *[other] credits
    }
    📚 Books: { $books } ({ $ready } ready, { $failed } failed), { $pages } { $pages ->
        [one] page
       *[other] pages
    } · Questions: { $questions }
    🕒 Joined { $joined } · Last seen { $seen }
    💰 Payments: { $payments } ({ $stars } ⭐, { $rub } ₽)
admin-card-payment = • { $date } · { $amount } · { $status } · { $credits } { $credits ->
        [one] credit
       *[other] credits
    }
admin-card-banned = ⛔ <b>Banned</b> (reason: { $reason })
admin-card-blocked = 🚫 Has blocked the bot
admin-card-deleted = 🗑 Data deleted on { $date }
admin-card-button-grant = ➕ Credits
admin-card-button-take = ➖ Credits
admin-card-button-plan = 💳 Plan
admin-card-button-role = 🎖 Role
admin-card-button-ban = ⛔ Ban
admin-card-button-unban = ✅ Unban
admin-card-button-delete = 🗑 Delete data
admin-card-button-log = 📜 Audit log
admin-card-button-refresh = 🔄 Refresh

admin-role-user = user
admin-role-subscriber = subscriber
admin-role-admin = admin
admin-role-owner = owner
admin-role-make-admin = 🎖 Make admin
admin-role-make-user = 👤 Make a regular user
admin-role-choose = 🎖 New role for user <code>{ $id }</code>:
admin-role-done = Role: { $role }

admin-plan-free = Free
admin-plan-pro = Pro
admin-plan-scholar = Scholar
admin-plan-choose = 💳 Plan for user <code>{ $id }</code> (a paid plan runs for a month and comes with its monthly credits):
admin-plan-done = Plan: { $plan }

admin-credits-grant-prompt = ➕ How many credits to give user <code>{ $id }</code>? Send a number.
admin-credits-take-prompt = ➖ How many credits to take from user <code>{ $id }</code>? Send a number.
admin-credits-reason-prompt = ✍️ Now the reason (it goes to the ledger and the audit log).
admin-credits-done = ✅ Done: { $amount } { $credits ->
        [one] credit
       *[other] credits
    }, the balance is now { $balance }.

admin-ban-done = User banned
admin-unban-done = User unbanned
admin-delete-confirm =
    🗑 Delete the data of user <code>{ $id }</code>?

    Their books (with the index), conversations, cached answers and summaries are deleted, and their name is removed. Payments and the credit ledger stay for the accounts, under the numeric id only. This cannot be undone.
admin-delete-button-yes = 🗑 Yes, delete
admin-delete-working = Deleting…
admin-delete-done = 🗑 The data of user <code>{ $id }</code> is deleted: { $books } { $books ->
        [one] book
       *[other] books
    }, { $turns } { $turns ->
        [one] question and answer
       *[other] questions and answers
    }.

admin-log-title = 📜 <b>Audit log</b> for <code>{ $id }</code> ({ $count } { $count ->
        [one] entry
       *[other] entries
    }):
admin-log-line = • { $date } · <code>{ $actor }</code> · { $action } { $details }
admin-log-empty = Nothing yet.

## Books
admin-books-title =
    📚 <b>Books</b>
    In the queue: { $queued } · Failed: { $failed }
admin-books-button-queue = ⏳ Queue ({ $count })
admin-books-button-failed = ❌ Failed ({ $count })
admin-books-queue = ⏳ <b>Ingestion queue</b>: { $count } (oldest first)
admin-books-failed = ❌ <b>Failed books</b>: { $count } (latest first)
admin-books-failed-line = #{ $id }: <code>{ $error }</code>
admin-book-card =
    📖 <b>{ $title }</b> (#{ $id })
    👤 Owner: <code>{ $user }</code>
    Status: { $status } · stage { $stage } · { $progress }%
    Pages: { $pages } · chunks: { $chunks } · attempts: { $attempts }
    Error: <code>{ $error }</code> ({ $details })
    Added { $created } · updated { $updated }
admin-book-status-pending = waiting
admin-book-status-processing = processing
admin-book-status-ready = ready
admin-book-status-failed = failed
admin-book-file-kept = 📎 The file is kept until { $until }, so the book can be reprocessed until then.
admin-book-file-gone = 📎 The file is no longer kept (files of failed books are kept { $days ->
        [one] { $days } day
       *[other] { $days } days
    }): the owner must send the book again.
admin-book-button-retry = 🔁 Reprocess
admin-book-button-delete = 🗑 Delete
admin-book-button-owner = 👤 Owner
admin-book-button-delete-yes = 🗑 Yes, delete the book
admin-book-delete-confirm = 🗑 Delete book #{ $id } with its index and file? This cannot be undone.
admin-book-delete-done = Book deleted
admin-book-deleted = 🗑 Book #{ $id } is deleted.
admin-book-retry-done = Queued again

## Payments
admin-payments-title = 💳 <b>Payments</b>: { $count } (latest first)
admin-payment-card =
    💳 <b>Payment #{ $id }</b>
    👤 User: <code>{ $user }</code> · { $provider }
    Amount: { $amount } · credits: { $credits } · plan: { $plan }
    Status: { $status }
    Charge: <code>{ $charge }</code>
    Paid { $created } · refunded { $refunded } (credits taken back: { $taken })
admin-payment-status-paid = paid
admin-payment-status-refunded = refunded
admin-payment-button-refund = ↩️ Refund
admin-refund-confirm = ↩️ Refund payment #{ $id }? The Stars go back to the user, the credits it brought are taken back and its plan ends.
admin-refund-button-yes = ↩️ Yes, refund
admin-refund-done = Refunded; credits taken back: { $credits }.

## Broadcasts
admin-bc-title = 📣 <b>Broadcasts</b> (latest { $count }):
admin-bc-list-item = #{ $id } · { $status } · { $sent }/{ $total }
admin-bc-button-new = ✍️ New broadcast
admin-bc-compose = ✍️ Send the message to broadcast: text, or a photo with a caption. Formatting is kept.
admin-bc-unsupported = Only text or a photo (or an image file) can be broadcast.
admin-bc-photo-saved = 🖼 The photo for the broadcast.
admin-bc-button-prompt = 🔗 Add a link button? Send it as <code>Label | https://example.com</code>, or tap «No button».
admin-bc-button-none = No button
admin-bc-button-bad = That is not a button. Send <code>Label | https://example.com</code> (a label up to 64 characters and a link).
admin-bc-audience-choose = 👥 Who gets it?
admin-bc-audience-all = Everyone
admin-bc-audience-active = Active in 30 days
admin-bc-audience-plan = On plan { $plan }
admin-bc-audience-language = Language: { $language }
admin-bc-language-en = English
admin-bc-language-ru = Russian
admin-bc-expired = This draft is gone. Start again with «New broadcast».
admin-bc-preview-below = 👇 The preview, exactly as users will see it:
admin-bc-confirm =
    📣 Broadcast #{ $id } is ready (the preview is above).
    Audience: { $audience } — <b>{ $count }</b> { $count ->
        [one] recipient
       *[other] recipients
    }.
    Start sending?
admin-bc-button-start = 🚀 Start
admin-bc-button-discard = 🗑 Discard
admin-bc-button-refresh = 🔄 Refresh
admin-bc-button-cancel = ⏹ Cancel sending
admin-bc-started = Sending…
admin-bc-cancelled = Cancelled
admin-bc-progress =
    📣 <b>Broadcast #{ $id }</b>: { $status }
    { $bar }
    ✅ Sent: { $sent } of { $total }
    ❌ Failed: { $failed } · 🚫 Blocked: { $blocked } · ❔ Interrupted: { $unknown }
    ⏳ Left: { $pending }
    Started { $started } · finished { $finished }
admin-bc-status-draft = draft
admin-bc-status-running = sending
admin-bc-status-cancelled = cancelled
admin-bc-status-done = done
admin-bc-error-empty = The message is empty.
admin-bc-error-text_too_long = The text is longer than Telegram's 4096 characters.
admin-bc-error-caption_too_long = A photo caption can be at most 1024 characters.
admin-bc-error-bad_button = The button needs a label (up to 64 characters) and an http(s) link.
admin-bc-error-bad_audience = Choose an audience.
admin-bc-error-not_found = No such broadcast.
admin-bc-error-not_draft = This broadcast has been started already.
admin-bc-error-unavailable = Broadcasts are not available right now.

## Export
admin-export-title = 📤 <b>Export</b> as CSV (UTF-8, opens in Excel and Google Sheets).
admin-export-button-users = 👥 Users
admin-export-button-payments = 💳 Payments
admin-export-working = Preparing the file…
admin-export-done-users = 👥 Users: { $rows } { $rows ->
        [one] row
       *[other] rows
    }.
admin-export-done-payments = 💳 Payments: { $rows } { $rows ->
        [one] row
       *[other] rows
    }.

admin-support-button-reply = ↩️ Reply
admin-support-reply-prompt = ✍️ Type your answer to user { $id }: it goes to them as you write it. In a group, reply to this message.
admin-support-reply-sent = ✅ Your answer went to user { $id }.
admin-support-reply-failed = ⚠️ Couldn't send your answer to user { $id }: they may have blocked the bot.
admin-support-reply-canceled = Answer not sent.
