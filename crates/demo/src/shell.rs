//! A toy `sh -c`, so the demo bank's report export can be injected like a real one without
//! running anything: the command line is split on `;`, `|`, `&&`, `||` and newlines, `$(...)`
//! and backquotes are replaced by their output, and these commands exist: `echo` (with
//! `$((a*b))`, `$((a+b))` and `$((a-b))` arithmetic), `id`, `whoami`, and the bank's
//! `report-gen`. Anything else is "not found", as in a shell.

/// The most output kept.
const MAX_OUTPUT: usize = 4096;

/// Runs `line` and returns what it printed.
pub fn run(line: &str) -> String {
    let mut out = String::new();
    for command in split(&substitute(line, 0)) {
        out.push_str(&command_output(command.trim()));
        if out.len() > MAX_OUTPUT {
            break;
        }
    }
    out.chars().take(MAX_OUTPUT).collect()
}

fn split(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' | '\n' => parts.push(std::mem::take(&mut current)),
            '|' | '&' => {
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                parts.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Replaces `$(...)` and `` `...` `` by the output of what they hold (nesting bounded).
fn substitute(line: &str, depth: u8) -> String {
    if depth > 3 {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut rest = line;
    loop {
        let dollar = rest.find("$(").filter(|i| !rest[*i..].starts_with("$(("));
        let tick = rest.find('`');
        let (start, open, close) = match (dollar, tick) {
            (Some(d), Some(t)) if t < d => (t, 1, '`'),
            (Some(d), _) => (d, 2, ')'),
            (None, Some(t)) => (t, 1, '`'),
            (None, None) => break,
        };
        let Some(len) = rest[start + open..].find(close) else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + open..start + open + len];
        out.push_str(run(&substitute(inner, depth + 1)).trim_end());
        rest = &rest[start + open + len + 1..];
    }
    out.push_str(rest);
    out
}

/// `$((a op b))` evaluated in `word`.
fn arithmetic(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(start) = rest.find("$((") {
        let Some(len) = rest[start..].find("))") else {
            break;
        };
        out.push_str(&rest[..start]);
        let expr = &rest[start + 3..start + len];
        let value = ['*', '+', '-'].iter().find_map(|op| {
            let (a, b) = expr.split_once(*op)?;
            let (a, b): (i64, i64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            match op {
                '*' => a.checked_mul(b),
                '+' => a.checked_add(b),
                _ => a.checked_sub(b),
            }
        });
        out.push_str(&value.map_or_else(|| "0".to_owned(), |v| v.to_string()));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn command_output(command: &str) -> String {
    let mut words = command.split_whitespace();
    let Some(name) = words.next() else {
        return String::new();
    };
    let args: Vec<String> = words.map(arithmetic).collect();
    match name {
        "echo" => format!("{}\n", args.join(" ")),
        "id" => "uid=33(www-data) gid=33(www-data) groups=33(www-data)\n".to_owned(),
        "whoami" => "www-data\n".to_owned(),
        "report-gen" => {
            let name = args
                .iter()
                .skip_while(|a| *a != "--name")
                .nth(1)
                .cloned()
                .unwrap_or_default();
            format!("report {name} exported to /srv/bank/reports/{name}.pdf\n")
        }
        other => format!(
            "sh: 1: {}: not found\n",
            other.chars().take(40).collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_substitution_and_arithmetic() {
        assert_eq!(
            run("report-gen --name q4"),
            "report q4 exported to /srv/bank/reports/q4.pdf\n"
        );
        assert!(run("report-gen --name q4;echo x$((6*7));").ends_with("x42\n"));
        assert!(run("report-gen --name q4|echo $((2+3))").contains("\n5\n"));
        assert!(run("report-gen --name q4$(echo m$((3*3)))").contains("q4m9"));
        assert!(run("report-gen --name `id`").contains("uid=33"));
        assert!(run("x && whoami").contains("not found\nwww-data"));
        assert_eq!(run("echo $((9999999999*9999999999))"), "0\n");
        assert!(run("$(").contains("not found"));
    }
}
