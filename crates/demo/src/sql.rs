//! A toy SQL `WHERE` evaluator, so the demo bank's search can be injected like a real one.
//!
//! The bank builds `owner = '<caller>' AND name LIKE '%<q>%'` by pasting the query text into
//! the string (the planted flaw), then evaluates it here against each account. Supported:
//! string and integer literals, column names, `=`, `LIKE` (with `%`), `AND`, `OR` (AND binds
//! tighter), `SLEEP(n)` (false, after asking the caller to wait `n` seconds, as MySQL's does),
//! and `--` comments. A malformed clause is an error whose message quotes the query,
//! as careless servers do (a second, smaller leak).

/// One account row, as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// `owner` column.
    pub owner: &'a str,
    /// `name` column.
    pub name: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Int(i64),
    Ident(String),
    Eq,
    Like,
    And,
    Or,
    Open,
    Close,
}

/// A clause that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SQL error near {near:?} in: {query}")]
pub struct SqlError {
    /// Where parsing stopped.
    pub near: String,
    /// The whole clause.
    pub query: String,
}

fn tokenize(query: &str) -> Result<Vec<Token>, SqlError> {
    let err = |near: &str| SqlError {
        near: near.chars().take(20).collect(),
        query: query.to_owned(),
    };
    let mut tokens = Vec::new();
    let mut rest = query;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else { break };
        if rest.starts_with("--") {
            break;
        }
        if c == '\'' {
            let mut value = String::new();
            let mut chars = rest.char_indices().skip(1);
            let mut end = None;
            while let Some((i, ch)) = chars.next() {
                if ch == '\'' {
                    if rest.get(i + 1..).is_some_and(|r| r.starts_with('\'')) {
                        value.push('\'');
                        chars.next();
                        continue;
                    }
                    end = Some(i + 1);
                    break;
                }
                value.push(ch);
            }
            let end = end.ok_or_else(|| err(rest))?;
            tokens.push(Token::Str(value));
            rest = rest.get(end..).unwrap_or("");
        } else if c == '=' || c == '(' || c == ')' {
            tokens.push(match c {
                '=' => Token::Eq,
                '(' => Token::Open,
                _ => Token::Close,
            });
            rest = rest.get(1..).unwrap_or("");
        } else if c.is_ascii_digit() {
            let len = rest
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(rest.len());
            let digits = rest.get(..len).unwrap_or("");
            tokens.push(Token::Int(digits.parse().map_err(|_| err(rest))?));
            rest = rest.get(len..).unwrap_or("");
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = rest.get(..len).unwrap_or("");
            tokens.push(match word.to_ascii_uppercase().as_str() {
                "AND" => Token::And,
                "OR" => Token::Or,
                "LIKE" => Token::Like,
                _ => Token::Ident(word.to_ascii_lowercase()),
            });
            rest = rest.get(len..).unwrap_or("");
        } else {
            return Err(err(rest));
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Text(String),
    Int(i64),
    Column(String),
}

/// One predicate: a comparison (`LIKE` when the flag is set) or `SLEEP(n)`.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Compare(Operand, bool, Operand),
    Sleep(u64),
}

/// `a OR b OR ...` of `x AND y AND ...` of predicates.
type Clause = Vec<Vec<Term>>;

fn parse(tokens: &[Token], query: &str) -> Result<Clause, SqlError> {
    let err = |near: &str| SqlError {
        near: near.to_owned(),
        query: query.to_owned(),
    };
    let operand = |t: Option<&Token>| match t {
        Some(Token::Str(s)) => Ok(Operand::Text(s.clone())),
        Some(Token::Int(i)) => Ok(Operand::Int(*i)),
        Some(Token::Ident(c)) => Ok(Operand::Column(c.clone())),
        other => Err(err(&format!("{other:?}"))),
    };
    let mut clause: Clause = vec![Vec::new()];
    let mut i = 0;
    loop {
        let term = match (tokens.get(i), tokens.get(i + 1)) {
            (Some(Token::Ident(f)), Some(Token::Open)) if f == "sleep" => {
                let (Some(Token::Int(n)), Some(Token::Close)) =
                    (tokens.get(i + 2), tokens.get(i + 3))
                else {
                    return Err(err("sleep("));
                };
                i += 4;
                Term::Sleep(u64::try_from(*n).unwrap_or(0))
            }
            _ => {
                let left = operand(tokens.get(i))?;
                let like = match tokens.get(i + 1) {
                    Some(Token::Eq) => false,
                    Some(Token::Like) => true,
                    other => return Err(err(&format!("{other:?}"))),
                };
                let right = operand(tokens.get(i + 2))?;
                i += 3;
                Term::Compare(left, like, right)
            }
        };
        if let Some(group) = clause.last_mut() {
            group.push(term);
        }
        match tokens.get(i) {
            None => return Ok(clause),
            Some(Token::And) => {}
            Some(Token::Or) => clause.push(Vec::new()),
            other => return Err(err(&format!("{other:?}"))),
        }
        i += 1;
    }
}

