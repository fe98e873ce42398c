use super::*;

fn refused(url: &str) -> bool {
    check_url(url, &[]).is_some()
}

#[test]
fn internal_addresses_in_every_spelling() {
    for url in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://0/",
        "http://0.0.0.0:8080/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://localhost./",
        "http://LOCALHOST/",
        "http://127.0.0.1./",
        "http://good@127.0.0.1/",
        "http://good.com@127.0.0.1:80/",
        "http://127.0.0.1\\@good.com/",
        "http://%31%32%37%2e0.0.1/",
        "http://１２７.０.０.１/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fe80::1%25eth0]/",
        "http://[fc00::1]/",
        "http://127.0.0.1.nip.io/",
        "http://app-10-0-0-1.sslip.io/",
        "http://redis:6379/",
        "//127.0.0.1/x",
        "127.0.0.1:8080/x",
        "http:\\\\127.0.0.1\\x",
        " http://127.0.0.1 ",
        "http://12\t7.0.0.1/",
        "http://internal.corp/",
        "http://[::]/",
        "/\\127.0.0.1/x",
        "///127.0.0.1/",
    ] {
        assert!(refused(url), "{url} should be refused");
    }
}

#[test]
fn schemes() {
    for url in [
        "file:///etc/passwd",
        "gopher://example.com:70/_x",
        "dict://example.com:11211/",
        "ftp://example.com/",
        "ldap://example.com/",
        "jar:http://example.com!/",
        "netdoc:///etc/passwd",
        "FILE:///x",
        "javascript:alert(1)",
        "data:text/html,x",
    ] {
        assert_eq!(
            check_url(url, &[]).map(|r| r.reason),
            Some("scheme not allowed"),
            "{url}"
        );
    }
}

#[test]
fn public_urls_pass() {
    for url in [
        "https://example.com/hook",
        "https://api.github.com/repos",
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://user:pass@example.org:8443/x?y=127.0.0.1#frag",
        "example.com/path",
        "https://172.32.0.1/",
        "https://www.example.com./",
        "/callback?x=1",
        "?next=2",
        "",
    ] {
        assert_eq!(check_url(url, &[]), None, "{url}");
    }
}

#[test]
fn allowlist() {
    let allow = vec!["localhost".to_owned(), "*.svc".to_owned()];
    assert_eq!(check_url("http://localhost:8080/", &allow), None);
    assert_eq!(check_url("http://billing.svc/", &allow), None);
    assert!(check_url("http://svc/", &allow).is_some());
    assert!(check_url("http://127.0.0.1/", &allow).is_some());
    assert!(check_url("file:///x", &allow).is_some());
}

#[test]
fn url_names() {
    for n in [
        "url",
        "callbackUrl",
        "redirect_uri",
        "webhook",
        "WebHooks",
        "avatar_url",
        "returnTo",
        "image-href",
        "notify_endpoint",
        "imageUrls",
    ] {
        assert!(is_url_name(n), "{n}");
    }
    for n in [
        "security", "name", "curious", "duration", "status", "hostname",
    ] {
        assert!(!is_url_name(n), "{n}");
    }
}
