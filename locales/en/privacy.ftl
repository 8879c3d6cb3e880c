command-privacy = What is kept about you
command-export = Your data as a file
command-delete_me = Delete your data

privacy-text = 🔒 <b>Your data</b>

    I keep your profile (name, language, time zone, settings), the books you send (the files and their index, to answer from them), your questions and my answers, your reading streak and milestones, your leaderboard line if you joined it, the quote cards you made (with how often they were shared and opened), and the credit ledger and payments.

    • /export: all of it as a file (JSON inside a zip).
    • /delete_me: erase your books, conversations, cached answers, summaries, streak and milestones, leaderboard line, quote cards (their links stop opening), and profile.

    Payments and the credit ledger stay after a deletion, under your numeric id only, because accounting and refunds require them. Nothing is shown to other users, except, if you join the leaderboard (/settings, off by default), the name you chose there and your books, questions and streak in /top, and a quote card's quote and book for whoever opens the link you shared.
privacy-export-caption = 📦 Everything I keep about you: profile, books, conversations, ledger, payments and settings.
privacy-export-nothing = I keep nothing about you yet.
privacy-delete-confirm = 🗑 <b>Delete your data?</b>

    Your books (with their index), conversations, cached answers, summaries, streak and milestones, leaderboard line, quote cards, and profile will be erased. Payments and the credit ledger stay for the accounts, under your numeric id only. This cannot be undone; /export first if you want a copy.
privacy-delete-button-yes = 🗑 Yes, delete everything
privacy-delete-button-no = ← No, keep it
privacy-delete-kept = 👍 Nothing was deleted.
privacy-delete-working = Deleting…
privacy-delete-done = 🗑 Your data is deleted: { $books } { $books ->
        [one] book
       *[other] books
    }, { $turns } { $turns ->
        [one] question and answer
       *[other] questions and answers
    }. Send /start to begin again.
