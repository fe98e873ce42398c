//! OS command injection: a shell separator (`;`, `|`, `&`, a newline, a backtick, `$(`)
//! followed by a command. Commands that are also English words (`cat`, `id`, `sleep`, ...)
//! need an argument that looks like a shell argument (`-x`, `/path`, `$VAR`, a number) or to end
//! the value, so that "dogs; cat lovers" is prose and "; cat /etc/passwd" is not.

use crate::bytes::{at, contains, skip_blanks};

/// Commands no prose uses after a separator: flagged with any argument.
const STRONG: &[&str] = &[
    "whoami",
    "uname",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "csh",
    "dash",
    "tcsh",
    "python",
    "python2",
    "python3",
    "perl",
    "php",
    "ruby",
    "lua",
    "node",
    "nslookup",
    "ifconfig",
    "ipconfig",
    "powershell",
    "pwsh",
    "cmd",
    "cmd.exe",
    "systeminfo",
    "chmod",
    "chown",
    "telnet",
    "ssh",
    "scp",
    "base64",
    "xterm",
    "busybox",
    "certutil",
    "bitsadmin",
    "tftp",
    "hostname",
    "netstat",
    "tasklist",
    "ls",
    "rm",
    "mkfifo",
    "xxd",
    "sudo",
    "passwd",
    "crontab",
    "nohup",
    "useradd",
    "usermod",
    "wmic",
    "reg",
    "rundll32",
    "mshta",
    "regsvr32",
    "cscript",
    "wscript",
    "expr",
    "uptime",
    "ps",
    "pwd",
    "awk",
    "sed",
    "socat",
    "getent",
    "md5sum",
    "sha1sum",
    "dig",
    "host",
    "traceroute",
    "tracert",
    "arp",
    "route",
    "printenv",
    "env",
    "lsof",
    "killall",
    "pkill",
    "shutdown",
    "reboot",
];

/// Commands that report on the system and make sense without arguments.
const RECON: &[&str] = &[
    "whoami",
    "id",
    "uname",
    "ifconfig",
    "ipconfig",
    "hostname",
    "netstat",
    "systeminfo",
    "tasklist",
    "ps",
    "pwd",
    "env",
    "printenv",
    "uptime",
    "ls",
    "w",
    "who",
];

/// Commands that are also words: flagged only with a shell-looking argument or at the end.
const WEAK: &[&str] = &[
    "cat",
    "id",
    "echo",
    "sleep",
    "ping",
    "dir",
    "type",
    "kill",
    "more",
    "less",
    "head",
    "tail",
    "find",
    "set",
    "time",
    "net",
    "who",
    "w",
    "su",
    "touch",
    "cp",
    "mv",
    "mkdir",
    "grep",
    "sort",
    "uniq",
    "tee",
    "ver",
    "whoami.exe",
    "nc.exe",
    "timeout",
    "wait",
    "exit",
    "exec",
    "eval",
    "source",
    "export",
    "unset",
    "read",
    "dd",
    "tr",
    "cut",
    "od",
    "last",
    "finger",
    "file",
];

/// The name of the command found after a separator, if any.
pub(super) fn check(form: &[u8], paranoia: u8) -> Option<String> {
    if contains(form, b"${ifs") || contains(form, b"$ifs$") {
        return Some("$IFS".to_owned());
    }
    for phrase in [
        "& net user",
        "| net user",
        "; net user",
        "& net localgroup",
        "/dev/tcp/",
    ] {
        if contains(form, phrase.as_bytes()) {
            return Some(phrase.trim_start_matches(['&', '|', ';', ' ']).to_owned());
        }
    }
    let mut i = 0;
    while let Some(&b) = form.get(i) {
        if b == b'`' && at(form, i + 1) == b'`' {
            // A Markdown code fence or an empty inline span, not a command substitution.
            while at(form, i) == b'`' {
                i += 1;
            }
            continue;
        }
        let sep_len = separator(form, i, b);
        if sep_len > 0 {
            if let Some(hit) = command_after(form, i + sep_len, paranoia, b) {
                return Some(hit);
            }
            i += sep_len;
        } else {
            i += 1;
        }
    }
    if paranoia >= 3 {
        return command_after(form, 0, paranoia, b'\n');
    }
    None
}