fn value(op: &Operand, row: Row<'_>) -> String {
    match op {
        Operand::Text(s) => s.clone(),
        Operand::Int(i) => i.to_string(),
        Operand::Column(c) => match c.as_str() {
            "owner" => row.owner.to_owned(),
            "name" => row.name.to_owned(),
            _ => String::new(),
        },
    }
}

fn like(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    let mut pos = 0;
    for (n, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let rest = text.get(pos..).unwrap_or("");
        match rest.find(part) {
            Some(found) if n > 0 || found == 0 => pos += found + part.len(),
            _ => return false,
        }
    }
    parts.last().is_some_and(|last| last.is_empty()) || pos == text.len()
}

/// Evaluates `where_clause` for `row`.
pub fn matches(where_clause: &str, row: Row<'_>) -> Result<bool, SqlError> {
    evaluate(where_clause, row).map(|(m, _)| m)
}

/// Evaluates `where_clause` for `row` (short-circuit, left to right, as databases do):
/// whether it matches, and the seconds of the `SLEEP` calls it reached.
pub fn evaluate(where_clause: &str, row: Row<'_>) -> Result<(bool, u64), SqlError> {
    let tokens = tokenize(where_clause)?;
    let clause = parse(&tokens, where_clause)?;
    let mut slept = 0u64;
    let matched = clause.iter().any(|group| {
        group.iter().all(|term| match term {
            Term::Compare(l, is_like, r) => {
                let (l, r) = (value(l, row), value(r, row));
                if *is_like { like(&l, &r) } else { l == r }
            }
            Term::Sleep(n) => {
                slept = slept.saturating_add(*n);
                false
            }
        })
    });
    Ok((matched, slept))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Row<'static> = Row {
        owner: "alice",
        name: "Savings",
    };
    const BOB: Row<'static> = Row {
        owner: "bob",
        name: "Checking",
    };

    fn clause(q: &str) -> String {
        format!("owner = 'alice' AND name LIKE '%{q}%'")
    }

    #[test]
    fn honest_queries_filter_by_owner() {
        assert!(matches(&clause("Sav"), ALICE).unwrap());
        assert!(!matches(&clause("Sav"), BOB).unwrap());
        assert!(!matches(&clause("Check"), BOB).unwrap());
    }

    #[test]
    fn injection_returns_every_row() {
        let q = "' OR 1=1 --";
        assert!(matches(&clause(q), ALICE).unwrap());
        assert!(matches(&clause(q), BOB).unwrap());
    }

    #[test]
    fn malformed_queries_leak_the_query_text() {
        let e = matches(&clause("'"), ALICE).unwrap_err();
        assert!(e.to_string().contains("owner = 'alice'"));
    }

    #[test]
    fn sleep_is_reached_only_where_evaluation_gets_to_it() {
        assert_eq!(
            evaluate(&clause("' OR SLEEP(2)-- "), BOB).unwrap(),
            (false, 2)
        );
        // Alice's row matches `name LIKE '%'` first: OR stops there, no sleep.
        assert_eq!(
            evaluate(&clause("' OR SLEEP(2)-- "), ALICE).unwrap(),
            (true, 0)
        );
        assert_eq!(
            evaluate(&clause("Zzz' OR SLEEP(2)-- "), ALICE).unwrap(),
            (false, 2)
        );
        assert_eq!(
            evaluate(&clause("Sav%' OR SLEEP(2)-- "), ALICE).unwrap(),
            (true, 0)
        );
        assert_eq!(evaluate(&clause("x"), ALICE).unwrap(), (false, 0));
        assert!(evaluate(&clause("' OR SLEEP(x)-- "), ALICE).is_err());
    }

    #[test]
    fn like_patterns() {
        assert!(like("Savings", "%"));
        assert!(like("Savings", "Sav%"));
        assert!(like("Savings", "%ings"));
        assert!(!like("Savings", "ings%"));
        assert!(like("Savings", "Savings"));
        assert!(!like("Savings", "Saving"));
    }
}
