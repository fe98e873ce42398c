//! `gateway_config`: text as the configuration, lines as sizes and durations.

use super::*;

pub(crate) fn env(name: &str) -> Option<String> {
    match name {
        "GW_TOKEN" => Some("0123456789abcdef-admin".to_owned()),
        "GW_PORT" => Some("8080".to_owned()),
        _ => None,
    }
}

/// The config target: a configuration whose documented checks hold, or an error that names
/// the file (and, for a bad value, its line); every line read as a size and a duration is
/// one that prints and reads back the same, or nothing. Nothing is read from disk.
pub(crate) fn check_config(text: &str) -> Result<(), TestCaseError> {
    let dir = Path::new("/nonexistent/portcullis-fuzz");
    match Config::from_str_in("fuzz.yaml", text, dir, &env) {
        Ok(c) => {
            prop_assert!(!c.apis.is_empty());
            prop_assert_eq!(c.base_dir.as_path(), dir);
            for (i, api) in c.apis.iter().enumerate() {
                prop_assert!(c.apis[..i].iter().all(|a| a.name != api.name));
                prop_assert!(
                    api.upstream.starts_with("http://") || api.upstream.starts_with("https://")
                );
                prop_assert!(api.rate_limits.iter().all(|r| r.limit > 0));
            }
            if let Some(admin) = &c.admin {
                prop_assert!(admin.token.len() >= 16);
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("fuzz.yaml"), "{message}");
            if let ConfigError::Invalid { line, column, .. } = &e {
                prop_assert!(*line >= 1 && *column >= 1, "{message}");
            }
        }
    }
    for line in text.lines().take(64) {
        check_units(line)?;
    }
    Ok(())
}

pub(crate) fn check_units(text: &str) -> Result<(), TestCaseError> {
    if let Some(size) = ByteSize::parse(text) {
        prop_assert_eq!(ByteSize::parse(&size.0.to_string()), Some(size));
    }
    if let Some(d) = Dur::parse(text) {
        prop_assert_eq!(Dur::parse(&d.to_string()), Some(d), "{:?}", text);
    }
    Ok(())
}