/// The length of a separator at `i` (0 when there is none).
fn separator(form: &[u8], i: usize, b: u8) -> usize {
    match b {
        b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' => 1,
        b'$' if at(form, i + 1) == b'(' => 2,
        b'<' | b'>' if at(form, i + 1) == b'(' => 2,
        _ => 0,
    }
}

/// The command that starts at `start` (after blanks, `|`/`&` doubling, grouping and a path).
fn command_after(form: &[u8], start: usize, paranoia: u8, sep: u8) -> Option<String> {
    let mut i = start;
    while matches!(
        at(form, i),
        b' ' | b'\t' | b'|' | b'&' | b'(' | b'{' | b'\n' | b'\r'
    ) {
        i += 1;
    }
    // A quote-escaped name (`w'h'oami`, `c""at`) reads as the name in a shell.
    let mut word = Vec::new();
    let begin = i;
    while let Some(&c) = form.get(i) {
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'_' | b'-' | b'\\') {
            if c != b'\\' {
                word.push(c);
            }
        } else if !matches!(c, b'\'' | b'"') || i == begin {
            break;
        }
        i += 1;
        if word.len() > 64 {
            return None;
        }
    }
    let name = word.rsplit(|&c| c == b'/').next().unwrap_or_default();
    let name = std::str::from_utf8(name).ok()?;
    let strong = STRONG.contains(&name);
    let weak = WEAK.contains(&name);
    if !strong && !weak {
        return None;
    }
    if sep == b'`' && paranoia < 2 {
        // Inline code in Markdown (`python`) versus a substitution (`id`, `curl x`): the
        // substitution runs a command that reports alone, or one with arguments, and closes.
        let closes = memchr::memchr(b'`', form.get(i..).unwrap_or_default()).is_some();
        let alone = matches!(at(form, i), b'`');
        let reports = RECON.contains(&name);
        return (closes
            && ((alone && (reports || weak)) || (!alone && (strong || shell_argument(form, i)))))
        .then(|| name.to_owned());
    }
    if strong && (paranoia >= 2 || name_is_alone(form, begin, i, sep)) {
        return Some(name.to_owned());
    }
    if paranoia >= 2 && (weak || strong) {
        return Some(name.to_owned());
    }
    if weak && shell_argument(form, i) {
        return Some(name.to_owned());
    }
    None
}

/// Whether a strong command stands as a command: a word of its own, not `ls` in "ls-style".
fn name_is_alone(form: &[u8], _begin: usize, end: usize, sep: u8) -> bool {
    let next = at(form, end);
    if sep == b'&' {
        // "R&D", "Tom & Jerry": `&` is prose unless the command takes shell arguments or ends.
        return shell_argument(form, end);
    }
    matches!(
        next,
        0 | b' '
            | b'\t'
            | b';'
            | b'|'
            | b'&'
            | b'`'
            | b')'
            | b'\n'
            | b'\r'
            | b'<'
            | b'>'
            | b'$'
            | b'#'
    )
}

/// What follows a command name looks like a shell argument, or the value ends there.
fn shell_argument(form: &[u8], end: usize) -> bool {
    let next = at(form, end);
    if matches!(
        next,
        0 | b';' | b'`' | b')' | b'#' | b'\n' | b'\r' | b'&' | b'>' | b'<'
    ) {
        return true;
    }
    if !matches!(next, b' ' | b'\t' | b'$') {
        return false;
    }
    let j = skip_blanks(form, end);
    let a = at(form, j);
    matches!(
        a,
        0 | b'-' | b'/' | b'.' | b'~' | b'$' | b'%' | b'\\' | b'`' | b'>' | b'<' | b';' | b'&'
    ) || a.is_ascii_digit()
        || (a.is_ascii_alphabetic()
            && at(form, j + 1) == b':'
            && matches!(at(form, j + 2), b'\\' | b'/'))
}
