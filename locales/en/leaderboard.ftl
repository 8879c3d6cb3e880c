## The opt-in leaderboard

command-top = The readers' leaderboard
leaderboard-settings-on = 🏆 On the leaderboard as <b>{ $name }</b> (/top).
leaderboard-settings-off = 🏆 Not on the leaderboard (/top).
leaderboard-button-settings-on = 🏆 Leaderboard: on
leaderboard-button-settings-off = 🏆 Leaderboard: off
leaderboard-screen-off = 🏆 <b>Leaderboard</b>

    You are not on it. If you join, /top shows the name you choose (never your Telegram name), your books, questions and current streak to everyone who uses the bot. You can leave at any time: your line disappears at once.
leaderboard-screen-on = 🏆 <b>Leaderboard</b>

    You are on it as <b>{ $name }</b>. The board is recounted every hour. Leave at any time: your line disappears at once.
leaderboard-button-join = ✅ Join under a name I choose
leaderboard-button-rename = ✏️ Change my name
leaderboard-button-leave = 🚫 Leave the leaderboard
leaderboard-button-back = ← Back
leaderboard-button-cancel = ✖️ Cancel
leaderboard-ask-name = ✏️ Type the name to show on the leaderboard ({ $min }–{ $max } characters; no links or @mentions).
leaderboard-name-length = 🤔 The name must be { $min } to { $max } characters long. Type another one.
leaderboard-name-characters = 🤔 The name has invisible or control characters. Type another one.
leaderboard-name-link = 🤔 No links or @mentions in the name, please. Type another one.
leaderboard-joined = ✅ You are on the leaderboard as <b>{ $name }</b>. You will appear in /top after the next hourly recount.
leaderboard-left = You left the leaderboard
leaderboard-title = 🏆 <b>Readers' leaderboard</b>
    <i>By current streak, then questions, then books.</i>
leaderboard-empty = <i>Nobody is on the board yet.</i>
leaderboard-line = { $rank }. { $name } — 🔥 { $streak } · 💬 { $questions } · 📚 { $books }
leaderboard-you = You are <b>#{ $rank }</b> of { $total }.
leaderboard-you-pending = You joined: you will appear after the next hourly recount.
leaderboard-you-off = You are not on the board. Join under a name you choose in /settings.
leaderboard-refreshed = <i>Recounted { $time }.</i>
leaderboard-name-taken = 🤔 Another reader on the leaderboard already has this name. Type another one.
