//! `portcullis keys new`: generates an API key and prints it once, with the key-file entry
//! that holds only its hash.

use std::io::Write;

use anyhow::Context;
use portcullis_gateway::identity::apikeys::{self, NewKey};

use super::Outcome;
use crate::args::{KeysCommand, KeysNewArgs};

/// Runs a `keys` subcommand.
pub fn run(command: &KeysCommand) -> anyhow::Result<Outcome> {
    match command {
        KeysCommand::New(args) => new(args, &mut std::io::stdout().lock()),
    }
}

fn new(args: &KeysNewArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let clean = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let generated = apikeys::generate(&NewKey {
        id: args.id.clone(),
        owner: args.owner.clone().unwrap_or_else(|| args.id.clone()),
        scopes: clean(&args.scopes),
        roles: clean(&args.roles),
        expires: args.expires.clone(),
    })?;
    write!(
        out,
        "API key (shown once; store it now, only its hash is kept):\n  {}\n\n\
         Add this entry under `keys:` in the file named by identity.api_keys.file:\n{}",
        generated.presented, generated.yaml
    )
    .context("writing the key")?;
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_key_and_an_entry_that_loads() {
        let args = KeysNewArgs {
            id: "ci-bot".to_owned(),
            owner: Some("alice".to_owned()),
            scopes: vec!["a".to_owned(), " b ".to_owned(), String::new()],
            roles: vec![],
            expires: Some("2030-01-01T00:00:00Z".to_owned()),
        };
        let mut out = Vec::new();
        assert_eq!(new(&args, &mut out).unwrap(), Outcome::Clean);
        let text = String::from_utf8(out).unwrap();
        let key = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("pc_ci-bot_"))
            .unwrap();
        let entry = text.split_once("identity.api_keys.file:\n").unwrap().1;
        assert!(!entry.contains(key));
        let keys = apikeys::ApiKeys::from_str_named(
            "k.yaml",
            &format!("keys:\n{entry}"),
            &Default::default(),
        )
        .unwrap();
        let p = keys.verify(key, 1_800_000_000).unwrap();
        assert_eq!(p.subject.as_deref(), Some("alice"));
        assert_eq!(p.scopes.len(), 2);
    }

    #[test]
    fn a_bad_id_is_an_error() {
        let args = KeysNewArgs {
            id: "a_b".to_owned(),
            owner: None,
            scopes: vec![],
            roles: vec![],
            expires: None,
        };
        let err = new(&args, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("--id"), "{err}");
    }
}
