# Korean puts 오전/오후 before the time: "2026년 1월 8일 오전 9:02", not "9:02 오전".
DATETIME_FORMAT = "Y년 n월 j일 A g:i"
