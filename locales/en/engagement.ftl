## Reading streaks and milestones

command-stats = Your reading streak and milestones
stats-text =
    📊 <b>Your reading</b>

    📚 Books: { $books }
    💬 Questions: { $questions }
    🔥 Streak: { $current ->
        [0] none today yet — ask about a book to start one
        [one] { $current } day
       *[other] { $current } days in a row
    }
    🏅 Best streak: { $best ->
        [one] { $best } day
       *[other] { $best } days
    }
    📅 Days of reading: { $days }
stats-milestones = <b>Milestones</b>
stats-no-milestones = <i>No milestones yet: your first book and first question are the first two.</i>
milestone-reached = 🏆 <b>Milestone!</b> { $name }
milestone-first_book = Your first book is on the shelf
milestone-books_10 = 10 books on your shelf
milestone-first_question = Your first question about a book
milestone-questions_100 = 100 questions asked
milestone-questions_1000 = 1,000 questions asked
milestone-streak_3 = 3 days of reading in a row
milestone-streak_7 = A 7-day reading streak
milestone-streak_30 = A 30-day reading streak
