//! Property tests of the router: random templates, paths built from them, and a reference
//! model of "the most specific template wins".

use proptest::prelude::*;

use super::tests::{catalog, op, show};
use super::*;
use crate::normalize::normalize_path;

/// A random template segment: literal, bare parameter, or parameter with literal text.
#[derive(Debug, Clone)]
enum Seg {
    Lit(String),
    Param,
    Prefixed(String),
    Suffixed(String),
}

fn arb_seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        3 => "[a-c]{1,2}".prop_map(Seg::Lit),
        3 => Just(Seg::Param),
        1 => "[a-c]".prop_map(Seg::Prefixed),
        1 => "\\.[a-c]".prop_map(Seg::Suffixed),
    ]
}

fn template_of(segs: &[Seg]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        match s {
            Seg::Lit(l) => out.push_str(l),
            Seg::Param => out.push_str(&format!("{{n{i}}}")),
            Seg::Prefixed(p) => out.push_str(&format!("{p}{{n{i}}}")),
            Seg::Suffixed(s) => out.push_str(&format!("{{n{i}}}{s}")),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Reference matcher: does `template` match these canonical segments?
fn matches_ref(template: &[Seg], segs: &[String]) -> bool {
    template.len() == segs.len()
        && template.iter().zip(segs).all(|(t, s)| match t {
            Seg::Lit(l) => l == s,
            Seg::Param => !s.is_empty(),
            Seg::Prefixed(p) => s.len() > p.len() && s.starts_with(p.as_str()),
            Seg::Suffixed(x) => s.len() > x.len() && s.ends_with(x.as_str()),
        })
}

/// Reference specificity, compared left to right.
fn rank_ref(template: &[Seg]) -> Vec<(u8, usize)> {
    template
        .iter()
        .map(|t| match t {
            Seg::Lit(_) => (2, 0),
            Seg::Param => (0, 0),
            Seg::Prefixed(p) => (1, p.len()),
            Seg::Suffixed(x) => (1, x.len()),
        })
        .collect()
}

/// The template text with parameter names removed: equal for equivalent templates.
fn shape_ref(template: &[Seg]) -> String {
    template_of(template).replace(|c: char| c.is_ascii_digit(), "")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A path built from a random template with random values routes back to that
    /// template with those values, unless a more concrete template matches it too; and in
    /// every case the router picks what the reference model (most specific, left to
    /// right) picks.
    #[test]
    fn a_path_built_from_a_template_routes_back_to_it(
        templates in prop::collection::vec(prop::collection::vec(arb_seg(), 0..5), 1..12),
        pick in any::<prop::sample::Index>(),
        values in prop::collection::vec("[a-z0-9 é%~;:@+/.]{1,6}", 5),
    ) {
        let ops: Vec<Operation> = templates
            .iter()
            .enumerate()
            .map(|(i, t)| op(Method::Get, &template_of(t), &format!("op{i}")))
            .collect();
        let catalog = catalog(Vec::new(), ops);
        let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
        for w in &warnings {
            prop_assert!(matches!(w.problem, RouteProblem::Duplicate { .. }), "{w}");
        }
        let chosen = pick.index(templates.len());
        let ours = &templates[chosen];
        // Values are percent-encoded the way a client sends them, then normalized.
        let mut raw = String::new();
        let mut expected = Vec::new();
        for (i, s) in ours.iter().enumerate() {
            let value = values[i].replace(['/', '.'], "x");
            let encoded = percent_encoding::utf8_percent_encode(
                &value,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            let seg = match s {
                Seg::Lit(l) => l.clone(),
                Seg::Param => encoded,
                Seg::Prefixed(p) => format!("{p}{encoded}"),
                Seg::Suffixed(x) => format!("{encoded}{x}"),
            };
            if !matches!(s, Seg::Lit(_)) {
                expected.push((format!("n{i}"), value));
            }
            raw.push('/');
            raw.push_str(&seg);
        }
        if raw.is_empty() {
            raw.push('/');
        }
        let path = normalize_path(&raw).unwrap();
        let segs: Vec<String> = path.segments().map(str::to_owned).collect();

        // The reference winner: the most specific matching template; among equivalent
        // ones the first (later ones are duplicates).
        let mut best: Option<(usize, Vec<(u8, usize)>)> = None;
        let mut tie = false;
        for (j, t) in templates.iter().enumerate() {
            if !matches_ref(t, &segs) {
                continue;
            }
            let rank = rank_ref(t);
            match &best {
                Some((b, r)) if rank == *r && shape_ref(&templates[*b]) != shape_ref(t) => tie = true,
                Some((_, r)) if rank <= *r => {}
                _ => {
                    best = Some((j, rank));
                    tie = false;
                }
            }
        }
        prop_assume!(!tie);
        let (winner, _) = best.expect("our own template matches");
        match router.route("GET", path.as_str()) {
            Route::Matched { operation, params } => {
                prop_assert_eq!(operation, winner, "{} for {}", template_of(&templates[operation]), path);
                if winner == chosen {
                    let got: Vec<(String, String)> = params
                        .iter()
                        .map(|(n, v)| (n.to_owned(), v.into_owned()))
                        .collect();
                    prop_assert_eq!(got, expected);
                }
            }
            other => prop_assert!(false, "{} for {} from {}", show(&catalog, other), path, template_of(ours)),
        }
    }
}
