//! The profile update's email check. FLAW (API4, ReDoS) in the weak bank: the address is
//! matched against `^([a-zA-Z0-9._+-]+)+@[a-zA-Z0-9.-]+$` by a backtracking matcher, which tries
//! every way of splitting the part before `@` when there is no `@`: `aaa…a!` takes time
//! doubling with each `a`. The matcher stops after [`MAX_STEPS`] steps (so the demo cannot
//! be kept busy for ever; a real engine would not stop) and runs off the async workers. The
//! fixed twin checks the same shape in one linear pass.

/// The most steps the weak matcher takes (about a second).
pub const MAX_STEPS: u64 = 1 << 27;

/// Whether `email` is accepted.
pub async fn valid(email: &str, fixed: bool) -> bool {
    if fixed || email.len() > 254 {
        return linear(email);
    }
    let email = email.to_owned();
    tokio::task::spawn_blocking(move || backtracking(email.as_bytes()).0)
        .await
        .unwrap_or(false)
}

fn domain_ok(rest: &[u8]) -> bool {
    !rest.is_empty()
        && rest
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
}

fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-')
}

/// One linear pass: a local part, `@`, a domain.
pub fn linear(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && local.bytes().all(local_char) && domain_ok(domain.as_bytes())
        }
        None => false,
    }
}

/// `^([a-zA-Z0-9._+-]+)+@domain$` by naive backtracking; (matched, steps taken).
pub fn backtracking(s: &[u8]) -> (bool, u64) {
    let mut steps = 0;
    let matched = groups(s, 0, &mut steps);
    (matched, steps)
}

/// One or more groups of local-part characters from `i`, then `@` and the domain.
fn groups(s: &[u8], i: usize, steps: &mut u64) -> bool {
    let mut j = i;
    while let Some(b) = s.get(j) {
        if !local_char(*b) {
            break;
        }
        j += 1;
        *steps += 1;
        if *steps > MAX_STEPS {
            return false;
        }
        // This group is s[i..j]: either the `@` follows, or another group starts.
        if s.get(j) == Some(&b'@') && domain_ok(s.get(j + 1..).unwrap_or(&[])) {
            return true;
        }
        if groups(s, j, steps) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_matchers_agree_and_the_weak_one_backtracks_exponentially() {
        for (email, ok) in [
            ("alice@bank.example", true),
            ("a1@b", true),
            ("@b", false),
            ("alice", false),
            ("al.ice@b", true),
            ("al ice@b", false),
            ("alice@", false),
        ] {
            assert_eq!(linear(email), ok, "{email}");
            assert_eq!(backtracking(email.as_bytes()).0, ok, "{email}");
        }
        let (_, s10) = backtracking(b"aaaaaaaaaa!");
        let (_, s14) = backtracking(b"aaaaaaaaaaaaaa!");
        assert!(s14 >= s10 * 16, "{s10} {s14}");
        let (ok, capped) = backtracking(&[b'a'; 40]);
        assert!(!ok && capped > MAX_STEPS);
    }
}
