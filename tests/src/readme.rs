//! The README's examples as steps to run: every ```` ```console ```` block is a transcript of
//! commands (`$ ` lines, continued while a quote is open or a line ends in `\`), each followed
//! by the output it states. Output lines are matched as written, except that a line `...`
//! stands for any number of lines and `[..]` for any text within a line. A command shown
//! without output is only checked to succeed; a command followed by `echo $?` may fail, and
//! the status it ended with is checked as that command's output. Other blocks (`sh`, `text`)
//! are prose and are not run.

/// One command of a transcript and the output it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The README line of the command's `$ `, counted from 1.
    pub line: usize,
    /// The command, continuation lines included, without the `$ `.
    pub command: String,
    /// The output lines stated under it.
    pub expected: Vec<String>,
}

impl Step {
    /// Whether the command may end with a non-zero status: the next step checks it.
    pub fn may_fail(steps: &[Step], index: usize) -> bool {
        steps
            .get(index + 1)
            .is_some_and(|next| next.command.trim() == "echo $?")
    }
}

/// Whether a shell line leaves a quote open or ends in a backslash, so that the command goes
/// on to the next line. `open` is the quote open before the line.
fn continues(line: &str, open: &mut Option<char>) -> bool {
    let mut chars = line.chars().peekable();
    let mut escaped_end = false;
    let mut after_space = true;
    while let Some(ch) = chars.next() {
        escaped_end = false;
        match (*open, ch) {
            (Some('\''), '\'') => *open = None,
            (Some('\''), _) => {}
            (Some('"'), '"') => *open = None,
            (_, '\\') if chars.next().is_none() => escaped_end = true,
            (_, '\\') => {}
            (None, '\'' | '"') => *open = Some(ch),
            // A comment runs to the end of the line.
            (None, '#') if after_space => break,
            _ => {}
        }
        after_space = ch.is_whitespace();
    }
    escaped_end || open.is_some()
}

/// The steps of every `console` block of `markdown`, in order.
pub fn console_steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut in_other_block = false;
    let mut open: Option<char> = None;
    let mut continuing = false;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            if in_console || in_other_block {
                in_console = false;
                in_other_block = false;
            } else if line.trim_start().trim_start_matches('`').trim() == "console" {
                in_console = true;
                continuing = false;
                open = None;
            } else {
                in_other_block = true;
            }
            continue;
        }
        if !in_console {
            continue;
        }
        if continuing {
            let step = steps.last_mut().expect("a command being continued");
            step.command.push('\n');
            step.command.push_str(line);
            continuing = continues(line, &mut open);
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: index + 1,
                command: command.to_owned(),
                expected: Vec::new(),
            });
            open = None;
            continuing = continues(command, &mut open);
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.trim_end().to_owned());
        }
    }
    for step in &mut steps {
        while step.expected.last().is_some_and(|l| l.is_empty()) {
            step.expected.pop();
        }
    }
    steps
}

/// Whether `actual` fits `pattern`, where `[..]` stands for any text.
fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == actual;
    };
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Checks `output` against the stated lines: `Ok` when they fit, else a message showing both.
pub fn check_output(expected: &[String], output: &str) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    let actual: Vec<&str> = output.lines().map(str::trim_end).collect();
    // fits[i][j]: expected[i..] fits actual[j..].
    let (n, m) = (expected.len(), actual.len());
    let mut fits = vec![vec![false; m + 1]; n + 1];
    fits[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            fits[i][j] = if expected[i] == "..." {
                fits[i + 1][j] || (j < m && fits[i][j + 1])
            } else {
                j < m && line_matches(&expected[i], actual[j]) && fits[i + 1][j + 1]
            };
        }
    }
    if fits[0][0] {
        Ok(())
    } else {
        Err(format!(
            "--- stated\n{}\n--- printed\n{}",
            expected.join("\n"),
            actual.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_blocks_give_commands_with_their_output() {
        let markdown = "intro\n\
            ```sh\n$ not run\n```\n\
            ```console\n\
            $ procura regions get 530100\n\
            code 530100\n\
            ...\n\
            \n\
            $ printf '%s\\n' 'a,b' \\\n\
            \x20   'c,d' > x.csv\n\
            $ grpcurl -d '{\n\
            \x20 \"a\": 1}' host/Method\n\
            {}\n\
            ```\n\
            ```text\n$ neither\n```\n";
        let steps = console_steps(markdown);
        let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                "procura regions get 530100",
                "printf '%s\\n' 'a,b' \\\n    'c,d' > x.csv",
                "grpcurl -d '{\n  \"a\": 1}' host/Method",
            ]
        );
        assert_eq!(steps[0].line, 6);
        assert_eq!(steps[0].expected, ["code 530100", "..."]);
        assert!(steps[1].expected.is_empty());
        assert_eq!(steps[2].expected, ["{}"]);
    }

    #[test]
    fn a_command_followed_by_echo_status_may_fail() {
        let steps = console_steps("```console\n$ false\n$ echo $?\n1\n$ true\n```\n");
        assert!(Step::may_fail(&steps, 0));
        assert!(!Step::may_fail(&steps, 1));
        assert!(!Step::may_fail(&steps, 2));
    }

    #[test]
    fn comments_do_not_open_quotes() {
        let steps = console_steps("```console\n$ procura x  # Yunnan's\nout\n```\n");
        assert_eq!(steps[0].command, "procura x  # Yunnan's");
        assert_eq!(steps[0].expected, ["out"]);
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn output_is_matched_line_by_line_with_gaps_and_wildcards() {
        let out = "head\nrow 1  380  +59.0%\nrow 2\ntail\n";
        assert!(check_output(&lines("head\nrow 1  380  +59.0%\nrow 2\ntail"), out).is_ok());
        assert!(check_output(&lines("...\nrow 1  [..]  +59.0%\n..."), out).is_ok());
        assert!(check_output(&lines("head\n...\ntail"), out).is_ok());
        assert!(check_output(&[], out).is_ok());
        // Lines must be consecutive unless `...` says otherwise, and all of them present.
        assert!(check_output(&lines("head\nrow 2\n..."), out).is_err());
        assert!(check_output(&lines("...\nrow 1  380  +59.0%"), out).is_err());
        assert!(check_output(&lines("...\nrow 1  381[..]\n..."), out).is_err());
        assert!(check_output(&lines("...\nrow 11[..]\n..."), out).is_err());
        let shown = check_output(&lines("nothing"), out);
        assert!(
            shown
                .as_ref()
                .is_err_and(|e| e.contains("--- printed\nhead\n")),
            "{shown:?}"
        );
    }

    #[test]
    fn wildcards_match_within_a_line_only() {
        assert!(line_matches("(today is [..])", "(today is 2026-12-04)"));
        assert!(line_matches("[..]", ""));
        assert!(line_matches("a[..]b[..]c", "a1b2c"));
        assert!(!line_matches("a[..]b[..]c", "a1c2b"));
        assert!(!line_matches("ab[..]ba", "aba"));
        assert!(!line_matches("exact", "exact and more"));
    }
}
