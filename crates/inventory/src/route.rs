//! Recorded traffic names no operation: [`Routes`] finds it with the spec's own router and
//! path normalization, as the gateway does.

use std::sync::Arc;

use portcullis_spec::{Catalog, Route, Router, RouterOptions, normalize_path};

use crate::sample::Sample;

/// One API's router.
pub struct Routes {
    name: String,
    catalog: Arc<Catalog>,
    router: Router,
}

impl Routes {
    /// The router of `catalog`, for the API called `name`.
    pub fn new(name: &str, catalog: Arc<Catalog>) -> Routes {
        let (router, _) = Router::new(&catalog, &RouterOptions::default());
        Routes {
            name: name.to_owned(),
            catalog,
            router,
        }
    }

    /// Sets the sample's API, operation, template and deprecation from the spec (the path is
    /// normalized first; one that cannot be is left undocumented as written).
    pub fn annotate(&self, s: &mut Sample) {
        s.api = Some(self.name.clone());
        s.operation = None;
        s.route_template = None;
        s.deprecated = false;
        let Ok(normalized) = normalize_path(&s.path) else {
            return;
        };
        let normalized = normalized.as_str().to_owned();
        if let Route::Matched { operation, .. } = self.router.route(&s.method, &normalized)
            && let Some(op) = self.catalog.operations.get(operation)
        {
            s.operation = Some(op.id.clone());
            s.route_template = Some(op.path.clone());
            s.deprecated = op.deprecated;
        }
        s.path = normalized;
    }
}
