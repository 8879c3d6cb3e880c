## Рейтинг читателей (по желанию)

command-top = Рейтинг читателей
leaderboard-settings-on = 🏆 В рейтинге под именем <b>{ $name }</b> (/top).
leaderboard-settings-off = 🏆 Не в рейтинге (/top).
leaderboard-button-settings-on = 🏆 Рейтинг: вкл
leaderboard-button-settings-off = 🏆 Рейтинг: выкл
leaderboard-screen-off = 🏆 <b>Рейтинг</b>

    Вас в нём нет. Если вы присоединитесь, /top покажет всем пользователям бота выбранное вами имя (никогда не имя из Telegram), число ваших книг, вопросов и текущую серию. Выйти можно в любой момент: ваша строка сразу исчезнет.
leaderboard-screen-on = 🏆 <b>Рейтинг</b>

    Вы в нём под именем <b>{ $name }</b>. Рейтинг пересчитывается каждый час. Выйти можно в любой момент: ваша строка сразу исчезнет.
leaderboard-button-join = ✅ Участвовать под своим именем
leaderboard-button-rename = ✏️ Сменить имя
leaderboard-button-leave = 🚫 Выйти из рейтинга
leaderboard-button-back = ← Назад
leaderboard-button-cancel = ✖️ Отмена
leaderboard-ask-name = ✏️ Напишите имя для рейтинга (от { $min } до { $max } символов; без ссылок и @упоминаний).
leaderboard-name-length = 🤔 Имя должно быть длиной от { $min } до { $max } символов. Напишите другое.
leaderboard-name-characters = 🤔 В имени есть невидимые или управляющие символы. Напишите другое.
leaderboard-name-link = 🤔 Пожалуйста, без ссылок и @упоминаний в имени. Напишите другое.
leaderboard-joined = ✅ Вы в рейтинге под именем <b>{ $name }</b>. Вы появитесь в /top после ближайшего ежечасного пересчёта.
leaderboard-left = Вы вышли из рейтинга
leaderboard-title = 🏆 <b>Рейтинг читателей</b>
    <i>По текущей серии, затем по вопросам, затем по книгам.</i>
leaderboard-empty = <i>В рейтинге пока никого нет.</i>
leaderboard-line = { $rank }. { $name } — 🔥 { $streak } · 💬 { $questions } · 📚 { $books }
leaderboard-you = Вы на <b>{ $rank }-м</b> месте из { $total }.
leaderboard-you-pending = Вы присоединились: появитесь после ближайшего ежечасного пересчёта.
leaderboard-you-off = Вас нет в рейтинге. Присоединиться под выбранным именем можно в /settings.
leaderboard-refreshed = <i>Пересчитан { $time }.</i>
leaderboard-name-taken = 🤔 Это имя уже занято другим читателем в рейтинге. Напишите другое.
