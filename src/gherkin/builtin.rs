//! The built-in suite: every `.feature` file of this crate's `features/` directory, compiled
//! into the library so `finapi-conformance features` runs it from any directory. A test checks
//! that this list and the directory hold the same files.

/// Each file as (file name, text).
macro_rules! embed {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../../features/", $file)))),*]
    };
}

/// The built-in feature files as (file name, Gherkin text), sorted by name.
pub const BUILT_IN: &[(&str, &str)] = embed![
    "api_version.feature",
    "app_clients.feature",
    "error_shapes.feature",
    "ids.feature",
    "intruder.feature",
    "mandator_admin.feature",
    "shared_user_base.feature",
    "token_lifecycle.feature",
    "user_tokens.feature",
    "webform.feature",
];

#[cfg(test)]
mod tests {
    use super::BUILT_IN;

    #[test]
    fn every_feature_file_of_the_directory_is_built_in_and_the_same() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("features/")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "feature"))
            .map(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&p).expect("readable feature file");
                (name, text)
            })
            .collect();
        on_disk.sort();
        let built_in: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&built_in),
            names(&on_disk),
            "add new files to BUILT_IN"
        );
        assert_eq!(built_in, on_disk);
    }
}
