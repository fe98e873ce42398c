//! NoSQL operator injection on the login (NOSQL-001): the configured user's login is sent
//! with a wrong password (the baseline, which must fail), then with the password replaced by
//! a query operator object (`{"$ne": <random>}`, then `{"$gt": ""}`), then with an object
//! that has no operator (`{"pc": <random>}`, the control). Reported when the operator logs in
//! (a token at `login.token`) and neither the baseline nor the control does: the object was
//! run as a query, not compared as a value.

use serde_json::{Value, json};

use super::login::{attempt, fields, logged_in, setup};
use crate::scan::{Scan, Stop};

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some((op, login, path)) = setup(scan) else {
        return Ok(());
    };
    let Some((user_key, password_key)) = login.body.as_object().and_then(fields) else {
        return Ok(());
    };
    let Some(user) = login
        .body
        .get(&user_key)
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    let wrong = format!("Wrong-{}", scan.generator.unique());
    let Some(baseline) = attempt(&login, &path, &user, &wrong) else {
        return Ok(());
    };
    let Some(baseline) = scan.send(baseline, Some(op)).await? else {
        return Ok(());
    };
    if logged_in(&baseline, &login) {
        return Ok(());
    }
    let with = |password: Value| {
        attempt(&login, &path, &user, "").map(|mut r| {
            if let Some(body) = r.body.as_mut().and_then(Value::as_object_mut) {
                body.insert(password_key.clone(), password);
            }
            r
        })
    };
    for operator in [json!({ "$ne": wrong }), json!({ "$gt": "" })] {
        let Some(request) = with(operator.clone()) else {
            return Ok(());
        };
        let Some(answer) = scan.send(request, Some(op)).await? else {
            return Ok(());
        };
        if !logged_in(&answer, &login) {
            continue;
        }
        let Some(control) = with(json!({ "pc": wrong })) else {
            return Ok(());
        };
        let Some(check) = scan.send(control, Some(op)).await? else {
            return Ok(());
        };
        if !logged_in(&check, &login) {
            scan.report(
                "PC-SCAN-NOSQL-001",
                Some(op),
                &answer,
                format!(
                    "the login accepts {user} with `{password_key}: {operator}` instead of the password"
                ),
                format!(
                    "a wrong password was refused ({}), the operator object logged in ({}, a token at {}), an object without an operator did not ({})",
                    baseline.status, answer.status, login.token, check.status
                ),
            );
        }
        break;
    }
    Ok(())
}
