//! OS command injection: a shell command that prints the result of an arithmetic expansion
//! (`;echo pc$((A*B))`) is appended to each string parameter. Reported when the answer holds
//! the product, which the payload does not contain (only a shell that ran it can print it),
//! the baseline did not hold it, and a second payload with other numbers prints their
//! product too.

use super::points::{self, Point};
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most parameters tried.
const MAX_POINTS: usize = 60;

/// Shell separators tried, each wrapping `echo`: `{}` is replaced by the command.
const WRAPPERS: &[&str] = &[";{};", "|{}", "$({})", "`{}`", "&&{}"];

fn payload(wrapper: &str, a: u32, b: u32, mark: &str) -> String {
    wrapper.replace("{}", &format!("echo {mark}$(({a}*{b}))"))
}

fn numbers() -> (u32, u32) {
    (
        1000 + rand::random::<u32>() % 8000,
        1000 + rand::random::<u32>() % 8000,
    )
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work: Vec<(usize, crate::http::Exchange, Point)> = points::collect(scan, false)
        .into_iter()
        .take(MAX_POINTS)
        .collect();
    let mark = format!("pc{}x", scan.generator.unique().replace('-', ""));
    for (op, baseline, point) in work {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        for wrapper in WRAPPERS {
            let (a, b) = numbers();
            let expect = format!("{mark}{}", u64::from(a) * u64::from(b));
            if baseline.text().contains(&expect) {
                continue;
            }
            let text = payload(wrapper, a, b, &mark);
            let Some(attack) = points::inject(&baseline.request, &template, &point, &text) else {
                break;
            };
            let Some(answer) = scan.send(attack, Some(op)).await? else {
                break;
            };
            if !answer.text().contains(&expect) {
                continue;
            }
            let (c, d) = numbers();
            let again = format!("{mark}{}", u64::from(c) * u64::from(d));
            let second = payload(wrapper, c, d, &mark);
            let Some(control) = points::inject(&baseline.request, &template, &point, &second)
            else {
                break;
            };
            let Some(check) = scan.send(control, Some(op)).await? else {
                break;
            };
            if check.text().contains(&again) {
                scan.report(
                    "PC-SCAN-CMDI-001",
                    Some(op),
                    &answer,
                    format!(
                        "{} {}: a shell command appended to the {} runs on the server",
                        answer.request.method,
                        plan::path_only(&baseline.request.path),
                        point.describe()
                    ),
                    format!(
                        "{text:?} printed {expect:?} (the product {a}*{b}, which the payload does not contain); {second:?} printed {again:?}; the baseline ({}) printed neither",
                        baseline.status
                    ),
                );
            }
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_do_not_contain_their_product() {
        let p = payload(";{};", 1234, 5678, "pcx");
        assert_eq!(p, ";echo pcx$((1234*5678));");
        assert!(!p.contains(&(1234u64 * 5678).to_string()));
        assert_eq!(payload("$({})", 2, 3, "m"), "$(echo m$((2*3)))");
    }
}
