//! The exactness corpus, shared by the native and the browser tests.

/// Named texts: languages, code, emoji, whitespace runs, adversarial repetitions.
pub(crate) fn corpus() -> Vec<(String, String)> {
    let mut texts: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        (
            "mixed_10k".into(),
            include_str!("../corpus/mixed_10k.txt").into(),
        ),
        (
            "languages".into(),
            include_str!("../corpus/languages.txt").into(),
        ),
        ("space".into(), " ".into()),
        (
            "contractions".into(),
            "I'm you're he'll she'd it's we've THEY'RE DON'T Isn'ſ 's 'S 'll".into(),
        ),
        (
            "numbers".into(),
            "1 12 123 1234 12345 ١٢٣٤ ½⅓ Ⅻ 3.14159 1,000,000".into(),
        ),
        (
            "whitespace".into(),
            "a  b   c\t\td\n\ne \r\n f \n\n\n   \n  g   \u{3000}\u{a0}h\u{2028}i \u{85}j".into(),
        ),
        ("trailing".into(), "end with spaces   ".into()),
        ("trailing_newlines".into(), "end\n  \n".into()),
        (
            "marks".into(),
            "e\u{301}te\u{301} Cafe\u{301} \u{301}\u{302}x A\u{301}B \u{0915}\u{094d}\u{0937}"
                .into(),
        ),
        (
            "case".into(),
            "HTTPRequest XMLHttpRequest iPhone ǅemal ᾈbc ABCdef ABC'S".into(),
        ),
        ("emoji".into(), "👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️‍🔥 😀😀😀 ⌚".into()),
        (
            "punct".into(),
            "!!! ... --- /// \\\\ ?!/\n/ <|endoftext|> `code` **bold** ~~x~~".into(),
        ),
        ("ffff".into(), "\u{fffd}\u{fffd} \u{feff}x \u{200b}y".into()),
    ];
    for (name, unit, n) in [
        ("repeat_a", "a", 5000),
        ("repeat_space", " ", 3000),
        ("repeat_newline", "\n", 2000),
        ("repeat_bang", "!", 4000),
        ("repeat_digits", "1234567890", 300),
        ("repeat_emoji", "🙂", 1000),
        ("repeat_cjk", "的", 2000),
        ("repeat_ab", "ab", 2000),
        ("repeat_equals", "=", 1000),
        ("repeat_word_space", "hello ", 500),
        ("repeat_indent", "    \n", 300),
    ] {
        texts.push((name.into(), unit.repeat(n)));
    }
    texts
}
