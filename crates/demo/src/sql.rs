//! A toy SQL `WHERE` evaluator, so the demo bank's search can be injected like a real one.
//!
//! The bank builds `owner = '<caller>' AND name LIKE '%<q>%'` by pasting the query text into
//! the string (the planted flaw), then evaluates it here against each account. Supported:
//! string and integer literals, column names, `=`, `LIKE` (with `%`), `AND`, `OR` (AND binds
//! tighter), and `--` comments. A malformed clause is an error whose message quotes the query,
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
        } else if c == '=' {
            tokens.push(Token::Eq);
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

/// `a OR b OR ...` of `x AND y AND ...` of comparisons.
type Clause = Vec<Vec<(Operand, bool, Operand)>>;

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
        let left = operand(tokens.get(i))?;
        let like = match tokens.get(i + 1) {
            Some(Token::Eq) => false,
            Some(Token::Like) => true,
            other => return Err(err(&format!("{other:?}"))),
        };
        let right = operand(tokens.get(i + 2))?;
        if let Some(group) = clause.last_mut() {
            group.push((left, like, right));
        }
        i += 3;
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
    let tokens = tokenize(where_clause)?;
    let clause = parse(&tokens, where_clause)?;
    Ok(clause.iter().any(|group| {
        group.iter().all(|(l, is_like, r)| {
            let (l, r) = (value(l, row), value(r, row));
            if *is_like { like(&l, &r) } else { l == r }
        })
    }))
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
    fn like_patterns() {
        assert!(like("Savings", "%"));
        assert!(like("Savings", "Sav%"));
        assert!(like("Savings", "%ings"));
        assert!(!like("Savings", "ings%"));
        assert!(like("Savings", "Savings"));
        assert!(!like("Savings", "Saving"));
    }
}
